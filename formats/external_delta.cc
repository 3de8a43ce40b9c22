#include "formats/external_delta.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "pipeline/error.h"
#include "pipeline/subprocess.h"
#include "pipeline/temp_file.h"

namespace dd {
namespace {

// xdelta3 finds matches only within its source window; a window the size of the base layer
// (at most 2 GiB, xdelta3's own bound) lets it see all of it, at that much memory.
std::string source_window(std::uint64_t base_size) {
  const std::uint64_t window = std::clamp<std::uint64_t>(base_size, 1u << 20, 1ull << 31);
  return std::to_string(window);
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
  auto copy = std::make_shared<UniqueFd>(make_unlinked_temp_file(RunContext{}));
  FileRangeStream bytes(f.file, f.offset, f.size, "layer " + f.diff_id.short_str());
  copy_stream(bytes, [&](const char* p, std::size_t n) { write_all(copy->get(), p, n, "temporary layer file"); });
  return DeltaLayerFile{f.diff_id, copy, f.size, f.index, 0};
}

}  // namespace

void xdelta3_encode(const DeltaLayerFile& given_base, const DeltaLayerFile& given_layer, int payload_fd) {
  const DeltaLayerFile base = standalone(given_base);
  const DeltaLayerFile layer = standalone(given_layer);
  rewind(layer.file->get());
  run_program({{"xdelta3", "-e", "-9", "-c", "-B", source_window(base.size), "-s", fd_path(base.file->get())},
               layer.file->get(), payload_fd, nullptr},
              "xdelta3");
}

void xdelta3_decode(int payload_fd, const DeltaLayerFile& given_base, std::uint64_t declared_size,
                    const std::function<void(const char*, std::size_t)>& out, const std::string& what) {
  const DeltaLayerFile base = standalone(given_base);
  rewind(payload_fd);
  std::uint64_t produced = 0;
  run_program({{"xdelta3", "-d", "-c", "-B", source_window(base.size), "-s", fd_path(base.file->get())},
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

void bsdiff_decode(int payload_fd, const DeltaLayerFile& given_base, std::uint64_t declared_size, const RunContext& ctx,
                   const std::function<void(const char*, std::size_t)>& out, const std::string& what) {
  const DeltaLayerFile base = standalone(given_base);
  // Header: "BSDIFF40", then three 8-byte sign-magnitude little-endian numbers; the third is the
  // size of the new file, which bspatch allocates in one piece.
  unsigned char header[32];
  if (::pread(payload_fd, header, sizeof header, 0) != static_cast<ssize_t>(sizeof header) ||
      std::string_view(reinterpret_cast<char*>(header), 8) != "BSDIFF40")
    fail(Errc::bad_input, "{}: not a bsdiff payload", what);
  std::uint64_t new_size = 0;
  for (int i = 7; i >= 0; --i) new_size = (new_size << 8) | header[24 + i];
  if (new_size != declared_size)
    fail(Errc::bad_input, "{}: the bsdiff payload makes {} bytes, but the layer has {}", what, new_size & ~(1ull << 63),
         declared_size);
  UniqueFd result = make_unlinked_temp_file(ctx);
  run_program({{"bspatch", fd_path(base.file->get()), fd_path(result.get()), fd_path(payload_fd)}, -1, -1,
               [](const char*, std::size_t) {}},
              "bsdiff");
  auto shared = std::make_shared<UniqueFd>(std::move(result));
  FileRangeStream bytes(shared, 0, declared_size, what + " (bspatch output)");
  copy_stream(bytes, out);
  char extra;
  if (::pread(shared->get(), &extra, 1, static_cast<off_t>(declared_size)) != 0)
    fail(Errc::bad_input, "{}: bspatch wrote more than the layer's declared size", what);
}

}  // namespace dd
