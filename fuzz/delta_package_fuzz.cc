// The package header as apply reads it. The first byte chooses the entry point: 0 reads the file
// format (preamble, header, header digest, signature block), anything else hands the rest to the
// header's JSON parser directly, since a fuzzer seldom forges a matching SHA-256. A header that
// parses (version 1 or 2) is written back as version 2 and must read again.
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
    header.version = kPackageFormatVersion;
    MemoryStream again(package_prefix(package_header_json(header), header.signature));
    const PackageHeader reread = read_package_header(again, limits, "written package");
    DD_FUZZ_CHECK(reread.images.size() == header.images.size());
    for (std::size_t i = 0; i < header.images.size(); ++i) {
      DD_FUZZ_CHECK(reread.images[i].layers.size() == header.images[i].layers.size());
      DD_FUZZ_CHECK(reread.images[i].config_digest.str() == header.images[i].config_digest.str());
    }
    DD_FUZZ_CHECK(reread.signature.has_value() == header.signature.has_value());
  });
  return 0;
}
