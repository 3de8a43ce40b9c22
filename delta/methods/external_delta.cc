#include "delta/methods/external_delta.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "core/error.h"
#include "core/subprocess.h"
#include "core/temp_file.h"
#include "delta/methods/bspatch.h"
#include "delta/methods/vcdiff_check.h"

namespace dd {
namespace {

// xdelta3 finds matches only within its source window; a window the size of the base layer
// (at most 2 GiB, xdelta3's own bound) lets it see all of it, at that much memory.
std::string source_window(std::uint64_t base_size) {
  const std::uint64_t window = std::clamp<std::uint64_t>(base_size, 1u << 20, 1ull << 31);
  return std::to_string(window);
}
// Decoding reads the (seekable) base on demand, so a fixed window bounds its memory whatever the
// base or the payload asks for.
constexpr const char* kDecodeSourceWindow = "16777216";

std::uint64_t file_size(int fd) {
  struct stat st{};
  if (::fstat(fd, &st) != 0) fail_errno("reading a payload's size");
  return static_cast<std::uint64_t>(st.st_size);
}

void rewind(int fd) {
  if (::lseek(fd, 0, SEEK_SET) != 0) fail_errno("rewinding a temporary file");
}

// The programs take whole files: a layer that is a stretch of a bigger file is copied out first.
DeltaLayerFile standalone(const DeltaLayerFile& f) {
  if (f.offset == 0) {
    struct stat st{};
    if (::fstat(f.file->get(), &st) == 0 && static_cast<std::uint64_t>(st.st_size) == f.size) return f;
  }
  auto copy = std::make_shared<UniqueFd>(make_unlinked_temp_file(""));
  FileRangeStream bytes(f.file, f.offset, f.size, "layer " + f.diff_id.short_str());
  copy_stream(bytes, [&](const char* p, std::size_t n) { write_all(copy->get(), p, n, "temporary layer file"); });
  return DeltaLayerFile{f.diff_id, copy, f.size, f.index, 0};
}

}  // namespace

void xdelta3_encode(const DeltaLayerFile& given_base, const DeltaLayerFile& given_layer, int payload_fd) {
  const DeltaLayerFile base = standalone(given_base);
  const DeltaLayerFile layer = standalone(given_layer);
  rewind(layer.file->get());
  // No secondary compression (-S none), no application header (-A), no external
  // (de)compression (-D -R): the decoder refuses payloads that use any of them.
  run_program({{"xdelta3", "-e", "-9", "-c", "-S", "none", "-A", "-D", "-R", "-B", source_window(base.size), "-s",
                fd_path(base.file->get())},
               layer.file->get(), payload_fd, nullptr},
              "xdelta3");
}

void xdelta3_decode(int payload_fd, const DeltaLayerFile& given_base, std::uint64_t declared_size,
                    const std::function<void(const char*, std::size_t)>& out, const std::string& what) {
  // xdelta3 runs other programs on request: -D stops it decompressing its input or source
  // externally, -R stops it recompressing its output as the application header says, and the
  // payload is refused first if it asks for either or for secondary compression.
  check_plain_vcdiff(payload_fd, file_size(payload_fd), what);
  const DeltaLayerFile base = standalone(given_base);
  rewind(payload_fd);
  std::uint64_t produced = 0;
  run_program({{"xdelta3", "-d", "-c", "-D", "-R", "-B", kDecodeSourceWindow, "-s", fd_path(base.file->get())},
               payload_fd, -1,
               [&](const char* data, std::size_t n) {
                 produced += n;
                 if (produced > declared_size)
                   fail(Errc::bad_input, "{}: the xdelta3 payload expands beyond the layer's declared {} bytes", what, declared_size);
                 out(data, n);
               }},
              "xdelta3");
  if (produced != declared_size)
    fail(Errc::bad_input, "{}: the xdelta3 payload rebuilt {} bytes, but the layer has {}", what, produced, declared_size);
}

void bsdiff_encode(const DeltaLayerFile& given_base, const DeltaLayerFile& given_layer, int payload_fd) {
  const DeltaLayerFile base = standalone(given_base);
  const DeltaLayerFile layer = standalone(given_layer);
  run_program({{"bsdiff", fd_path(base.file->get()), fd_path(layer.file->get()), fd_path(payload_fd)}, -1, -1,
               [](const char*, std::size_t) {}},
              "bsdiff");
}

void bsdiff_decode(int payload_fd, const DeltaLayerFile& base, std::uint64_t declared_size,
                   const std::function<void(const char*, std::size_t)>& out, const std::string& what) {
  // In process and streaming: the bspatch program holds the whole new file in memory.
  bspatch_stream(
      payload_fd, file_size(payload_fd), base.size,
      [&](std::uint64_t at, std::uint64_t n, char* into) { base.read(at, n, into, "base layer"); }, declared_size, out,
      what);
}

}  // namespace dd
