#include "outputs/docker_daemon_output.h"

#include <memory>
#include <set>

#include "clients/docker/daemon_layer_chains.h"
#include "clients/docker/docker_engine.h"
#include "core/consumer_sink.h"
#include "core/error.h"
#include "core/log.h"
#include "core/printable.h"
#include "core/temp_file.h"
#include "formats/image/image_reference.h"
#include "formats/image/manifest_parser.h"
#include "pipeline/runner.h"
#include "stores/atomic_destination.h"
#include "stores/docker_archive_writer.h"

namespace dd {
namespace {

// Which layers the load carries: every one, or only those the daemon lacks ("missing"), or that
// where the daemon is known to accept it ("auto").
enum class LoadLayers { all, missing, auto_ };

LoadLayers parse_load_layers(const StageSpec& spec) {
  const auto it = spec.options.find("load-layers");
  if (it == spec.options.end() || it->second == "auto") return LoadLayers::auto_;
  if (it->second == "all") return LoadLayers::all;
  if (it->second == "missing") return LoadLayers::missing;
  fail(Errc::usage, "--load-layers takes auto, all or missing, not '{}'", it->second);
}

// The load answer is a stream of JSON lines; one with "error" means the daemon refused.
std::string load_error(const std::string& answer) {
  std::size_t start = 0;
  while (start < answer.size()) {
    auto end = answer.find('\n', start);
    if (end == std::string::npos) end = answer.size();
    try {
      const auto j = parse_json_limited(std::string_view(answer).substr(start, end - start), Limits{}, "the daemon's load answer");
      if (j.is_object() && j.contains("error"))
        return printable(one_line_message(j["error"].is_string() ? j["error"].get<std::string>()
                                                                  : j["error"].dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
    } catch (const Error&) {
    }
    start = end + 1;
  }
  return {};
}

class DockerDaemonOutput : public OutputStore {
 public:
  DockerDaemonOutput(const StageSpec& spec, const RunContext& ctx)
      : spec_(spec), ctx_(ctx), name_(spec.argument), load_layers_(parse_load_layers(spec)),
        engine_(DockerEngine::resolve_host(ctx.docker_host), ctx.limits) {
    check_options(spec, {"load-layers"});
    if (!name_.empty()) {
      std::string why;
      const auto ref = try_parse_image_reference(name_, &why);
      if (!ref) fail(Errc::usage, "'{}' is not an image name (NAME[:TAG]): {}", printable(name_.substr(0, 300)), why);
      if (!ref->digest.empty()) fail(Errc::usage, "docker-daemon output needs NAME[:TAG], not a digest");
    }
    // For compressed layers, decompressed one at a time to learn their size for the tar.
    staging_ = std::make_unique<ScratchDirectory>(temp_directory(ctx.temp_dir) + "/docker_delta-load-");
  }

  // Layers the daemon holds are not wanted: upstream need not even make them.
  bool fetch_callback(const Digest& d, BlobKind kind) override {
    if (kind == BlobKind::manifest) return true;
    decided_ = true;  // the answer must not change, so what is left out is fixed from here on
    return left_out_.count(d) == 0;
  }

  void process_image_element(ElementType type, const std::string&, ElementData& data) override {
    switch (type) {
      case ElementType::index: break;
      case ElementType::manifest:
        // The image's own name comes from its source (a package, an archive): it must be a
        // tag docker would accept before it names anything here.
        if (name_.empty() && !data.manifest().repo_tags.empty()) {
          const auto ref = parse_image_reference(data.manifest().repo_tags.front(), "the image's tag");
          if (!ref.digest.empty()) fail(Errc::bad_input, "the image's tag '{}' is a digest, not NAME:TAG", printable(ref.familiar()));
          name_ = ref.familiar();
        }
        break;
      case ElementType::config:
        if (!decided_) decide_left_out(parse_config(data.config(), ctx_.limits).diff_ids);
        start_load().add_config(data.config());
        break;
      case ElementType::layer: start_load().add_layer(data.layer(), data.body()); break;
    }
  }

  void finalize() override {
    start_load().finish({});  // untagged: the tag is set once the load is confirmed
    std::string refusal;
    try {
      upload_->close();
      refusal = load_error(*answer_);
    } catch (const Error& e) {
      if (writer_->layers_left_out() == 0) throw;
      refusal = e.what();
    }
    if (!refusal.empty()) {
      if (writer_->layers_left_out() == 0) fail(Errc::bad_input, "docker daemon refused the load: {}", refusal);
      StageSpec full = spec_;
      full.options["load-layers"] = "all";
      throw RunAgainWith(fmt::format("docker daemon refused a load without the {} layer(s) it holds ({}): sending "
                                     "every layer",
                                     writer_->layers_left_out(), refusal),
                         full);
    }
    tag_and_check();
    staging_->remove();
  }

  nlohmann::json result() const override { return result_; }

 private:
  // The daemon's longest chain prefix is left out of the load, except a diff_id that appears
  // again further up (that position needs the file).
  void decide_left_out(const std::vector<Digest>& diff_ids) {
    decided_ = true;
    if (load_layers_ == LoadLayers::all) return;
    if (load_layers_ == LoadLayers::auto_ && !daemon_loads_archives_without_held_layers(engine_)) return;
    const std::size_t held = daemon_held_prefix(engine_, diff_ids);
    for (std::size_t i = 0; i < held; ++i) left_out_.insert(diff_ids[i]);
    for (std::size_t i = held; i < diff_ids.size(); ++i) left_out_.erase(diff_ids[i]);
    if (held > 0) log::verbose("the docker daemon holds the first {} of {} layers: they are not sent", held, diff_ids.size());
  }

  // The tar streams into POST /images/load on another thread as it is written: no temporary
  // copy of the image, and the daemon unpacks while the pipeline still produces.
  DockerArchiveWriter& start_load() {
    if (writer_) return *writer_;
    decided_ = true;  // a layer before the config: nothing is left out
    if (name_.empty()) fail(Errc::usage, "the image has no name to tag it with: give docker-daemon:NAME[:TAG]");
    answer_ = std::make_shared<std::string>();
    upload_ = std::make_unique<ConsumerSink>([engine = engine_, answer = answer_](ByteStream& tar) mutable {
      *answer = engine.post_stream("/images/load?quiet=1", "application/x-tar",
                                   [&](const DockerEngine::Sink& sink) { copy_stream(tar, sink); });
    });
    tar_ = std::make_unique<TarWriter>("docker daemon load at " + engine_.host(),
                                       [this](const char* p, std::size_t n) { upload_->write(p, n); });
    writer_ = std::make_unique<DockerArchiveWriter>(*tar_, staging_->path(), "docker-daemon:" + name_);
    writer_->leave_out(left_out_);
    log::verbose("loading into the docker daemon at {}", engine_.host());
    return *writer_;
  }

  void tag_and_check() {
    const std::string image_id = writer_->image_id().str();
    const ImageReference ref = parse_image_reference(name_, "the image name");
    const std::string repo = ref.familiar_name(), tag = ref.tag_or_latest();
    engine_.post("/images/" + url_path(image_id) + "/tag?repo=" + url_encode(repo) + "&tag=" + url_encode(tag));
    const auto inspect = engine_.get_json("/images/" + url_path(repo + ":" + tag) + "/json");
    const std::string id = inspect.is_object() && inspect.contains("Id") && inspect["Id"].is_string() ? inspect["Id"].get<std::string>() : "?";
    if (id != image_id)
      fail(Errc::integrity, "docker daemon: {}:{} is {}, not the image just loaded ({})", repo, tag, printable(id), image_id);
    result_ = {{"destination", "docker-daemon:" + repo + ":" + tag},
               {"image_id", image_id},
               {"repo_tags", {repo + ":" + tag}},
               {"layers", writer_->layer_count()},
               {"layers_left_out", writer_->layers_left_out()},
               {"bytes", writer_->bytes()}};
  }

  StageSpec spec_;
  const RunContext& ctx_;
  std::string name_;
  LoadLayers load_layers_;
  DockerEngine engine_;
  std::unique_ptr<ScratchDirectory> staging_;
  bool decided_ = false;
  std::set<Digest> left_out_;
  // Declared in this order so they are destroyed writer first, upload last: an unfinished load
  // is abandoned (the daemon sees the body break off and loads nothing).
  std::shared_ptr<std::string> answer_;
  std::unique_ptr<ConsumerSink> upload_;
  std::unique_ptr<TarWriter> tar_;
  std::unique_ptr<DockerArchiveWriter> writer_;
  nlohmann::json result_;
};

}  // namespace

void register_docker_daemon_output(Registry& registry) {
  registry.add_output("docker-daemon", "docker-daemon:[NAME[:TAG]]", "load into the docker daemon and tag",
                      [](const StageSpec& spec, const RunContext& ctx) -> std::unique_ptr<OutputStore> {
                        return std::make_unique<DockerDaemonOutput>(spec, ctx);
                      });
}

}  // namespace dd
