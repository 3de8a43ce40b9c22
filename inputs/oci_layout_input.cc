#include "inputs/oci_layout_input.h"

#include <set>

#include "formats/dir_tree.h"
#include "formats/manifest_parser.h"
#include "formats/tar_tree.h"
#include "inputs/image_emitter.h"
#include "pipeline/error.h"

namespace dd {
namespace {

std::string ref_name(const Descriptor& d) {
  for (const char* key : {kRefNameAnnotation, kContainerdNameAnnotation}) {
    auto it = d.annotations.find(key);
    if (it != d.annotations.end()) return it->second;
  }
  return "";
}

bool ref_matches(const Descriptor& d, const std::string& ref) {
  for (const char* key : {kRefNameAnnotation, kContainerdNameAnnotation}) {
    auto it = d.annotations.find(key);
    if (it == d.annotations.end()) continue;
    const std::string& name = it->second;
    // "v1" also finds "localhost/app:v1", as skopeo's short references do.
    if (name == ref || (name.size() > ref.size() && name.ends_with(ref) && name[name.size() - ref.size() - 1] == ':'))
      return true;
  }
  return false;
}

class BlobReader {
 public:
  BlobReader(const FileTree& tree, const Limits& limits) : tree_(tree), limits_(limits) {}

  // Reads a small JSON blob named by its descriptor, checking its size and digest. Everything
  // read for one image draws on one budget, so an index cannot make us read without end.
  std::string read(const Descriptor& d, const std::string& what) {
    const TreeFile file = tree_.find(blob_path(d.digest));
    if (d.size && *d.size != file.size)
      fail(Errc::integrity, "{} {} has {} bytes, {} declared", what, d.digest.short_str(), file.size, *d.size);
    read_so_far_ += file.size;
    if (read_so_far_ > limits_.max_metadata_bytes)
      fail(Errc::limit, "the image index and its manifests exceed {} bytes in all", limits_.max_metadata_bytes);
    auto raw = tree_.open(file);
    VerifyingStream verified(*raw, d.digest, file.size, what + " " + d.digest.short_str());
    return read_capped(verified, limits_.max_json_bytes, what);
  }

 private:
  const FileTree& tree_;
  const Limits& limits_;
  std::uint64_t read_so_far_ = 0;
};

struct Leaf {
  IndexEntry entry;
  std::string ref;  // ref name from the top-level index entry
};

// Depth-first, in index order; nested indexes are read and replaced by their entries. Only
// descriptors are kept: the chosen manifest is read again once the pipeline has chosen it.
void flatten(BlobReader& blobs, const std::vector<IndexEntry>& entries, const std::string& ref, int depth,
             const Limits& limits, std::vector<Leaf>& out, std::set<Digest>& seen) {
  if (depth > 4) fail(Errc::limit, "image indexes are nested more than 4 levels deep");
  for (const auto& e : entries) {
    if (!seen.insert(e.manifest.digest).second) continue;  // listed twice: once is enough
    if (seen.size() > limits.max_index_entries)
      fail(Errc::limit, "the image index has too many entries, nested ones included (limit {})", limits.max_index_entries);
    const std::string raw = blobs.read(e.manifest, "manifest");
    const auto kind = detect_manifest_kind(parse_json_limited(raw, limits, "manifest"), "manifest " + e.manifest.digest.short_str());
    const std::string entry_ref = ref.empty() ? ref_name(e.manifest) : ref;
    if (kind == ManifestKind::oci_index || kind == ManifestKind::docker_manifest_list) {
      flatten(blobs, parse_index(raw, limits, "image index " + e.manifest.digest.short_str()), entry_ref, depth + 1,
              limits, out, seen);
    } else {
      out.push_back(Leaf{e, entry_ref});
    }
  }
}

}  // namespace

OciLayoutInput::OciLayoutInput(std::unique_ptr<FileTree> tree, std::string ref, const RunContext& ctx)
    : tree_(std::move(tree)), ref_(std::move(ref)), ctx_(ctx) {}

void OciLayoutInput::run(Stage& first) {
  const std::string where = tree_->describe();
  if (!tree_->contains("oci-layout")) {
    if (tree_->contains("manifest.json"))
      fail(Errc::bad_input, "{} is a docker archive, not an OCI layout (use docker-archive:PATH)", where);
    fail(Errc::bad_input, "{} is not an OCI image layout: it has no oci-layout file", where);
  }
  if (!tree_->contains("index.json")) fail(Errc::bad_input, "{} has no index.json", where);
  auto stream = tree_->open(tree_->find("index.json"));
  const std::string raw_index = read_capped(*stream, ctx_.limits.max_json_bytes, "index.json");
  std::vector<IndexEntry> top = parse_index(raw_index, ctx_.limits, "index.json");

  if (!ref_.empty()) {
    std::vector<IndexEntry> chosen;
    std::string known;
    for (const auto& e : top) {
      if (ref_matches(e.manifest, ref_)) chosen.push_back(e);
      if (!ref_name(e.manifest).empty()) known += (known.empty() ? "" : ", ") + ref_name(e.manifest);
    }
    if (chosen.empty())
      fail(Errc::not_found, "{} has no image named '{}'{}", where, ref_, known.empty() ? "" : " (it has: " + known + ")");
    std::set<std::string> matched;
    for (const auto& e : chosen) matched.insert(ref_name(e.manifest));
    if (matched.size() > 1) {
      std::string names;
      for (const auto& n : matched) names += (names.empty() ? "" : ", ") + n;
      fail(Errc::usage, "'{}' names more than one image in {} ({}): give the full name", ref_, where, names);
    }
    top = std::move(chosen);
  } else {
    std::set<std::string> names;
    for (const auto& e : top)
      if (!ref_name(e.manifest).empty()) names.insert(ref_name(e.manifest));
    if (names.size() > 1) {
      std::string known;
      for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
      fail(Errc::usage, "{} holds several images ({}): name one as oci:DIR:REF", where, known);
    }
  }
  if (top.empty()) fail(Errc::bad_input, "{}: index.json lists no images", where);

  BlobReader blobs(*tree_, ctx_.limits);
  std::vector<Leaf> leaves;
  std::set<Digest> seen;
  flatten(blobs, top, ref_, 0, ctx_.limits, leaves, seen);

  IndexInfo index;
  for (const auto& leaf : leaves) index.entries.push_back(leaf.entry);
  ElementData idx;
  idx.index = &index;
  first.process_image_element(ElementType::index, "index.json", idx);

  for (auto& leaf : leaves) {
    if (!first.fetch_callback(leaf.entry.manifest.digest)) continue;
    ImageLocation image;
    const std::string what = "manifest " + leaf.entry.manifest.digest.short_str();
    image.manifest = parse_image_manifest(blobs.read(leaf.entry.manifest, "manifest"), ctx_.limits, what);
    if (!leaf.ref.empty()) image.manifest.repo_tags.push_back(leaf.ref);
    image.config_path = blob_path(image.manifest.config.digest);
    for (const auto& layer : image.manifest.layers) image.layer_paths.push_back(blob_path(layer.digest));
    emit_image(*tree_, std::move(image), first, ctx_);
    return;  // one image per run
  }
  fail(Errc::not_found, "{}: no image in the index was wanted", where);
}

void register_oci_layout_inputs(Registry& registry) {
  registry.add_input("oci", "oci:DIR[:REF]", "an OCI image layout directory",
                     [](const StageSpec& spec, const RunContext& ctx) -> std::unique_ptr<InputStore> {
                       check_options(spec, {});
                       auto [path, ref] = split_path_and_ref(spec.argument);
                       if (path.empty()) fail(Errc::usage, "oci needs a directory: oci:DIR[:REF]");
                       return std::make_unique<OciLayoutInput>(std::make_unique<DirTree>(path), ref, ctx);
                     });
  registry.add_input("oci-archive", "oci-archive:PATH[:REF]", "an OCI image layout in a tar (gzip/zstd compressed too)",
                     [](const StageSpec& spec, const RunContext& ctx) -> std::unique_ptr<InputStore> {
                       check_options(spec, {});
                       auto [path, ref] = split_path_and_ref(spec.argument);
                       if (path.empty()) fail(Errc::usage, "oci-archive needs a path: oci-archive:PATH[:REF]");
                       return std::make_unique<OciLayoutInput>(TarTree::open_archive(path, ctx), ref, ctx);
                     });
}

}  // namespace dd
