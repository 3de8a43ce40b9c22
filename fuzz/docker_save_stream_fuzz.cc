// The daemon's save stream (GET /images/NAME/get): the first 32 bytes are the image ID the
// daemon's inspect named, the rest is the stream. Every layer is wanted. Whatever it holds, what
// is kept is what it claims: the config hashes to the image ID, each layer to its diff_id.
#include <cstring>

#include "clients/docker/docker_save_stream.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace dd;
  if (size < 32) return 0;
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  for (std::size_t i = 0; i < 32; ++i) {
    hex += kHex[data[i] >> 4];
    hex += kHex[data[i] & 15];
  }
  const Digest image_id = Digest::parse("sha256:" + hex, "image ID");
  MemoryStream stream(std::string(reinterpret_cast<const char*>(data) + 32, size - 32));
  RunContext ctx;
  ctx.limits.max_archive_members = 1000;
  fuzz::refusal_is_fine([&] {
    const SaveStreamContents c = read_docker_save_stream(stream, image_id, [](const Digest&) { return true; },
                                                         std::size_t(-1), ctx, "fuzz");
    if (c.config) DD_FUZZ_CHECK(Digest::sha256_of(*c.config) == image_id);
    for (const auto& [diff_id, layer] : c.layers) {
      std::string bytes(layer.size, '\0');
      DD_FUZZ_CHECK(::pread(layer.file->get(), bytes.data(), bytes.size(), 0) == static_cast<ssize_t>(bytes.size()));
      DD_FUZZ_CHECK(Digest::sha256_of(bytes) == diff_id);
    }
  });
  return 0;
}
