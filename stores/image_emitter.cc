#include "stores/image_emitter.h"

#include <optional>

#include "core/error.h"
#include "core/log.h"
#include "core/printable.h"
#include "formats/compression/compression.h"
#include "formats/image/manifest_parser.h"
#include "stores/verified_layer_body.h"

namespace dd {

std::string blob_path(const Digest& digest) { return "blobs/" + digest.algorithm() + "/" + digest.hex(); }

Digest digest_from_path(const std::string& path) {
  auto is_hex64 = [](std::string_view s) {
    return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
  };
  std::string_view p = path;
  if (p.starts_with("blobs/sha256/") && is_hex64(p.substr(13))) return Digest::from_sha256_hex(p.substr(13));
  if (p.size() == 69 && p.ends_with(".json") && is_hex64(p.substr(0, 64))) return Digest::from_sha256_hex(p.substr(0, 64));
  return {};
}

namespace {

// A stream that owns the stream it verifies.
class OwningVerifyingStream : public ByteStream {
 public:
  OwningVerifyingStream(std::unique_ptr<ByteStream> source, const Descriptor& d, std::string what)
      : source_(std::move(source)), verifying_(*source_, d.digest, d.size, std::move(what)) {}
  std::size_t read(char* buffer, std::size_t size) override { return verifying_.read(buffer, size); }

 private:
  std::unique_ptr<ByteStream> source_;
  VerifyingStream verifying_;
};

// bzip2, xz and the like: checked against the stored digest, decompressed, and
// passed on as an uncompressed layer whose stored digest is its diff_id.
std::unique_ptr<ByteStream> open_as_plain_tar(std::unique_ptr<ByteStream> raw, LayerInfo& info, const Limits& limits) {
  const std::string what = fmt::format("layer {} ({} compressed)", info.index + 1, to_string(info.compression));
  if (!info.stored.digest.empty()) raw = std::make_unique<OwningVerifyingStream>(std::move(raw), info.stored, what);
  const Compression compression = info.compression;
  info.compression = Compression::none;
  info.stored.digest = info.diff_id;
  info.stored.size.reset();
  info.stored.media_type = media_type::kOciLayer;
  return std::make_unique<DecompressingStream>(std::move(raw), compression, limits.expansion, what);
}

std::string read_config(const FileTree& tree, Descriptor& config, const std::string& path, const RunContext& ctx) {
  const TreeFile file = tree.find(path);
  if (config.size && *config.size != file.size)
    fail(Errc::integrity, "image config '{}' has {} bytes, {} declared", path, file.size, *config.size);
  auto raw = tree.open(file);
  if (config.digest.empty()) {
    std::string bytes = read_capped(*raw, ctx.limits.max_json_bytes, "image config");
    config.digest = Digest::sha256_of(bytes);
    config.size = bytes.size();
    return bytes;
  }
  VerifyingStream verified(*raw, config.digest, file.size, "image config " + config.digest.short_str());
  std::string bytes = read_capped(verified, ctx.limits.max_json_bytes, "image config");
  config.size = bytes.size();
  return bytes;
}

}  // namespace

void emit_image(const FileTree& tree, ImageLocation image, Stage& sink, const RunContext& ctx) {
  ImageManifest& manifest = image.manifest;
  const std::string config = read_config(tree, manifest.config, image.config_path, ctx);
  const ConfigFacts facts = parse_config(config, ctx.limits);
  if (facts.diff_ids.size() != image.layer_paths.size())
    fail(Errc::bad_input, "the image lists {} layers but its config lists {} diff_ids",
         image.layer_paths.size(), facts.diff_ids.size());

  // Find every layer before any element goes out, so an unsafe one fails early. A layer the
  // source lacks fails only once the pipeline says it wants it: `inspect` needs none, and a
  // partial export still shows what it is.
  std::vector<std::optional<TreeFile>> files;
  for (std::size_t i = 0; i < image.layer_paths.size(); ++i) {
    Descriptor& d = manifest.layers[i];
    d.annotations.erase(kAbsentBlobMark);  // only this function may say a blob is absent
    if (!tree.contains(image.layer_paths[i])) {
      files.emplace_back();
      continue;
    }
    files.push_back(tree.find(image.layer_paths[i]));
    if (d.size && *d.size != files.back()->size)
      fail(Errc::integrity, "layer {} ('{}') has {} bytes, {} declared", i + 1, image.layer_paths[i],
           files.back()->size, *d.size);
    d.size = files.back()->size;
  }

  ElementData md = ElementData::of_manifest(manifest);
  sink.process_image_element(ElementType::manifest,
                             manifest.digest ? manifest.digest->str() : std::string("manifest"), md);
  ElementData cd = ElementData::of_config(config);
  sink.process_image_element(ElementType::config, manifest.config.digest.str(), cd);

  // Every wanted layer that is absent is named at once, before any layer body is read.
  std::string absent_wanted;
  std::size_t absent_count = 0;
  for (std::size_t i = 0; i < files.size(); ++i) {
    if (files[i] || !sink.fetch_callback(facts.diff_ids[i], BlobKind::layer)) continue;
    if (++absent_count <= 8)
      absent_wanted += fmt::format("{}{} ('{}')", absent_wanted.empty() ? "" : ", ", i + 1, printable(image.layer_paths[i]));
  }
  if (absent_count > 0)
    fail(Errc::not_found, "{} does not hold {} of the image's layers: {}{}", tree.describe(),
         absent_count == 1 ? "one" : std::to_string(absent_count), absent_wanted,
         absent_count > 8 ? fmt::format(" and {} more", absent_count - 8) : "");

  for (std::size_t i = 0; i < files.size(); ++i) {
    LayerInfo info;
    info.index = i;
    info.count = files.size();
    info.stored = manifest.layers[i];
    info.diff_id = facts.diff_ids[i];
    if (!files[i]) {
      // Not wanted (checked above): the element says what the manifest says, with no body.
      info.stored.annotations[kAbsentBlobMark] = "true";
      info.source = info.stored;
      ElementData ld = ElementData::of_layer(info, nullptr);
      log::verbose("layer {}/{} {}: absent from the source, not wanted", i + 1, files.size(), info.diff_id.short_str());
      sink.process_image_element(ElementType::layer, info.diff_id.str(), ld);
      continue;
    }
    const TreeFile& file = *files[i];
    info.compression = detect_compression(tree.peek(file, kMagicBytes));
    const bool exotic = info.compression == Compression::bzip2 || info.compression == Compression::xz;
    if (info.stored.digest.empty() && info.compression == Compression::none) info.stored.digest = info.diff_id;
    info.source = info.stored;
    info.source_compression = info.compression;

    ElementData ld = ElementData::of_layer(info, nullptr);
    std::unique_ptr<VerifiedLayerBody> body;
    std::unique_ptr<ByteStream> raw;
    if (exotic) raw = open_as_plain_tar(tree.open(file), info, ctx.limits);
    if (sink.fetch_callback(info.diff_id, BlobKind::layer)) {
      body = std::make_unique<VerifiedLayerBody>(raw ? std::move(raw) : tree.open(file), info, ctx.limits, ctx.progress);
      ld.set_body(body.get());
    }
    log::verbose("layer {}/{} {} ({}, {} bytes){}", i + 1, files.size(), info.diff_id.short_str(),
                 to_string(info.compression), file.size, ld.body() ? "" : ": not wanted, skipped");
    sink.process_image_element(ElementType::layer, info.diff_id.str(), ld);
    if (body) body->drain_and_verify();
  }
  if (ctx.progress) ctx.progress->done();
}

}  // namespace dd
