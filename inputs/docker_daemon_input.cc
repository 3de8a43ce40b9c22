#include "inputs/docker_daemon_input.h"

#include <archive.h>
#include <archive_entry.h>

#include <exception>
#include <map>
#include <set>

#include "formats/image_reference.h"
#include "formats/manifest_parser.h"
#include "formats/plain_tar_reader.h"
#include "pipeline/docker_engine.h"
#include "pipeline/error.h"
#include "pipeline/log.h"
#include "pipeline/printable.h"
#include "pipeline/producer_stream.h"
#include "pipeline/temp_file.h"
#include "pipeline/checked_file_layer_body.h"

namespace dd {

void check_daemon_reference(const std::string& reference) {
  std::string why;
  if (!is_image_id(reference) && !try_parse_image_reference(reference, &why))
    fail(Errc::usage, "'{}' is not a docker image reference (NAME[:TAG], NAME@sha256:... or an image ID): {}",
         printable(reference.substr(0, 300)), why);
}

namespace {

// libarchive pulls the save stream from the thread that receives it.
struct StreamReader {
  explicit StreamReader(ByteStream& stream) : in(stream) {}
  ByteStream& in;
  std::vector<char> block = std::vector<char>(1 << 20);
  std::exception_ptr error;
  static la_ssize_t read(archive*, void* self, const void** out) {
    auto* r = static_cast<StreamReader*>(self);
    try {
      *out = r->block.data();
      return static_cast<la_ssize_t>(r->in.read(r->block.data(), r->block.size()));
    } catch (...) {
      r->error = std::current_exception();
      return -1;
    }
  }
};

struct SpooledBlob {
  std::shared_ptr<UniqueFd> file;
  std::uint64_t size = 0;
};

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
    ElementData m;
    m.manifest = &manifest;
    first.process_image_element(ElementType::manifest, "manifest", m);
    ElementData c;
    c.config = &*config_;
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
      ElementData data;
      data.layer = &info;
      if (!wanted.count(info.diff_id)) {
        first.process_image_element(ElementType::layer, info.diff_id.str(), data);
        continue;
      }
      auto it = layers_.find(info.diff_id);
      if (it == layers_.end()) fail(Errc::bad_input, "{}: the daemon's save stream lacks layer {}", what(), info.diff_id.str());
      // Hashed as it arrived (that is how it was recognised): not hashed again.
      CheckedFileLayerBody body(it->second.file, 0, it->second.size, what());
      data.body = &body;
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
    StreamReader reader(stream);
    PlainTarReader tar;
    archive* a = tar.a;
    if (archive_read_open(a, &reader, nullptr, &StreamReader::read, nullptr) != ARCHIVE_OK) rethrow_or_fail(reader, a);
    const std::string config_hex = summary_->image_id.hex();
    std::size_t members = 0;
    for (;;) {
      archive_entry* e = nullptr;
      const int rc = archive_read_next_header(a, &e);
      if (rc == ARCHIVE_EOF) break;
      if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) rethrow_or_fail(reader, a);
      if (++members > ctx_.limits.max_archive_members) fail(Errc::limit, "{}: too many members in the save stream", what());
      const std::string name = archive_entry_pathname(e) ? archive_entry_pathname(e) : "";
      if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e) != nullptr) continue;
      const std::string base = name.substr(name.rfind('/') + 1);
      const bool blob = name.rfind("blobs/sha256/", 0) == 0;  // Docker 25+: named by digest
      if (name == config_hex + ".json" || (blob && base == config_hex)) {
        config_ = read_small(a, reader, name);
        if (Digest::sha256_of(*config_) != summary_->image_id)
          fail(Errc::integrity, "{}: the config the daemon sent does not match the image ID", what());
      } else if (blob) {
        const Digest d = Digest::parse("sha256:" + base, "blob name");
        if (wanted.count(d) && !layers_.count(d)) spool(a, reader, wanted);
      } else if (name == base && name.size() == 68 && name.ends_with(".tar")) {
        // Podman names each layer file by its diff_id; spool() checks the bytes against it.
        const Digest d = Digest::parse("sha256:" + name.substr(0, 64), "layer file name");
        if (wanted.count(d) && !layers_.count(d)) spool(a, reader, wanted);
      } else if (base == "layer.tar") {
        // Docker <= 24 names layer directories by legacy IDs: only the digest tells which layer
        // it is, so each is spooled and hashed, and dropped if not wanted (one at a time). Once
        // every wanted layer is in (at once, when none is: inspect), the rest is skipped unread.
        if (layers_.size() < wanted.size()) spool(a, reader, wanted);
      }
    }
  }

  std::string read_small(archive* a, StreamReader& reader, const std::string& name) {
    std::string out;
    char buffer[65536];
    for (;;) {
      const la_ssize_t n = archive_read_data(a, buffer, sizeof buffer);
      if (n < 0) rethrow_or_fail(reader, a);
      if (n == 0) break;
      out.append(buffer, static_cast<std::size_t>(n));
      if (out.size() > ctx_.limits.max_json_bytes) fail(Errc::limit, "{}: {} is too large", what(), name);
    }
    return out;
  }

  void spool(archive* a, StreamReader& reader, const std::set<Digest>& wanted) {
    auto fd = std::make_shared<UniqueFd>(make_unlinked_temp_file(ctx_));
    Hasher h;
    std::vector<char> buffer(1 << 20);
    std::uint64_t size = 0;
    for (;;) {
      const la_ssize_t n = archive_read_data(a, buffer.data(), buffer.size());
      if (n < 0) rethrow_or_fail(reader, a);
      if (n == 0) break;
      h.update(buffer.data(), static_cast<std::size_t>(n));
      write_all(fd->get(), buffer.data(), static_cast<std::size_t>(n), "temporary layer file");
      size += static_cast<std::uint64_t>(n);
    }
    const Digest d = h.finish();
    if (!wanted.count(d) || layers_.count(d)) return;  // another layer, or one not wanted
    log::verbose("{}: received layer {} ({} bytes)", what(), d.short_str(), size);
    layers_.emplace(d, SpooledBlob{fd, size});
  }

  [[noreturn]] void rethrow_or_fail(StreamReader& reader, archive* a) {
    if (reader.error) std::rethrow_exception(reader.error);
    fail(Errc::bad_input, "{}: the daemon's save stream is damaged: {}", what(), archive_error_string(a));
  }

  const RunContext& ctx_;
  std::string reference_;
  DockerEngine engine_;
  std::optional<ImageSummary> summary_;
  std::vector<std::string> repo_tags_;
  std::optional<std::string> config_;
  std::map<Digest, SpooledBlob> layers_;
};

}  // namespace

void register_docker_daemon_input(Registry& registry) {
  registry.add_input("docker-daemon", "docker-daemon:NAME[:TAG]", "an image in the docker daemon (or podman's service)",
                     [](const StageSpec& spec, const RunContext& ctx) -> std::unique_ptr<InputStore> {
                       return std::make_unique<DockerDaemonInput>(spec, ctx);
                     });
}

}  // namespace dd
