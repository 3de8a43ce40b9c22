#include "inputs/docker_daemon_input.h"

#include <map>
#include <set>

#include "clients/docker/docker_engine.h"
#include "clients/docker/docker_save_stream.h"
#include "core/error.h"
#include "core/log.h"
#include "core/printable.h"
#include "core/producer_stream.h"
#include "formats/image/image_reference.h"
#include "formats/image/manifest_parser.h"
#include "stores/checked_file_layer_body.h"

namespace dd {

void check_daemon_reference(const std::string& reference) {
  std::string why;
  if (!is_image_id(reference) && !try_parse_image_reference(reference, &why))
    fail(Errc::usage, "'{}' is not a docker image reference (NAME[:TAG], NAME@sha256:... or an image ID): {}",
         printable(reference.substr(0, 300)), why);
}

namespace {

class DockerDaemonInput : public InputStore {
 public:
  DockerDaemonInput(const StageSpec& spec, const RunContext& ctx)
      : ctx_(ctx), reference_(spec.argument), engine_(DockerEngine::resolve_host(ctx.docker_host), ctx.limits) {
    check_options(spec, {});
    check_daemon_reference(reference_);
  }

  std::optional<ImageSummary> summary() override {
    inspect();
    return summary_;
  }

  void run(Stage& first) override {
    inspect();
    const ImageSummary& s = *summary_;
    std::set<Digest> wanted;
    for (const auto& d : s.diff_ids)
      if (first.fetch_callback(d, BlobKind::layer)) wanted.insert(d);
    log::verbose("{}: reading the daemon's save stream ({} of {} layers wanted)", what(), wanted.size(), s.diff_ids.size());
    read_save_stream(wanted);
    if (!config_) fail(Errc::bad_input, "{}: the daemon's save stream has no config {}", what(), s.image_id.str());
    const ConfigFacts facts = parse_config(*config_, ctx_.limits);
    if (facts.diff_ids != s.diff_ids) fail(Errc::bad_input, "{}: the config's layers differ from what the daemon reported", what());

    ImageManifest manifest;
    manifest.kind = ManifestKind::docker_save;
    manifest.config = Descriptor{media_type::kDockerConfig, s.image_id, config_->size(), {}, {}};
    for (const auto& d : s.diff_ids) {
      std::optional<std::uint64_t> size;
      if (auto it = layers_.find(d); it != layers_.end()) size = it->second.size;
      manifest.layers.push_back(Descriptor{media_type::kDockerLayer, d, size, {}, {}});
    }
    manifest.repo_tags = repo_tags_;
    ElementData m = ElementData::of_manifest(manifest);
    first.process_image_element(ElementType::manifest, "manifest", m);
    ElementData c = ElementData::of_config(*config_);
    first.process_image_element(ElementType::config, s.image_id.str(), c);
    for (std::size_t i = 0; i < s.diff_ids.size(); ++i) {
      LayerInfo info;
      info.index = i;
      info.count = s.diff_ids.size();
      info.diff_id = s.diff_ids[i];
      info.compression = Compression::none;
      info.stored = manifest.layers[i];
      info.stored.digest = info.diff_id;
      info.source = info.stored;
      ElementData data = ElementData::of_layer(info, nullptr);
      if (!wanted.count(info.diff_id)) {
        first.process_image_element(ElementType::layer, info.diff_id.str(), data);
        continue;
      }
      auto it = layers_.find(info.diff_id);
      if (it == layers_.end()) fail(Errc::bad_input, "{}: the daemon's save stream lacks layer {}", what(), info.diff_id.str());
      // Hashed as it arrived (that is how it was recognised): not hashed again.
      CheckedFileLayerBody body(it->second.file, 0, it->second.size, what());
      data.set_body(&body);
      first.process_image_element(ElementType::layer, info.diff_id.str(), data);
      body.drain_and_verify();
    }
  }

 private:
  std::string what() const { return "docker-daemon:" + printable(reference_); }

  void inspect() {
    if (summary_) return;
    const auto j = engine_.get_json("/images/" + url_path(reference_) + "/json");
    if (!j.is_object() || !j.contains("Id") || !j["Id"].is_string() || !j.contains("RootFS") || !j["RootFS"].is_object())
      fail(Errc::bad_input, "{}: the daemon's image inspect lacks Id or RootFS", what());
    ImageSummary s;
    s.image_id = Digest::parse(j["Id"].get<std::string>(), "image ID");
    const auto& layers = j["RootFS"].value("Layers", nlohmann::json::array());
    if (!layers.is_array() || layers.size() > ctx_.limits.max_layers) fail(Errc::bad_input, "{}: bad RootFS.Layers", what());
    for (const auto& l : layers) {
      if (!l.is_string()) fail(Errc::bad_input, "{}: bad RootFS.Layers", what());
      s.diff_ids.push_back(Digest::parse(l.get<std::string>(), "diff_id"));
    }
    if (j.contains("RepoTags") && j["RepoTags"].is_array())
      for (const auto& t : j["RepoTags"])
        // Only what docker itself would accept goes on to name an output.
        if (t.is_string() && try_parse_image_reference(t.get<std::string>())) repo_tags_.push_back(t.get<std::string>());
    s.name = reference_;
    summary_ = std::move(s);
  }

  void read_save_stream(const std::set<Digest>& wanted) {
    const std::string path = "/images/" + url_path(reference_) + "/get";
    ProducerStream stream([this, path](const ProducerStream::Sink& sink) { engine_.get_stream(path, sink); });
    SaveStreamContents contents = read_docker_save_stream(
        stream, summary_->image_id, [&](const Digest& d) { return wanted.count(d) > 0; }, wanted.size(), ctx_, what());
    config_ = std::move(contents.config);
    layers_ = std::move(contents.layers);
  }

  const RunContext& ctx_;
  std::string reference_;
  DockerEngine engine_;
  std::optional<ImageSummary> summary_;
  std::vector<std::string> repo_tags_;
  std::optional<std::string> config_;
  std::map<Digest, SavedLayer> layers_;
};

}  // namespace

void register_docker_daemon_input(Registry& registry) {
  registry.add_input("docker-daemon", "docker-daemon:NAME[:TAG]", "an image in the docker daemon (or podman's service)",
                     [](const StageSpec& spec, const RunContext& ctx) -> std::unique_ptr<InputStore> {
                       return std::make_unique<DockerDaemonInput>(spec, ctx);
                     });
}

}  // namespace dd
