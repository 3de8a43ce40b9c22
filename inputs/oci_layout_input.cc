#include "inputs/oci_layout_input.h"

#include <algorithm>
#include <map>
#include <set>

#include "core/error.h"
#include "core/log.h"
#include "core/printable.h"
#include "formats/archive/dir_tree.h"
#include "formats/archive/tar_tree.h"
#include "formats/image/manifest_parser.h"
#include "stores/image_emitter.h"

namespace dd {
namespace {

std::string ref_name(const Descriptor& d) {
  for (const char* key : {kRefNameAnnotation, kContainerdNameAnnotation}) {
    auto it = d.annotations.find(key);
    if (it != d.annotations.end()) return it->second;
  }
  return "";
}

// The name an image is tagged with: containerd's full name ("docker.io/library/app:v1") where
// it gave one, else the OCI ref name ("v1").
std::string tag_name(const Descriptor& d) {
  auto it = d.annotations.find(kContainerdNameAnnotation);
  return it != d.annotations.end() ? it->second : ref_name(d);
}

bool ref_matches(const Descriptor& d, const std::string& ref) {
  for (const char* key : {kRefNameAnnotation, kContainerdNameAnnotation}) {
    auto it = d.annotations.find(key);
    if (it == d.annotations.end()) continue;
    const std::string& name = it->second;
    // "v1" also finds "localhost/app:v1", as skopeo's short references do, and "app:v1" finds
    // "docker.io/library/app:v1" (containerd's full names).
    if (name == ref) return true;
    if (name.size() > ref.size() && name.ends_with(ref)) {
      const char before = name[name.size() - ref.size() - 1];
      if (before == ':' || (before == '/' && ref.find(':') != std::string::npos)) return true;
    }
  }
  return false;
}

bool is_index_media_type(std::string_view media) {
  return media == media_type::kOciIndex || media == media_type::kDockerManifestList;
}

std::string join(const std::set<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + printable(n);
  return out;
}

class BlobReader {
 public:
  BlobReader(const FileTree& tree, const LayoutNaming& naming, const Limits& limits)
      : tree_(tree), naming_(naming), limits_(limits) {}

  bool has_manifest(const Descriptor& d) const { return tree_.contains(naming_.manifest_path(d.digest)); }

  // Reads a manifest or index named by its descriptor, checking its size and digest. Everything
  // read for one image draws on one budget, so an index cannot make us read without end.
  std::string read_manifest(const Descriptor& d, const std::string& what) {
    const TreeFile file = tree_.find(naming_.manifest_path(d.digest));
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
  const LayoutNaming& naming_;
  const Limits& limits_;
  std::uint64_t read_so_far_ = 0;
};

struct Leaf {
  IndexEntry entry;
  std::string tag;      // tag_name of the top-level index entry
  bool absent = false;  // listed, but the layout does not hold the manifest (a partial export)
};

// Depth-first, in index order; nested indexes are read and replaced by their entries. Only
// descriptors are kept: the chosen manifest is read again once the pipeline has chosen it. A
// manifest the layout does not hold is kept as an absent leaf: `ctr images export --platform`
// lists every platform but holds one, and only the chosen image needs to be there.
void flatten(BlobReader& blobs, const std::vector<IndexEntry>& entries, const std::string& tag, int depth,
             const Limits& limits, std::vector<Leaf>& out, std::set<Digest>& seen) {
  if (depth > 4) fail(Errc::limit, "image indexes are nested more than 4 levels deep");
  for (const auto& e : entries) {
    if (!seen.insert(e.manifest.digest).second) continue;  // listed twice: once is enough
    if (seen.size() > limits.max_index_entries)
      fail(Errc::limit, "the image index has too many entries, nested ones included (limit {})", limits.max_index_entries);
    const std::string entry_tag = depth == 0 ? tag_name(e.manifest) : tag;
    if (!blobs.has_manifest(e.manifest)) {
      log::verbose("{} {} is listed but absent", is_index_media_type(e.manifest.media_type) ? "index" : "manifest",
                   e.manifest.digest.short_str());
      out.push_back(Leaf{e, entry_tag, true});
      continue;
    }
    const std::string raw = blobs.read_manifest(e.manifest, "manifest");
    const auto kind = detect_manifest_kind(parse_json_limited(raw, limits, "manifest"), "manifest " + e.manifest.digest.short_str());
    if (kind == ManifestKind::oci_index || kind == ManifestKind::docker_manifest_list) {
      flatten(blobs, parse_index(raw, limits, "image index " + e.manifest.digest.short_str()), entry_tag, depth + 1,
              limits, out, seen);
    } else {
      out.push_back(Leaf{e, entry_tag, false});
    }
  }
}

// Several entries under one name with no platform to tell them apart are not a multi-platform
// index but a name given twice (a layout written by hand, or by tools that append). skopeo takes
// the first in index order; so do we, and say so.
std::vector<IndexEntry> first_of_each_name(std::vector<IndexEntry> entries, const std::string& where) {
  std::map<std::string, std::vector<Digest>> unplaced;  // name -> digests of its entries without a platform
  std::vector<IndexEntry> kept;
  for (auto& e : entries) {
    const std::string name = ref_name(e.manifest);
    if (name.empty() || e.platform) {
      kept.push_back(std::move(e));
      continue;
    }
    auto& digests = unplaced[name];
    if (digests.empty()) kept.push_back(e);
    if (std::find(digests.begin(), digests.end(), e.manifest.digest) == digests.end()) digests.push_back(e.manifest.digest);
  }
  for (const auto& [name, digests] : unplaced) {
    if (digests.size() < 2) continue;
    std::string others;
    for (std::size_t i = 1; i < digests.size(); ++i) others += (i > 1 ? ", " : "") + digests[i].short_str();
    log::info("warning: {} names {} images '{}'; using the first in index.json ({}), as skopeo does, not {}", where,
              digests.size(), printable(name), digests[0].short_str(), others);
  }
  return kept;
}

std::string platform_or_digest(const IndexEntry& e) {
  return e.platform ? e.platform->str() : "image " + e.manifest.digest.short_str();
}

}  // namespace

void emit_indexed_image(const FileTree& tree, std::vector<IndexEntry> top, const std::string& ref,
                        const LayoutNaming& naming, Stage& first, const RunContext& ctx) {
  const std::string where = tree.describe();
  if (!ref.empty()) {
    std::vector<IndexEntry> chosen;
    std::set<std::string> known;
    for (const auto& e : top) {
      if (ref_matches(e.manifest, ref)) chosen.push_back(e);
      if (!ref_name(e.manifest).empty()) known.insert(ref_name(e.manifest));
    }
    if (chosen.empty())
      fail(Errc::not_found, "{} has no image named '{}'{}", where, printable(ref),
           known.empty() ? "" : " (it has: " + join(known) + ")");
    std::set<std::string> matched;
    for (const auto& e : chosen) matched.insert(ref_name(e.manifest));
    if (matched.size() > 1)
      fail(Errc::usage, "'{}' names more than one image in {} ({}): give the full name", printable(ref), where, join(matched));
    top = std::move(chosen);
  } else {
    std::set<std::string> names;
    for (const auto& e : top)
      if (!ref_name(e.manifest).empty()) names.insert(ref_name(e.manifest));
    if (names.size() > 1) fail(Errc::usage, "{} holds several images ({}): name one as oci:DIR:REF", where, join(names));
  }
  if (top.empty()) fail(Errc::bad_input, "{}: the index lists no images", where);
  top = first_of_each_name(std::move(top), where);

  BlobReader blobs(tree, naming, ctx.limits);
  std::vector<Leaf> leaves;
  std::set<Digest> seen;
  flatten(blobs, top, "", 0, ctx.limits, leaves, seen);

  // Only what the layout holds is offered: with no --platform, a partial export gives its one
  // image, as skopeo does. What is listed but absent is named when nothing fits.
  IndexInfo index;
  std::set<std::string> absent;
  for (const auto& leaf : leaves) {
    if (leaf.absent) absent.insert(platform_or_digest(leaf.entry));
    else index.entries.push_back(leaf.entry);
  }
  ElementData idx = ElementData::of_index(index);
  try {
    first.process_image_element(ElementType::index, "index.json", idx);
  } catch (const Error& e) {
    if (e.code() != Errc::not_found || absent.empty()) throw;
    throw Error(e.code(), fmt::format("{}; the index also lists {}, whose manifests {} does not hold (a partial export?)",
                                      e.what(), join(absent), where));
  }

  for (auto& leaf : leaves) {
    if (leaf.absent || !first.fetch_callback(leaf.entry.manifest.digest, BlobKind::manifest)) continue;
    ImageLocation image;
    const std::string what = "manifest " + leaf.entry.manifest.digest.short_str();
    image.manifest = parse_image_manifest(blobs.read_manifest(leaf.entry.manifest, "manifest"), ctx.limits, what);
    if (!leaf.tag.empty()) image.manifest.repo_tags.push_back(leaf.tag);
    image.config_path = naming.blob_path(image.manifest.config.digest);
    for (const auto& layer : image.manifest.layers) image.layer_paths.push_back(naming.blob_path(layer.digest));
    emit_image(tree, std::move(image), first, ctx);
    return;  // one image per run
  }
  fail(Errc::not_found, "{}: no image in the index was wanted", where);
}

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
  const LayoutNaming naming{blob_path, blob_path};
  emit_indexed_image(*tree_, parse_index(raw_index, ctx_.limits, "index.json"), ref_, naming, first, ctx_);
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
