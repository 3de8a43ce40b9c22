#include "delta/package_layer_decoder.h"

#include "core/error.h"
#include "core/log.h"
#include "core/progress.h"
#include "delta/delta_method.h"
#include "formats/compression/compression.h"

namespace dd {

void decode_package_layer(const PackageLayer& l, const std::shared_ptr<UniqueFd>& payload,
                          const std::vector<DeltaLayerFile>& bases, const ByteSink& out,
                          const std::string& what) {
  if (l.shipping == Shipping::reused || !l.size) fail(Errc::internal, "{}: nothing to decode", what);
  const std::uint64_t declared = *l.size;
  std::uint64_t written = 0;
  const ByteSink sink = [&](const char* p, std::size_t n) {
    written += n;
    if (written > declared) fail(Errc::bad_input, "{} expands beyond its declared {} bytes", what, declared);
    out(p, n);
  };
  if (l.shipping == Shipping::full) {
    // No ratio bound here: the declared size is the bound, and a zero-filled layer of any size
    // compresses to almost nothing.
    FileRangeStream raw(payload, 0, l.payload_size, what);
    DecompressingStream plain(raw, l.compression, ExpansionLimit::unlimited(), what);
    copy_stream(plain, sink);
    log::verbose("{}: whole, {} compressed {}", what, to_string(l.compression), human_bytes(l.payload_size));
  } else {
    if (bases.size() != l.bases.size() || bases.empty()) fail(Errc::internal, "{}: the base layers were not given", what);
    const DeltaMethod* method = find_delta_method(l.method);
    if (method == nullptr) fail(Errc::unsupported, "{}: unknown delta method '{}'", what, l.method);
    method->decode(payload, l.payload_size, bases, declared, sink, what);
    log::verbose("{}: {} delta {} against {} base layer(s)", what, l.method, human_bytes(l.payload_size), bases.size());
  }
  if (written != declared) fail(Errc::bad_input, "{}: rebuilt {} bytes, but the package says {}", what, written, declared);
}

}  // namespace dd
