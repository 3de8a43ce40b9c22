#include "inputs/registry_input.h"

#include <map>
#include <memory>

#include "clients/registry/registry_client.h"
#include "core/error.h"
#include "inputs/oci_layout_input.h"
#include "stores/image_emitter.h"

namespace dd {
namespace {

std::string manifest_path(const Digest& digest) { return "manifests/" + digest.algorithm() + "/" + digest.hex(); }

// The registry's repository as a FileTree: "manifests/ALG/HEX" and "blobs/ALG/HEX". Manifests
// are fetched once (they are small and checked against their digests); a blob's size comes from
// HEAD, its first bytes from a Range request, and its body streams.
class RegistryTree : public FileTree {
 public:
  RegistryTree(RegistryClient& client, const Limits& limits) : client_(client), limits_(limits) {}

  void hold(const RegistryManifest& manifest) { manifests_[manifest.digest] = manifest.bytes; }

  TreeFile find(std::string_view path) const override {
    const auto [kind, digest] = split(path);
    if (kind == "manifests") {
      auto it = manifests_.find(digest);
      if (it == manifests_.end())
        it = manifests_.emplace(digest, client_.get_manifest(digest.str(), limits_.max_json_bytes).bytes).first;
      return {std::string(path), it->second.size(), 0};
    }
    auto it = sizes_.find(digest);
    if (it == sizes_.end()) it = sizes_.emplace(digest, client_.blob_size(digest)).first;
    if (!it->second) fail(Errc::not_found, "{} has no blob {}", describe(), digest.str());
    return {std::string(path), *it->second, 0};
  }

  std::unique_ptr<ByteStream> open(const TreeFile& file) const override {
    const auto [kind, digest] = split(file.path);
    if (kind == "manifests") return std::make_unique<MemoryStream>(manifests_.at(digest));
    return client_.open_blob(digest, file.size);
  }

  std::string peek(const TreeFile& file, std::size_t n) const override {
    const auto [kind, digest] = split(file.path);
    if (kind == "manifests") return manifests_.at(digest).substr(0, n);
    return file.size == 0 ? std::string() : client_.blob_prefix(digest, std::min<std::uint64_t>(n, file.size));
  }

  std::string describe() const override { return client_.describe() + " repository " + client_.reference().repository; }

 private:
  std::pair<std::string, Digest> split(std::string_view path) const {
    const auto first = path.find('/');
    const auto second = first == std::string_view::npos ? first : path.find('/', first + 1);
    if (second == std::string_view::npos) fail(Errc::internal, "registry path '{}' is not KIND/ALG/HEX", path);
    const std::string kind(path.substr(0, first));
    const Digest digest = Digest::parse(std::string(path.substr(first + 1, second - first - 1)) + ":" +
                                        std::string(path.substr(second + 1)), "blob digest");
    return {kind, digest};
  }

  RegistryClient& client_;
  const Limits& limits_;
  mutable std::map<Digest, std::string> manifests_;
  mutable std::map<Digest, std::optional<std::uint64_t>> sizes_;
};

class RegistryInput : public InputStore {
 public:
  RegistryInput(RegistryReference ref, const RunContext& ctx)
      : client_(std::move(ref), ctx.registry, false), ctx_(ctx) {}

  void run(Stage& first) override {
    const RegistryReference& ref = client_.reference();
    const RegistryManifest top = client_.get_manifest(ref.reference(), ctx_.limits.max_json_bytes);
    RegistryTree tree(client_, ctx_.limits);
    tree.hold(top);
    IndexEntry entry;
    entry.manifest.media_type = top.media_type;
    entry.manifest.digest = top.digest;
    entry.manifest.size = top.bytes.size();
    // The name the image is tagged with where it lands: "host/repo:tag", as docker pull names it.
    if (!ref.tag.empty()) entry.manifest.annotations[kContainerdNameAnnotation] = ref.host + "/" + ref.repository + ":" + ref.tag;
    const LayoutNaming naming{manifest_path, blob_path};
    emit_indexed_image(tree, {entry}, "", naming, first, ctx_);
  }

 private:
  RegistryClient client_;
  const RunContext& ctx_;
};

}  // namespace

void register_registry_input(Registry& registry) {
  registry.add_input("docker", "docker://HOST[:PORT]/REPO[:TAG|@DIGEST]", "an image in a registry (distribution API)",
                     [](const StageSpec& spec, const RunContext& ctx) -> std::unique_ptr<InputStore> {
                       check_options(spec, {});
                       return std::make_unique<RegistryInput>(parse_registry_reference(spec.argument), ctx);
                     });
}

}  // namespace dd
