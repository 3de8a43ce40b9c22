#include "outputs/registry_output.h"

#include <map>
#include <memory>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "clients/registry/registry_client.h"
#include "core/error.h"
#include "core/hashing_spool.h"
#include "core/interruption.h"
#include "core/log.h"
#include "core/progress.h"
#include "delta/base_images.h"
#include "delta/receiver.h"
#include "formats/compression/compression.h"
#include "formats/image/manifest_parser.h"

namespace dd {
namespace {

constexpr std::size_t kTagsConsulted = 32;  // of the destination repository, for blobs it holds

struct PushedBlob {
  std::string media_type;
  Digest digest;
  std::uint64_t size = 0;
  Compression compression = Compression::none;
  std::string mount_from;  // held by this other repository of the registry, to be mounted
};

std::string layer_media_type(Compression c, bool docker) {
  switch (c) {
    case Compression::none: return docker ? media_type::kDockerLayer : media_type::kOciLayer;
    case Compression::gzip: return docker ? media_type::kDockerLayerGzip : media_type::kOciLayerGzip;
    case Compression::zstd: return media_type::kOciLayerZstd;
    default: break;
  }
  fail(Errc::unsupported, "a registry image cannot hold {} layers", to_string(c));
}

// Only plain, gzip and zstd layers are taken as held: an encrypted or foreign layer is not what
// a diff_id names.
std::optional<Compression> compression_of_media_type(const std::string& media) {
  if (media == media_type::kOciLayerGzip || media == media_type::kDockerLayerGzip) return Compression::gzip;
  if (media == media_type::kOciLayerZstd) return Compression::zstd;
  if (media == media_type::kOciLayer || media == media_type::kDockerLayer) return Compression::none;
  return std::nullopt;
}

// A multi-platform image (process --all): each run pushes one platform's image by digest and
// adds it here; commit() puts the index that names them all under the tag, last.
class RegistryIndex : public SharedDestination {
 public:
  RegistryIndex(const RegistryReference& ref, const RegistryOptions& options, std::string spec_text)
      : client_(ref, options, true), spec_text_(std::move(spec_text)) {}
  const RegistryReference& reference() const { return client_.reference(); }

  void add(const std::string& media_type, const Digest& digest, std::uint64_t size, const Platform& platform,
           const Digest& image_id) {
    for (const auto& m : manifests_)
      if (m["platform"]["os"] == platform.os && m["platform"]["architecture"] == platform.architecture &&
          m["platform"].value("variant", "") == platform.variant)
        fail(Errc::bad_input, "{}: two images for platform {}", spec_text_, platform.str());
    nlohmann::ordered_json p = {{"architecture", platform.architecture}, {"os", platform.os}};
    if (!platform.variant.empty()) p["variant"] = platform.variant;
    manifests_.push_back({{"mediaType", media_type}, {"digest", digest.str()}, {"size", size}, {"platform", p}});
    docker_ = docker_ && media_type == media_type::kDockerManifest;
    image_ids_.push_back(image_id.str());
  }

  nlohmann::json commit() override {
    if (manifests_.empty()) fail(Errc::internal, "{}: no image was pushed", spec_text_);
    nlohmann::ordered_json doc;
    doc["schemaVersion"] = 2;
    doc["mediaType"] = docker_ ? media_type::kDockerManifestList : media_type::kOciIndex;
    doc["manifests"] = manifests_;
    const RegistryReference& ref = client_.reference();
    const Digest digest = client_.put_manifest(ref.reference(), doc["mediaType"].get<std::string>(), doc.dump());
    return {{"destination", spec_text_}, {"index_digest", digest.str()}, {"images", manifests_.size()},
            {"image_ids", image_ids_}, {"image_id", image_ids_.front()}, {"layers", 0}};
  }

 private:
  RegistryClient client_;
  std::string spec_text_;
  nlohmann::ordered_json manifests_ = nlohmann::ordered_json::array();
  std::vector<std::string> image_ids_;
  bool docker_ = true;
};

class RegistryOutput : public OutputStore {
 public:
  RegistryOutput(const StageSpec& spec, const RunContext& ctx)
      : spec_text_(spec.text()), ctx_(ctx), client_(parse_registry_reference(spec.argument), ctx.registry, true) {
    check_options(spec, {"compress"});
    if (auto it = spec.options.find("compress"); it != spec.options.end()) compression_ = parse_compression(it->second);
    if (compression_ != Compression::none && compression_ != Compression::gzip && compression_ != Compression::zstd)
      fail(Errc::usage, "{}: --compress must be none, gzip or zstd", spec_text_);
    if (ctx.multi_image) {
      const RegistryReference& ref = client_.reference();
      index_ = &shared_destination(
          ctx, own_index_, [&] { return std::make_unique<RegistryIndex>(ref, ctx.registry, spec_text_); },
          [&](const RegistryIndex& i) { return i.reference().str() == ref.str(); }, spec_text_);
    }
  }

  bool fetch_callback(const Digest& digest, BlobKind kind) override {
    if (kind != BlobKind::layer) return true;
    return held_layer(digest) == nullptr;
  }

  void process_image_element(ElementType type, const std::string&, ElementData& data) override {
    switch (type) {
      case ElementType::index: break;  // one image per run: the one the platform filter chose
      case ElementType::manifest: docker_flavour_ = data.manifest().kind == ManifestKind::docker_schema2 ||
                                                    data.manifest().kind == ManifestKind::docker_save;
        break;
      case ElementType::config: take_config(data.config()); break;
      case ElementType::layer: take_layer(data.layer(), data.body()); break;
    }
  }

  void finalize() override {
    if (!config_) fail(Errc::internal, "{}: the image config never arrived", spec_text_);
    if (layers_.size() != expected_layers_)
      fail(Errc::internal, "{}: {} of {} layers arrived", spec_text_, layers_.size(), expected_layers_);
    bool docker = docker_flavour_;
    for (const auto& l : layers_) docker = docker && l.compression != Compression::zstd;
    nlohmann::ordered_json doc;
    doc["schemaVersion"] = 2;
    doc["mediaType"] = docker ? media_type::kDockerManifest : media_type::kOciManifest;
    doc["config"] = {{"mediaType", docker ? media_type::kDockerConfig : media_type::kOciConfig},
                     {"digest", config_->digest.str()},
                     {"size", config_->size}};
    doc["layers"] = nlohmann::ordered_json::array();
    for (const auto& l : layers_)
      doc["layers"].push_back({{"mediaType", layer_media_type(l.compression, docker)},
                               {"digest", l.digest.str()},
                               {"size", l.size}});
    const std::string bytes = doc.dump();
    const RegistryReference& ref = client_.reference();
    const Digest manifest = Digest::sha256_of(bytes);
    // Last: only now does the tag point at the image, every blob it names being there. One
    // platform of several goes by digest; the index names it under the tag when all are in.
    client_.put_manifest(index_ ? manifest.str() : ref.reference(), doc["mediaType"].get<std::string>(), bytes);
    if (index_) index_->add(doc["mediaType"].get<std::string>(), manifest, bytes.size(), platform_, config_->digest);
    result_ = {{"destination", spec_text_}, {"image_id", config_->digest.str()}, {"manifest_digest", manifest.str()},
               {"layers", layers_.size()}, {"bytes", pushed_bytes_}, {"blobs_pushed", blobs_pushed_},
               {"blobs_present", blobs_present_}};
  }

  nlohmann::json result() const override { return result_; }

 private:
  // The layer `diff_id` as a blob the repository holds: learnt from the images its tags name
  // (at most kTagsConsulted), and confirmed by HEAD; or held by another repository of the
  // registry that a --base names, and mounted from there (never read, never sent).
  const PushedBlob* held_layer(const Digest& diff_id) {
    if (!held_) learn_held_layers();
    auto it = held_->find(diff_id);
    if (it == held_->end()) return nullptr;
    if (!confirmed_.count(diff_id)) {
      bool there = false;
      try {
        if (!it->second.mount_from.empty()) {
          there = client_.mount_blob(it->second.digest, it->second.mount_from);
          if (there) log::verbose("layer {}: blob {} mounted from {}", diff_id.short_str(), it->second.digest.short_str(),
                                  it->second.mount_from);
        } else {
          const auto size = client_.blob_size(it->second.digest);
          there = size && *size == it->second.size;
        }
      } catch (const Error& e) {
        throw_if_interrupted();  // a signal ends the run; anything else only means "not held"
        log::verbose("layer {}: not taken as held ({})", diff_id.short_str(), e.what());
      }
      if (!there) {
        held_->erase(it);
        return nullptr;
      }
      confirmed_.insert(diff_id);
    }
    return &it->second;
  }

  void learn_held_layers() {
    held_.emplace();
    // Only to avoid sending what is there: nothing here may fail the push, so an error means
    // "not held" (a new repository, an artifact that is not an image, a refused scope).
    std::vector<std::string> tags;
    try {
      tags = client_.tags(kTagsConsulted);
    } catch (const Error& e) {
      throw_if_interrupted();
      log::verbose("{}: no tags read ({})", client_.describe(), e.what());
    }
    std::size_t manifests_read = 0;
    for (const auto& tag : tags) {
      try {
        learn_from(client_, tag, "", 0, manifests_read);
      } catch (const Error& e) {
        throw_if_interrupted();
        log::verbose("{}: tag {} not used ({})", client_.describe(), tag, e.what());
      }
    }
    log::verbose("{}: {} layers known from {} tags", client_.describe(), held_->size(), tags.size());
    learn_from_bases_beside();
  }

  // --base images in other repositories of this registry: their blobs can be mounted.
  void learn_from_bases_beside() {
    if (!ctx_.receiver || !ctx_.receiver->bases) return;
    const RegistryReference& here = client_.reference();
    for (const auto& spec : ctx_.receiver->bases->sources()) {
      if (spec.kind != "docker") continue;
      const RegistryReference base = parse_registry_reference(spec.argument);
      if (base.host != here.host || base.repository == here.repository) continue;
      RegistryClient other(base, ctx_.registry, false);
      std::size_t manifests_read = 0;
      try {
        learn_from(other, base.reference(), base.repository, 0, manifests_read);
      } catch (const Error& e) {
        throw_if_interrupted();
        log::verbose("{}: base {} not used for mounts ({})", client_.describe(), base.str(), e.what());
      }
    }
  }

  void learn_from(RegistryClient& client, const std::string& reference, const std::string& mount_from, int depth,
                  std::size_t& manifests_read) {
    if (depth > 1 || ++manifests_read > 4 * kTagsConsulted) return;
    const RegistryManifest m = client.get_manifest(reference, ctx_.limits.max_json_bytes);
    const auto doc = parse_json_limited(m.bytes, ctx_.limits, "manifest");
    const auto kind = detect_manifest_kind(doc, "manifest " + m.digest.short_str());
    if (kind == ManifestKind::oci_index || kind == ManifestKind::docker_manifest_list) {
      for (const auto& e : parse_index(m.bytes, ctx_.limits, "index " + m.digest.short_str()))
        try {
          learn_from(client, e.manifest.digest.str(), mount_from, depth + 1, manifests_read);
        } catch (const Error& error) {
          throw_if_interrupted();
          log::verbose("{}: manifest {} not used ({})", client.describe(), e.manifest.digest.short_str(), error.what());
        }
      return;
    }
    const ImageManifest image = parse_image_manifest(m.bytes, ctx_.limits, "manifest " + m.digest.short_str());
    const auto size = client.blob_size(image.config.digest);
    if (!size || *size > ctx_.limits.max_json_bytes) return;
    auto stream = client.open_blob(image.config.digest, *size);
    VerifyingStream verified(*stream, image.config.digest, *size, "config " + image.config.digest.short_str());
    const ConfigFacts facts = parse_config(read_capped(verified, ctx_.limits.max_json_bytes, "image config"), ctx_.limits);
    if (facts.diff_ids.size() != image.layers.size()) return;
    for (std::size_t i = 0; i < image.layers.size(); ++i) {
      const Descriptor& d = image.layers[i];
      const auto compression = compression_of_media_type(d.media_type);
      if (!d.size || !compression) continue;
      held_->emplace(facts.diff_ids[i], PushedBlob{d.media_type, d.digest, *d.size, *compression, mount_from});
    }
  }

  // Pushes a blob unless the repository has it; `source` is called only when it must be read.
  template <typename Source>
  void push_unless_held(const Digest& digest, std::uint64_t size, Source&& source) {
    if (const auto held = client_.blob_size(digest); held && *held == size) {
      ++blobs_present_;
      return;
    }
    source();
    ++blobs_pushed_;
    pushed_bytes_ += size;
  }

  void take_config(const std::string& bytes) {
    if (config_) fail(Errc::internal, "{}: the image config arrived twice", spec_text_);
    // The exact bytes, so the config digest (the image ID) stays what it was.
    const Digest digest = Digest::sha256_of(bytes);
    platform_ = parse_config(bytes, ctx_.limits).platform;
    push_unless_held(digest, bytes.size(), [&] {
      MemoryStream stream(bytes);
      client_.push_blob(digest, bytes.size(), stream);
    });
    config_ = PushedBlob{"", digest, bytes.size(), Compression::none, ""};
  }

  void take_layer(const LayerInfo& info, LayerBody* body) {
    expected_layers_ = info.count;
    if (body == nullptr) {
      const PushedBlob* held = held_layer(info.diff_id);
      if (held == nullptr)
        fail(Errc::bad_input, "{} needs every layer it lacks, but layer {} ({}) was skipped upstream", spec_text_,
             info.index + 1, info.diff_id.str());
      log::verbose("layer {}/{} {}: held by the registry as {}", info.index + 1, info.count, info.diff_id.short_str(),
                   held->digest.short_str());
      ++blobs_present_;
      layers_.push_back(*held);
      return;
    }
    if (info.compression == compression_ && !info.stored.digest.empty() && info.stored.digest.algorithm() == "sha256" &&
        info.stored.size) {
      // Copied as stored: the digest is known, so the body streams straight into the upload and
      // is checked (digest, size, diff_id) before the registry is told to accept it.
      const std::uint64_t size = *info.stored.size;
      push_unless_held(info.stored.digest, size, [&] {
        ByteStream& stored = body->stored();
        client_.push_blob(info.stored.digest, size, stored, [&] {
          char extra;
          if (stored.read(&extra, 1) != 0) fail(Errc::integrity, "layer {} is longer than declared", info.index + 1);
        });
      });
      layers_.push_back({"", info.stored.digest, size, compression_, ""});
    } else {
      // Recompressed: written to an unlinked spool first, since the digest is known only at its end.
      HashingSpool spool(ctx_.temp_dir);
      if (compression_ == Compression::none) {
        copy_stream(body->uncompressed(), [&](const char* data, std::size_t n) { spool.write(data, n); });
      } else {
        auto compressor = make_compressor(compression_);
        auto sink = [&](const char* data, std::size_t n) { spool.write(data, n); };
        copy_stream(body->uncompressed(), [&](const char* data, std::size_t n) { compressor->feed(data, n, sink); });
        compressor->finish(sink);
      }
      const HashingSpool::Result spooled = spool.finish();
      push_unless_held(spooled.digest, spooled.size, [&] {
        FileRangeStream stream(spooled.file, 0, spooled.size, "spooled layer");
        client_.push_blob(spooled.digest, spooled.size, stream);
      });
      layers_.push_back({"", spooled.digest, spooled.size, compression_, ""});
    }
    log::verbose("layer {}/{} {}: {} {} ({})", info.index + 1, info.count, info.diff_id.short_str(),
                 to_string(layers_.back().compression), human_bytes(layers_.back().size), layers_.back().digest.short_str());
  }

  std::string spec_text_;
  const RunContext& ctx_;
  RegistryClient client_;
  Compression compression_ = Compression::gzip;
  bool docker_flavour_ = false;
  std::optional<std::map<Digest, PushedBlob>> held_;  // diff_id -> blob, once learnt
  std::set<Digest> confirmed_;
  std::optional<PushedBlob> config_;
  Platform platform_;
  std::unique_ptr<RegistryIndex> own_index_;  // unused: a multi-image run always shares one
  RegistryIndex* index_ = nullptr;
  std::vector<PushedBlob> layers_;
  std::size_t expected_layers_ = 0;
  std::uint64_t pushed_bytes_ = 0;
  std::size_t blobs_pushed_ = 0;
  std::size_t blobs_present_ = 0;
  nlohmann::json result_;
};

}  // namespace

void register_registry_output(Registry& registry) {
  registry.add_output("docker", "docker://HOST[:PORT]/REPO[:TAG]", "push the image to a registry (distribution API)",
                      [](const StageSpec& spec, const RunContext& ctx) -> std::unique_ptr<OutputStore> {
                        return std::make_unique<RegistryOutput>(spec, ctx);
                      });
}

}  // namespace dd
