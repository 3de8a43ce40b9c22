// The package header as apply reads it. The first byte chooses the entry point: 0 reads the file
// format (preamble, header, header digest), anything else hands the rest to the header's JSON
// parser directly, since a fuzzer seldom forges a matching SHA-256. A header that parses is
// written back and must read again.
#include <cstdio>

#include "delta/delta_package.h"
#include "formats/image/manifest_parser.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace dd;
  if (size == 0) return 0;
  const Limits limits;
  const std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  fuzz::refusal_is_fine([&] {
    PackageHeader header;
    if (data[0] == 0) {
      MemoryStream in(rest);
      header = read_package_header(in, limits, "package");
    } else {
      header = parse_package_header(parse_json_limited(rest, limits, "package header"), limits);
    }
    MemoryStream again(package_prefix(header));
    const PackageHeader reread = read_package_header(again, limits, "written package");
    DD_FUZZ_CHECK(reread.layers.size() == header.layers.size());
    DD_FUZZ_CHECK(reread.config_digest.str() == header.config_digest.str());
  });
  return 0;
}
