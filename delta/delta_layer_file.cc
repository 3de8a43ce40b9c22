#include "delta/delta_layer_file.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "core/error.h"
#include "core/temp_file.h"

namespace dd {
namespace {

void pread_exact(const UniqueFd& fd, std::uint64_t offset, std::uint64_t length, char* out, const std::string& what) {
  while (length > 0) {
    const ssize_t n = ::pread(fd.get(), out, std::min<std::uint64_t>(length, 1u << 30), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_errno(what);
    }
    if (n == 0) fail(Errc::bad_input, "{} ended early", what);
    out += n;
    offset += static_cast<std::uint64_t>(n);
    length -= static_cast<std::uint64_t>(n);
  }
}

}  // namespace

void DeltaLayerFile::read(std::uint64_t at, std::uint64_t length, char* out, const std::string& what) const {
  if (at > size || length > size - at) fail(Errc::internal, "{}: read past the end of layer {}", what, diff_id.short_str());
  pread_exact(*file, offset + at, length, out, what);
}

DeltaLayerFile hold_layer(LayerBody& body, const Digest& diff_id, const std::string& temp_dir, bool* in_place) {
  if (in_place != nullptr) *in_place = false;
  if (auto slice = body.plain_file()) {
    body.drain_and_verify();
    if (in_place != nullptr) *in_place = true;
    return DeltaLayerFile{diff_id, slice->file, slice->size, nullptr, slice->offset};
  }
  auto fd = std::make_shared<UniqueFd>(make_unlinked_temp_file(temp_dir));
  const std::uint64_t size = copy_stream(body.uncompressed(), [&](const char* p, std::size_t n) {
    write_all(fd->get(), p, n, "temporary layer file");
  });
  body.drain_and_verify();
  return DeltaLayerFile{diff_id, fd, size, nullptr, 0};
}

}  // namespace dd
