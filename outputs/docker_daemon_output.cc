#include "outputs/docker_daemon_output.h"

#include <filesystem>

#include "inputs/docker_daemon_input.h"
#include "outputs/atomic_destination.h"
#include "pipeline/builtin_stages.h"
#include "pipeline/docker_engine.h"
#include "pipeline/error.h"
#include "pipeline/interruption.h"
#include "pipeline/log.h"
#include "pipeline/temp_file.h"

namespace dd {
namespace {

// "host:5000/repo:tag" -> {"host:5000/repo", "tag"}; no tag means "latest".
std::pair<std::string, std::string> split_tag(const std::string& name) {
  const auto slash = name.rfind('/');
  const auto colon = name.rfind(':');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash))
    return {name.substr(0, colon), name.substr(colon + 1)};
  return {name, "latest"};
}

class DockerDaemonOutput : public OutputStore {
 public:
  DockerDaemonOutput(const StageSpec& spec, const RunContext& ctx)
      : ctx_(ctx), name_(spec.argument), engine_(DockerEngine::resolve_host(ctx.docker_host)) {
    check_options(spec, {});
    if (!name_.empty()) {
      check_daemon_reference(name_);
      if (name_.find('@') != std::string::npos) fail(Errc::usage, "docker-daemon output needs NAME[:TAG], not a digest");
    }
    // The tar is written beside the other temporaries, then streamed into the daemon.
    scratch_ = std::make_unique<ScratchDirectory>(temp_directory(ctx) + "/docker_delta-load-");
    tar_path_ = scratch_->path() + "/image.tar";
    StageSpec inner{"docker-archive", tar_path_, {{"untagged", "1"}}};
    archive_ = builtin_registry().make_output(inner, ctx);
  }

  bool fetch_callback(const Digest& d) override { return archive_->fetch_callback(d); }
  void process_image_element(ElementType type, const std::string& name, ElementData& data) override {
    if (type == ElementType::manifest && name_.empty() && !data.manifest->repo_tags.empty())
      name_ = data.manifest->repo_tags.front();
    archive_->process_image_element(type, name, data);
  }

  void finalize() override {
    if (name_.empty()) fail(Errc::usage, "the image has no name to tag it with: give docker-daemon:NAME[:TAG]");
    archive_->finalize();
    const std::string image_id = archive_->result().value("image_id", "");
    auto fd = std::make_shared<UniqueFd>(open_for_reading(tar_path_));
    const auto size = std::filesystem::file_size(tar_path_);
    log::verbose("loading {} into the docker daemon at {}", human_bytes(size), engine_.host());
    const std::string answer = engine_.post_stream("/images/load?quiet=1", "application/x-tar", [&](const auto& sink) {
      FileRangeStream bytes(fd, 0, size, tar_path_);
      copy_stream(bytes, sink);
    });
    check_load_answer(answer);
    auto [repo, tag] = split_tag(name_);
    engine_.post("/images/" + image_id + "/tag?repo=" + url_encode(repo) + "&tag=" + url_encode(tag));
    const auto inspect = engine_.get_json("/images/" + repo + ":" + tag + "/json");
    if (inspect.value("Id", "") != image_id)
      fail(Errc::integrity, "docker daemon: {}:{} is {}, not the image just loaded ({})", repo, tag,
           inspect.value("Id", "?"), image_id);
    scratch_->remove();
    result_ = archive_->result();
    result_["destination"] = "docker-daemon:" + repo + ":" + tag;
    result_["repo_tags"] = {repo + ":" + tag};
  }

  nlohmann::json result() const override { return result_; }

 private:
  // The load answer is a stream of JSON lines; one with "error" means the daemon refused.
  static void check_load_answer(const std::string& answer) {
    std::size_t start = 0;
    while (start < answer.size()) {
      auto end = answer.find('\n', start);
      if (end == std::string::npos) end = answer.size();
      try {
        const auto j = nlohmann::json::parse(answer.substr(start, end - start));
        if (j.is_object() && j.contains("error"))
          fail(Errc::bad_input, "docker daemon refused the load: {}", j["error"].is_string() ? j["error"].get<std::string>() : j["error"].dump());
      } catch (const nlohmann::json::exception&) {
      }
      start = end + 1;
    }
  }

  const RunContext& ctx_;
  std::string name_;
  DockerEngine engine_;
  std::unique_ptr<ScratchDirectory> scratch_;
  std::string tar_path_;
  std::unique_ptr<OutputStore> archive_;
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
