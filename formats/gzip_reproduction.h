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
