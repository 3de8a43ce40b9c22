#include "inputs/delta_input.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "core/error.h"
#include "core/interruption.h"
#include "core/log.h"
#include "core/producer_stream.h"
#include "core/progress.h"
#include "core/temp_file.h"
#include "delta/delta_package.h"
#include "delta/layer_sources.h"
#include "core/printable.h"
#include "delta/package_layer_decoder.h"
#include "delta/package_parts.h"
#include "delta/package_trust.h"
#include "formats/image/image_reference.h"
#include "delta/receiver.h"
#include "delta/zstd/tar_delta.h"
#include "formats/image/manifest_parser.h"
#include "stores/verified_layer_body.h"

namespace dd {
namespace {

// Which image of the package: the only one, @INDEX (from 0), or one of its tags.
std::size_t select_image(const std::vector<PackageImage>& images, const std::string& selector, const std::string& where) {
  auto names = [&] {
    std::string out;
    for (std::size_t i = 0; i < images.size(); ++i) out += fmt::format("{}@{} {}", i ? ", " : "", i, printable(images[i].name()));
    return out;
  };
  if (selector.empty()) {
    if (images.size() == 1) return 0;
    fail(Errc::usage, "{} holds {} images ({}): choose one with delta:PACKAGE:REF or :@INDEX", where, images.size(), names());
  }
  if (selector.front() == '@') {
    std::size_t index = 0;
    const auto* end = selector.data() + selector.size();
    auto [ptr, ec] = std::from_chars(selector.data() + 1, end, index);
    if (ec != std::errc() || ptr != end || selector.size() == 1) fail(Errc::usage, "'{}' is not an image index (@0, @1, ...)", selector);
    if (index >= images.size()) fail(Errc::not_found, "{} holds {} images; there is no @{}", where, images.size(), index);
    return index;
  }
  const std::string wanted = parse_image_reference(selector, "the image asked for").familiar();
  for (std::size_t i = 0; i < images.size(); ++i)
    for (const auto& t : images[i].repo_tags)
      if (parse_image_reference(t, "a tag in the package").familiar() == wanted) return i;
  fail(Errc::not_found, "{} holds no image tagged '{}' ({})", where, printable(selector), names());
}

class DeltaInput : public InputStore {
 public:
  DeltaInput(const StageSpec& spec, const RunContext& ctx) : ctx_(ctx) {
    check_options(spec, {"trust"});
    std::tie(path_, selector_) = split_path_and_ref(spec.argument);
    if (path_.empty()) fail(Errc::usage, "delta needs a package: delta:PACKAGE[:REF|:@INDEX] (or delta:- for standard input)");
    if (auto it = spec.options.find("trust"); it != spec.options.end()) {
      std::istringstream lines(it->second);
      for (std::string line; std::getline(lines, line);)
        if (!line.empty()) trust_files_.push_back(line);
    }
  }

  void run(Stage& first) override {
    OpenedPackage opened = open_package(path_);
    what_ = opened.what;
    PackageStream& in = *opened.stream;
    const PackageHeader package = read_package_header(in, ctx_.limits, what_);
    check_package_identity(opened, package.header_digest);
    Trust::load(trust_files_).check(package, what_);  // before any base is read
    if (package.images.size() > 1 && path_ == "-")
      fail(Errc::unsupported, "{} holds {} images: apply them from the file, not from standard input", what_, package.images.size());
    const std::size_t chosen = select_image(package.images, selector_, what_);
    std::uint64_t before = 0;
    for (std::size_t k = 0; k < chosen; ++k) before += package.images[k].payload_bytes();
    in.skip(before);
    const PackageImage& header = package.images[chosen];
    LayerSources sources(package);
    sources_ = &sources;
    chosen_ = chosen;
    if (package.images.size() > 1) what_ += fmt::format(" image {} ({})", chosen + 1, printable(header.name()));
    check_bases(package);
    emit_manifest(header, first);
    emit_config(header, in, first);
    std::vector<bool> wanted;
    for (const auto& l : header.layers) wanted.push_back(first.fetch_callback(l.diff_id, BlobKind::layer));
    fetch_bases(wanted);
    for (std::size_t i = 0; i < header.layers.size(); ++i) emit_layer(header, i, wanted[i], in, first);
    if (chosen + 1 == package.images.size()) {
      char extra;
      if (in.read(&extra, 1) != 0) fail(Errc::bad_input, "{} has bytes after its last payload", what_);
    }
  }

 private:
  // Before anything heavy: the receiver must hold every layer this image builds on, directly or
  // through the layers of earlier images it is decoded from.
  void check_bases(const PackageHeader& package) {
    const std::set<Digest> needed = sources_->receiver_layers_needed(chosen_);
    std::vector<PackageBaseLayer> bases;
    for (const auto& b : package.base_layers)
      if (needed.count(b.diff_id)) bases.push_back(b);
    if (bases.empty()) return;
    if (!ctx_.receiver || !ctx_.receiver->bases)
      fail(Errc::usage, "{} builds on {} layer(s) of an older image (e.g. {}): give it with --base SOURCE", what_,
           bases.size(), bases.front().image);
    const Inventory& have = ctx_.receiver->bases->inventory();
    std::vector<std::string> missing;
    for (const auto& b : bases) {
      if (!have.image_with_layer(b.diff_id)) missing.push_back(fmt::format("{} (of {})", b.diff_id.short_str(), b.image));
    }
    if (!missing.empty())
      fail(Errc::not_found, "the base image(s) lack {} layer(s) that {} needs: {}", missing.size(), what_,
           fmt::format("{}", fmt::join(missing, ", ")));
  }

  // Reads from the bases only what the wanted layers are made of: a layer the destination
  // already has (a daemon's shared layers) costs nothing.
  void fetch_bases(const std::vector<bool>& wanted) {
    const std::set<Digest> needed = sources_->receiver_layers_needed(chosen_, wanted);
    if (!needed.empty()) ctx_.receiver->bases->fetch(needed);
  }

  void emit_manifest(const PackageImage& header, Stage& first) {
    manifest_.kind = ManifestKind::oci_manifest;
    manifest_.config = Descriptor{media_type::kOciConfig, header.config_digest, header.config_size, {}, {}};
    for (const auto& l : header.layers) manifest_.layers.push_back(Descriptor{media_type::kOciLayer, l.diff_id, l.size, {}, {}});
    manifest_.repo_tags = header.repo_tags;
    ElementData data = ElementData::of_manifest(manifest_);
    first.process_image_element(ElementType::manifest, "manifest", data);
  }

  void emit_config(const PackageImage& header, ByteStream& in, Stage& first) {
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

  void emit_layer(const PackageImage& header, std::size_t i, bool wanted, ByteStream& in, Stage& first) {
    throw_if_interrupted();
    const PackageLayer& l = header.layers[i];
    const std::string what = fmt::format("{} layer {}/{} {}", what_, i + 1, header.layers.size(), l.diff_id.short_str());
    LayerInfo info;
    info.index = i;
    info.count = header.layers.size();
    info.diff_id = l.diff_id;
    info.compression = Compression::none;
    std::shared_ptr<UniqueFd> payload;
    if (l.shipping == Shipping::full || l.shipping == Shipping::delta) payload = take_payload(l, in, what, wanted);
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
      const PackageLayer* source = &l;
      std::size_t source_image = chosen_;
      if (l.shipping == Shipping::packaged) {
        // Carried by an earlier image of the package: its payload is read from there.
        const auto carrier = sources_->carrier(l.diff_id, chosen_);
        if (!carrier) fail(Errc::bad_input, "{}: travels with an earlier image, but none carries it", what);
        payload = carried_payload(*carrier, what);
        source = carrier->layer;
        source_image = carrier->image;
        log::verbose("{}: decoded from the payload an earlier image carries", what);
      }
      // Decoded on another thread straight into whoever reads the body: no temporary copy of
      // the layer, and decoding overlaps with writing the output. Its bases are at hand first.
      size = *source->size;
      auto bases = std::make_shared<std::vector<DeltaLayerFile>>(bases_for(*source, source_image, what));
      bytes = std::make_unique<ProducerStream>([source, payload, bases, what](const ByteSink& out) {
        decode_package_layer(*source, payload, *bases, out, what);
      });
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

  // The payload of an earlier image's entry, read from the package file again.
  std::shared_ptr<UniqueFd> carried_payload(const LayerCarrier& carrier, const std::string& what) {
    if (path_ == "-") fail(Errc::usage, "{}: built from a layer an earlier image carries; apply the package from its file", what);
    OpenedPackage again = open_package(path_);
    again.stream->skip(carrier.offset);
    return take_payload(*carrier.layer, *again.stream, what, true);
  }

  // The layers the entry `l` of image `image` is decoded against: the receiver's, or layers an
  // earlier image carries, rebuilt first.
  std::vector<DeltaLayerFile> bases_for(const PackageLayer& l, std::size_t image, const std::string& what) {
    std::vector<DeltaLayerFile> bases;
    for (const auto& b : l.bases) {
      if (const auto carrier = sources_->carrier(b, image)) bases.push_back(carried_base(*carrier, what));
      else bases.push_back(ctx_.receiver->bases->layer(b));
    }
    return bases;
  }

  // A carried layer that a delta reads as its base, rebuilt once into an unlinked temporary file
  // and checked against its diff_id. Its own bases come before it (the header allows only
  // earlier images there, so this ends).
  const DeltaLayerFile& carried_base(const LayerCarrier& carrier, const std::string& what) {
    const PackageLayer& l = *carrier.layer;
    if (auto it = carried_bases_.find(l.diff_id); it != carried_bases_.end()) return it->second;
    const std::string base_what = fmt::format("{} (base layer {}, carried by image {})", what, l.diff_id.short_str(), carrier.image + 1);
    const std::vector<DeltaLayerFile> bases = bases_for(l, carrier.image, base_what);
    const auto payload = carried_payload(carrier, base_what);
    DeltaLayerFile file;
    file.diff_id = l.diff_id;
    file.file = std::make_shared<UniqueFd>(make_unlinked_temp_file(ctx_.temp_dir));
    Hasher h;
    decode_package_layer(l, payload, bases, [&](const char* p, std::size_t n) {
      h.update(p, n);
      write_all(file.file->get(), p, n, "temporary layer file");
      file.size += n;
    }, base_what);
    if (h.finish() != l.diff_id) fail(Errc::integrity, "{}: it does not rebuild the layer (its diff_id differs)", base_what);
    log::verbose("{}: rebuilt first", base_what);
    return carried_bases_.emplace(l.diff_id, std::move(file)).first->second;
  }

  const RunContext& ctx_;
  const LayerSources* sources_ = nullptr;  // of the package run() reads
  std::map<Digest, DeltaLayerFile> carried_bases_;
  std::size_t chosen_ = 0;
  std::string path_, selector_, what_;
  std::vector<std::string> trust_files_;
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
