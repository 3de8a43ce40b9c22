// Every document parser of formats/manifest_parser.h over the same bytes: manifests, indexes,
// docker-save manifest.json and image configs.
#include <cstdio>

#include "formats/image/manifest_parser.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace dd;
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  Limits limits;
  limits.max_json_depth = 32;  // reached by small inputs too
  fuzz::refusal_is_fine([&] { detect_manifest_kind(parse_json_limited(bytes, limits, "doc"), "doc"); });
  fuzz::refusal_is_fine([&] {
    const ImageManifest m = parse_image_manifest(bytes, limits, "manifest");
    DD_FUZZ_CHECK(m.layers.size() <= limits.max_layers);
  });
  fuzz::refusal_is_fine([&] {
    const auto entries = parse_index(bytes, limits, "index");
    DD_FUZZ_CHECK(entries.size() <= limits.max_index_entries);
  });
  fuzz::refusal_is_fine([&] { parse_docker_save_manifest(bytes, limits); });
  fuzz::refusal_is_fine([&] { parse_config(bytes, limits); });
  return 0;
}
