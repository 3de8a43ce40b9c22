#include "formats/compression/gzip_reproduction.h"

#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include <cstring>

#include "core/byte_stream.h"
#include "core/error.h"
#include "core/subprocess.h"

namespace dd {

std::optional<std::string> gunzip_exactly(std::string_view gz, std::size_t cap) {
  if (gz.size() < 18 || static_cast<unsigned char>(gz[0]) != 0x1f || static_cast<unsigned char>(gz[1]) != 0x8b)
    return std::nullopt;
  z_stream z{};
  if (inflateInit2(&z, 16 + 15) != Z_OK) return std::nullopt;
  std::string out;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  z.avail_in = static_cast<uInt>(gz.size());
  int rc = Z_OK;
  char buffer[64 * 1024];
  while (rc == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(buffer);
    z.avail_out = sizeof buffer;
    rc = inflate(&z, Z_NO_FLUSH);
    out.append(buffer, sizeof buffer - z.avail_out);
    if (out.size() > cap) rc = Z_MEM_ERROR;
  }
  const bool whole = rc == Z_STREAM_END && z.avail_in == 0;  // one member, nothing after it
  inflateEnd(&z);
  if (!whole) return std::nullopt;
  return out;
}

namespace {

std::string zlib_9(std::string_view raw) {
  z_stream z{};
  // windowBits 15 + 16: a gzip wrapper with no name and time 0, as gzip -n writes.
  if (deflateInit2(&z, 9, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY) != Z_OK) fail(Errc::internal, "zlib init");
  std::string out(deflateBound(&z, raw.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
  z.avail_in = static_cast<uInt>(raw.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  out.resize(out.size() - z.avail_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) fail(Errc::internal, "zlib deflate failed");
  return out;
}

// Whether zlib_9(raw) == gz, compressing only until the first block of output that differs:
// files written by GNU gzip usually part from zlib's output early, and most changed .gz files in
// Debian layers are.
bool zlib_9_reproduces(std::string_view raw, std::string_view gz) {
  z_stream z{};
  if (deflateInit2(&z, 9, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY) != Z_OK) fail(Errc::internal, "zlib init");
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
  z.avail_in = static_cast<uInt>(raw.size());
  char block[16 * 1024];
  std::size_t at = 0;
  bool same = true;
  int rc = Z_OK;
  while (same && rc == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(block);
    z.avail_out = sizeof block;
    rc = deflate(&z, Z_FINISH);
    const std::size_t n = sizeof block - z.avail_out;
    same = n <= gz.size() - at && std::memcmp(block, gz.data() + at, n) == 0;
    at += n;
  }
  deflateEnd(&z);
  if (same && rc != Z_STREAM_END) fail(Errc::internal, "zlib deflate failed");
  return same && at == gz.size();
}

std::string gnu_gzip_9(std::string_view raw) {
  // The content goes in through an anonymous memory file: no pipe to feed while reading.
  UniqueFd in(::memfd_create("docker_delta-gzip", MFD_CLOEXEC));
  if (!in) fail_errno("memfd_create");
  write_all(in.get(), raw.data(), raw.size(), "gzip input");
  if (::lseek(in.get(), 0, SEEK_SET) != 0) fail_errno("gzip input");
  std::string out;
  run_program({{"gzip", "-9", "-n", "-c"}, in.get(), -1, [&](const char* p, std::size_t n) { out.append(p, n); }}, "gzip");
  return out;
}

}  // namespace

namespace {

// gzip given several files writes one member per file, back to back.
std::string gnu_gzip_9_batch(const std::vector<std::string_view>& raws) {
  std::vector<UniqueFd> inputs;
  std::vector<std::string> argv{"gzip", "-9", "-n", "-c"};
  for (const auto raw : raws) {
    UniqueFd in(::memfd_create("docker_delta-gzip", MFD_CLOEXEC));
    if (!in) fail_errno("memfd_create");
    write_all(in.get(), raw.data(), raw.size(), "gzip input");
    argv.push_back(fd_path(in.get()));
    inputs.push_back(std::move(in));
  }
  std::string out;
  run_program({argv, -1, -1, [&](const char* p, std::size_t n) { out.append(p, n); }}, "gzip");
  return out;
}

}  // namespace

std::vector<std::string> regzip_many(GzipRecipe recipe, const std::vector<std::string_view>& raws,
                                     const std::vector<std::uint64_t>& expected) {
  std::vector<std::string> out;
  if (recipe != GzipRecipe::gnu_gzip_9) {
    for (const auto raw : raws) out.push_back(regzip(recipe, raw));
  } else {
    // Batches keep the open descriptors and the argument list modest.
    constexpr std::size_t kBatch = kGzipFilesPerRun;
    for (std::size_t first = 0; first < raws.size(); first += kBatch) {
      const std::size_t last = std::min(raws.size(), first + kBatch);
      const std::string all = gnu_gzip_9_batch({raws.begin() + first, raws.begin() + last});
      std::size_t at = 0;
      for (std::size_t i = first; i < last; ++i) {
        if (expected[i] > all.size() - at) break;
        out.push_back(all.substr(at, expected[i]));
        at += expected[i];
      }
      if (at != all.size() || out.size() != last)
        fail(Errc::bad_input, "recompressing gzip files with this machine's gzip did not reproduce them (another gzip version?)");
    }
  }
  for (std::size_t i = 0; i < out.size(); ++i)
    if (out[i].size() != expected[i])
      fail(Errc::bad_input, "recompressing a gzip file gave {} bytes, not {} (another gzip version?)", out[i].size(), expected[i]);
  return out;
}

bool plausible_gzip_sizes(std::uint64_t gz_size, std::uint64_t content_size) {
  if (gz_size < 18 || gz_size > kMaxGzipMember || content_size > kMaxGzipContent) return false;
  return content_size <= 1032 * gz_size && gz_size <= content_size + 5 * (content_size / 65535 + 1) + 64;
}

std::size_t gzip_program_runs(GzipRecipe recipe, std::size_t members) {
  return recipe == GzipRecipe::gnu_gzip_9 ? (members + kGzipFilesPerRun - 1) / kGzipFilesPerRun : 0;
}

std::optional<GzipRecipe> find_gzip_recipe(std::string_view gz, std::string_view raw) {
  // gzip -n writes a 10-byte header with no name and time 0; others carry bytes we do not rebuild.
  if (gz.size() < 10 || gz[3] != 0 || gz.substr(4, 4) != std::string_view("\0\0\0\0", 4)) return std::nullopt;
  if (zlib_9_reproduces(raw, gz)) return GzipRecipe::zlib_9;
  if (gnu_gzip_9(raw) == gz) return GzipRecipe::gnu_gzip_9;
  return std::nullopt;
}

std::string regzip(GzipRecipe recipe, std::string_view raw) {
  switch (recipe) {
    case GzipRecipe::zlib_9: return zlib_9(raw);
    case GzipRecipe::gnu_gzip_9: return gnu_gzip_9(raw);
  }
  fail(Errc::unsupported, "unknown gzip recipe {}", static_cast<int>(recipe));
}

}  // namespace dd
