#include "inputs/delta_input.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <set>

#include "core/error.h"
#include "core/interruption.h"
#include "core/log.h"
#include "core/producer_stream.h"
#include "core/progress.h"
#include "core/temp_file.h"
#include "delta/delta_package.h"
#include "delta/package_layer_decoder.h"
#include "delta/receiver.h"
#include "delta/zstd/tar_delta.h"
#include "formats/image/manifest_parser.h"
#include "stores/verified_layer_body.h"

namespace dd {
namespace {

class DeltaInput : public InputStore {
 public:
  DeltaInput(const StageSpec& spec, const RunContext& ctx) : ctx_(ctx) {
    check_options(spec, {});
    path_ = spec.argument;
    if (path_.empty()) fail(Errc::usage, "delta needs a package: delta:PACKAGE (or delta:- for standard input)");
    what_ = path_ == "-" ? "package on standard input" : "package " + path_;
  }

  void run(Stage& first) override {
    UniqueFd fd(path_ == "-" ? ::dup(0) : open_for_reading(path_).release());
    if (!fd) fail_errno(what_);
    SequentialFdStream in(std::move(fd), what_);
    const PackageHeader header = read_package_header(in, ctx_.limits, what_);
    check_bases(header);
    emit_manifest(header, first);
    emit_config(header, in, first);
    std::vector<bool> wanted;
    for (const auto& l : header.layers) wanted.push_back(first.fetch_callback(l.diff_id, BlobKind::layer));
    fetch_bases(header, wanted);
    for (std::size_t i = 0; i < header.layers.size(); ++i) emit_layer(header, i, wanted[i], in, first);
    char extra;
    if (in.read(&extra, 1) != 0) fail(Errc::bad_input, "{} has bytes after its last payload", what_);
  }

 private:
  // Before anything heavy: the receiver must hold every layer the package builds on.
  void check_bases(const PackageHeader& header) {
    if (header.base_layers.empty()) return;
    if (!ctx_.receiver || !ctx_.receiver->bases)
      fail(Errc::usage, "{} builds on {} layer(s) of an older image (e.g. {}): give it with --base SOURCE", what_,
           header.base_layers.size(), header.base_layers.front().image);
    const Inventory& have = ctx_.receiver->bases->inventory();
    std::vector<std::string> missing;
    for (const auto& b : header.base_layers) {
      if (!have.image_with_layer(b.diff_id)) missing.push_back(fmt::format("{} (of {})", b.diff_id.short_str(), b.image));
    }
    if (!missing.empty())
      fail(Errc::not_found, "the base image(s) lack {} layer(s) that {} needs: {}", missing.size(), what_,
           fmt::format("{}", fmt::join(missing, ", ")));
  }

  // Reads from the bases only what the wanted layers are made of: a layer the destination
  // already has (a daemon's shared layers) costs nothing.
  void fetch_bases(const PackageHeader& header, const std::vector<bool>& wanted) {
    std::set<Digest> needed;
    for (std::size_t i = 0; i < header.layers.size(); ++i) {
      const PackageLayer& l = header.layers[i];
      if (!wanted[i]) continue;
      if (l.shipping == Shipping::reused) needed.insert(l.diff_id);
      if (l.shipping == Shipping::delta) needed.insert(l.bases.begin(), l.bases.end());
    }
    if (!needed.empty()) ctx_.receiver->bases->fetch(needed);
  }

  void emit_manifest(const PackageHeader& header, Stage& first) {
    manifest_.kind = ManifestKind::oci_manifest;
    manifest_.config = Descriptor{media_type::kOciConfig, header.config_digest, header.config_size, {}, {}};
    for (const auto& l : header.layers) manifest_.layers.push_back(Descriptor{media_type::kOciLayer, l.diff_id, l.size, {}, {}});
    manifest_.repo_tags = header.repo_tags;
    ElementData data = ElementData::of_manifest(manifest_);
    first.process_image_element(ElementType::manifest, "manifest", data);
  }

  void emit_config(const PackageHeader& header, ByteStream& in, Stage& first) {
    std::string config(header.config_size, '\0');
    read_exact(in, config.data(), config.size(), what_);
    if (Digest::sha256_of(config) != header.config_digest)
      fail(Errc::integrity, "{}: the image config is damaged (digest mismatch)", what_);
    const ConfigFacts facts = parse_config(config, ctx_.limits);
    if (facts.diff_ids.size() != header.layers.size())
      fail(Errc::bad_input, "{}: the config names {} layers but the package lists {}", what_, facts.diff_ids.size(),
           header.layers.size());
    for (std::size_t i = 0; i < facts.diff_ids.size(); ++i)
      if (facts.diff_ids[i] != header.layers[i].diff_id)
        fail(Errc::bad_input, "{}: layer {} is {} in the package but {} in the config", what_, i + 1,
             header.layers[i].diff_id.short_str(), facts.diff_ids[i].short_str());
    ElementData data = ElementData::of_config(config);
    first.process_image_element(ElementType::config, header.config_digest.str(), data);
  }

  void emit_layer(const PackageHeader& header, std::size_t i, bool wanted, ByteStream& in, Stage& first) {
    throw_if_interrupted();
    const PackageLayer& l = header.layers[i];
    const std::string what = fmt::format("{} layer {}/{} {}", what_, i + 1, header.layers.size(), l.diff_id.short_str());
    LayerInfo info;
    info.index = i;
    info.count = header.layers.size();
    info.diff_id = l.diff_id;
    info.compression = Compression::none;
    std::shared_ptr<UniqueFd> payload;
    if (l.shipping != Shipping::reused) payload = take_payload(l, in, what, wanted);
    ElementData data = ElementData::of_layer(info, nullptr);
    if (!wanted) {
      info.stored = Descriptor{media_type::kOciLayer, l.diff_id, l.size, {}, {}};
      info.source = info.stored;
      first.process_image_element(ElementType::layer, l.diff_id.str(), data);
      return;
    }
    std::unique_ptr<ByteStream> bytes;
    std::uint64_t size = 0;
    if (l.shipping == Shipping::reused) {
      const DeltaLayerFile& base = ctx_.receiver->bases->layer(l.diff_id);
      if (l.size && *l.size != base.size)
        fail(Errc::bad_input, "{}: the base's layer has {} bytes, the package says {}", what, base.size, *l.size);
      bytes = std::make_unique<FileRangeStream>(base.file, base.offset, base.size, what);
      size = base.size;
      log::verbose("{}: from the base", what);
    } else {
      // Decoded on another thread straight into whoever reads the body: no temporary copy of
      // the layer, and decoding overlaps with writing the output.
      size = *l.size;
      bytes = std::make_unique<ProducerStream>(
          [this, &l, payload, what](const ByteSink& out) { decode(l, payload, out, what); });
    }
    info.stored = Descriptor{media_type::kOciLayer, l.diff_id, size, {}, {}};
    info.source = info.stored;
    VerifiedLayerBody body(std::move(bytes), info, ctx_.limits, ctx_.progress);
    data.set_body(&body);
    first.process_image_element(ElementType::layer, l.diff_id.str(), data);
    body.drain_and_verify();
  }

  // The payload goes to a temporary file and is checked against its digest before any decoder
  // sees it (and so that a package on a pipe can be decoded with random access). An unwanted
  // one is only checked.
  std::shared_ptr<UniqueFd> take_payload(const PackageLayer& l, ByteStream& in, const std::string& what, bool keep) {
    auto fd = keep ? std::make_shared<UniqueFd>(make_unlinked_temp_file(ctx_.temp_dir)) : nullptr;
    Hasher h;
    std::vector<char> buffer(kBlockSize);
    std::uint64_t left = l.payload_size;
    while (left > 0) {
      throw_if_interrupted();
      const std::size_t n = in.read(buffer.data(), std::min<std::uint64_t>(left, buffer.size()));
      if (n == 0) fail(Errc::bad_input, "{} is truncated: its payload ends {} bytes early", what, left);
      h.update(buffer.data(), n);
      if (fd) write_all(fd->get(), buffer.data(), n, "temporary payload file");
      left -= n;
    }
    if (h.finish() != *l.payload_digest) fail(Errc::integrity, "{}: the payload is damaged (digest mismatch)", what);
    return fd;
  }

  void decode(const PackageLayer& l, const std::shared_ptr<UniqueFd>& payload, const ByteSink& out,
              const std::string& what) {
    std::vector<DeltaLayerFile> bases;
    for (const auto& b : l.bases) bases.push_back(ctx_.receiver->bases->layer(b));
    decode_package_layer(l, payload, bases, out, what);
  }

  const RunContext& ctx_;
  std::string path_, what_;
  ImageManifest manifest_;
};

}  // namespace

void register_delta_input(Registry& registry) {
  registry.add_input("delta", "delta:PACKAGE", "a delta package, rebuilt with the --base images (delta:- reads stdin)",
                     [](const StageSpec& spec, const RunContext& ctx) -> std::unique_ptr<InputStore> {
                       return std::make_unique<DeltaInput>(spec, ctx);
                     });
}

}  // namespace dd
