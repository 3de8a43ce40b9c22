// The gzip reproduction: reading a gzip member exactly, finding a recipe for it, and the promise
// that a found recipe gives back the very bytes. Only the in-process recipe is run here; the gzip
// program recipe is exercised through the tar-delta target.
#include <cstdio>

#include "formats/compression/gzip_reproduction.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace dd;
  const std::string_view gz(reinterpret_cast<const char*>(data), size);
  fuzz::refusal_is_fine([&] {
    const auto raw = gunzip_exactly(gz, 1u << 20);
    if (!raw) return;
    const std::string zlib = regzip(GzipRecipe::zlib_9, *raw);
    DD_FUZZ_CHECK(gunzip_exactly(zlib, 1u << 20) == raw);
    if (zlib == gz) DD_FUZZ_CHECK(find_gzip_recipe(gz, *raw) == GzipRecipe::zlib_9);
  });
  return 0;
}
