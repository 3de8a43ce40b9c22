// Many files inside layers are gzip-compressed (Debian's changelogs and man pages). A changed .gz
// file deltas badly, but its decompressed content deltas well; the receiver can ship that content
// if it can recompress it to the exact original bytes. This finds a recipe that reproduces a
// gzip file byte for byte, and applies it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dd {

enum class GzipRecipe : std::uint8_t {
  zlib_9 = 1,     // zlib deflate level 9, memLevel 8, no name, no time (small files from gzip -9n)
  gnu_gzip_9 = 2, // the gzip program, "gzip -9n" (what Debian's dh_compress runs)
};

// Bounds on recompression that every decoder enforces, so a package cannot make the receiver spend
// more than seconds of CPU or start more than a few hundred processes; the encoder keeps to them
// (a .gz file past them travels as it is).
inline constexpr std::uint64_t kMaxGzipMember = 8u << 20;           // compressed bytes of one file
inline constexpr std::uint64_t kMaxGzipContent = 16u << 20;         // its decompressed content
inline constexpr std::size_t kMaxGzipMembersPerSegment = 4096;
inline constexpr std::uint64_t kMaxGzipContentPerLayer = 64u << 20;  // content recompressed per layer
inline constexpr std::size_t kGzipFilesPerRun = 256;                // gzip -9n is given this many files at once
inline constexpr std::size_t kMaxGzipRunsPerLayer = 256;

// Whether a gzip file of `gz_size` bytes can hold `content_size` bytes: deflate expands at most
// 1032 times, and stored blocks cost 5 bytes per 64 KiB plus the 18-byte wrapper.
bool plausible_gzip_sizes(std::uint64_t gz_size, std::uint64_t content_size);

// How many times regzip_many runs the gzip program for `members` files of `recipe`.
std::size_t gzip_program_runs(GzipRecipe recipe, std::size_t members);

// The content of a single-member gzip file, or nothing when `gz` is not one or would expand past
// `cap` bytes.
std::optional<std::string> gunzip_exactly(std::string_view gz, std::size_t cap);

// A recipe that turns `raw` back into exactly `gz`, or nothing.
std::optional<GzipRecipe> find_gzip_recipe(std::string_view gz, std::string_view raw);

// Compresses `raw` with `recipe`. Errc::unsupported for an unknown recipe.
std::string regzip(GzipRecipe recipe, std::string_view raw);

// Compresses many contents with one recipe; the gzip program runs once for all of them, its
// output cut at the `expected` sizes. Errc::bad_input when the sizes do not come out as expected.
std::vector<std::string> regzip_many(GzipRecipe recipe, const std::vector<std::string_view>& raws,
                                     const std::vector<std::uint64_t>& expected);

}  // namespace dd
