#include "formats/image/manifest_parser.h"

#include "core/error.h"
#include "core/printable.h"

namespace dd {

using nlohmann::json;

namespace {

// Builds the document as nlohmann's own parser does, refusing it at the first container nested
// deeper than the limit. A parser callback would do the same check but costs a scan of the
// enclosing container after every object (quadratic in a history of 200k entries).
class DepthLimitedBuilder : public nlohmann::detail::json_sax_dom_parser<json> {
 public:
  DepthLimitedBuilder(json& root, int max_depth, std::string_view what)
      : json_sax_dom_parser(root, true), max_depth_(max_depth), what_(what) {}
  bool start_object(std::size_t n) { return enter() && json_sax_dom_parser::start_object(n); }
  bool start_array(std::size_t n) { return enter() && json_sax_dom_parser::start_array(n); }
  bool end_object() { --depth_; return json_sax_dom_parser::end_object(); }
  bool end_array() { --depth_; return json_sax_dom_parser::end_array(); }

 private:
  bool enter() {
    if (++depth_ > max_depth_) fail(Errc::limit, "{} is nested too deep (more than {} levels)", what_, max_depth_);
    return true;
  }
  int depth_ = 0;
  int max_depth_;
  std::string_view what_;
};

}  // namespace

json parse_json_limited(std::string_view bytes, const Limits& limits, std::string_view what) {
  if (bytes.size() > limits.max_json_bytes)
    fail(Errc::limit, "{} is too large: {} bytes, the limit is {}", what, bytes.size(), limits.max_json_bytes);
  json doc;
  DepthLimitedBuilder builder(doc, limits.max_json_depth, what);
  try {
    json::sax_parse(bytes.begin(), bytes.end(), &builder);
  } catch (const json::exception& e) {
    fail(Errc::bad_input, "{} is not valid JSON: {}", what, e.what());
  }
  return doc;
}

namespace {

const json& member(const json& doc, const char* key, std::string_view what) {
  if (!doc.is_object() || !doc.contains(key)) fail(Errc::bad_input, "{} has no '{}'", what, key);
  return doc.at(key);
}

std::string string_member(const json& doc, const char* key, std::string_view what) {
  const json& v = member(doc, key, what);
  if (!v.is_string()) fail(Errc::bad_input, "{}: '{}' is not a string", what, key);
  return v.get<std::string>();
}

std::map<std::string, std::string> parse_annotations(const json& doc, std::string_view what) {
  std::map<std::string, std::string> out;
  if (!doc.is_object() || !doc.contains("annotations") || doc["annotations"].is_null()) return out;
  const json& a = doc["annotations"];
  if (!a.is_object()) fail(Errc::bad_input, "{}: annotations are not an object", what);
  for (const auto& [k, v] : a.items())
    if (v.is_string()) out[k] = v.get<std::string>();
  return out;
}

Platform parse_platform_object(const json& p, std::string_view what) {
  if (!p.is_object()) fail(Errc::bad_input, "{}: platform is not an object", what);
  Platform out;
  if (p.contains("os") && p["os"].is_string()) out.os = p["os"];
  if (p.contains("architecture") && p["architecture"].is_string()) out.architecture = p["architecture"];
  if (p.contains("variant") && p["variant"].is_string()) out.variant = p["variant"];
  return out;
}

}  // namespace

ManifestKind detect_manifest_kind(const json& doc, std::string_view what) {
  if (doc.is_array()) {
    if (!doc.empty() && doc[0].is_object() && doc[0].contains("Config") && doc[0].contains("Layers"))
      return ManifestKind::docker_save;
    fail(Errc::bad_input, "{} is a JSON array but not a docker-save manifest", what);
  }
  if (!doc.is_object()) fail(Errc::bad_input, "{} is not a JSON object", what);
  const std::string media = doc.contains("mediaType") && doc["mediaType"].is_string() ? doc["mediaType"].get<std::string>() : "";
  if (doc.contains("schemaVersion") && doc["schemaVersion"] == 1)
    fail(Errc::unsupported, "{} is a Docker schema 1 manifest, which is not supported", what);
  // A document read as an index by one tool and as a manifest by another would let the two see
  // different images (CVE-2021-41190): one that claims both kinds is refused.
  const bool index_fields = doc.contains("manifests");
  const bool manifest_fields = doc.contains("config") || doc.contains("layers");
  if (index_fields && manifest_fields)
    fail(Errc::bad_input, "{} is ambiguous: it has both 'manifests' (an index) and {} (a manifest)", what,
         doc.contains("layers") ? "'layers'" : "'config'");
  const bool says_index = media == media_type::kOciIndex || media == media_type::kDockerManifestList;
  const bool says_manifest = media == media_type::kOciManifest || media == media_type::kDockerManifest;
  if (says_index && !index_fields)
    fail(Errc::bad_input, "{} has the mediaType of an index ({}) but no 'manifests'", what, printable(media));
  if (says_manifest && index_fields)
    fail(Errc::bad_input, "{} has the mediaType of a manifest ({}) but 'manifests' (an index)", what, printable(media));
  if (index_fields)
    return media == media_type::kDockerManifestList ? ManifestKind::docker_manifest_list : ManifestKind::oci_index;
  if (doc.contains("config") && doc.contains("layers"))
    return media == media_type::kDockerManifest ? ManifestKind::docker_schema2 : ManifestKind::oci_manifest;
  fail(Errc::bad_input, "{} is neither an image index nor an image manifest", what);
}

Descriptor parse_descriptor(const json& doc, std::string_view what) {
  Descriptor d;
  if (!doc.is_object()) fail(Errc::bad_input, "{} is not an object", what);
  d.media_type = doc.contains("mediaType") && doc["mediaType"].is_string() ? doc["mediaType"].get<std::string>() : "";
  d.digest = Digest::parse(string_member(doc, "digest", what), fmt::format("{} digest", what));
  const json& size = member(doc, "size", what);
  if (!size.is_number_integer() || size.get<std::int64_t>() < 0)
    fail(Errc::bad_input, "{}: size is not a non-negative integer", what);
  d.size = size.get<std::uint64_t>();
  if (doc.contains("platform")) d.platform = parse_platform_object(doc["platform"], what);
  d.annotations = parse_annotations(doc, what);
  return d;
}

ImageManifest parse_image_manifest(std::string raw, const Limits& limits, std::string_view what) {
  const json doc = parse_json_limited(raw, limits, what);
  ImageManifest m;
  m.kind = detect_manifest_kind(doc, what);
  if (m.kind != ManifestKind::oci_manifest && m.kind != ManifestKind::docker_schema2)
    fail(Errc::bad_input, "{} is a {}, not an image manifest", what, to_string(m.kind));
  m.config = parse_descriptor(member(doc, "config", what), fmt::format("{} config", what));
  const json& layers = member(doc, "layers", what);
  if (!layers.is_array()) fail(Errc::bad_input, "{}: layers is not an array", what);
  if (layers.size() > limits.max_layers)
    fail(Errc::limit, "{} lists {} layers, the limit is {}", what, layers.size(), limits.max_layers);
  for (std::size_t i = 0; i < layers.size(); ++i)
    m.layers.push_back(parse_descriptor(layers[i], fmt::format("{} layer {}", what, i + 1)));
  m.annotations = parse_annotations(doc, what);
  m.raw = std::move(raw);
  m.digest = Digest::sha256_of(m.raw);
  return m;
}

std::vector<IndexEntry> parse_index(std::string_view raw, const Limits& limits, std::string_view what) {
  const json doc = parse_json_limited(raw, limits, what);
  const auto kind = detect_manifest_kind(doc, what);
  if (kind != ManifestKind::oci_index && kind != ManifestKind::docker_manifest_list)
    fail(Errc::bad_input, "{} is a {}, not an index", what, to_string(kind));
  const json& manifests = doc["manifests"];
  if (!manifests.is_array()) fail(Errc::bad_input, "{}: manifests is not an array", what);
  if (manifests.size() > limits.max_index_entries)
    fail(Errc::limit, "{} has too many entries: {}, the limit is {}", what, manifests.size(),
         limits.max_index_entries);
  std::vector<IndexEntry> out;
  for (std::size_t i = 0; i < manifests.size(); ++i) {
    IndexEntry e;
    e.manifest = parse_descriptor(manifests[i], fmt::format("{} entry {}", what, i + 1));
    e.platform = e.manifest.platform;
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<DockerSaveEntry> parse_docker_save_manifest(std::string_view raw, const Limits& limits) {
  const std::string what = "manifest.json";
  const json doc = parse_json_limited(raw, limits, what);
  if (detect_manifest_kind(doc, what) != ManifestKind::docker_save)
    fail(Errc::bad_input, "manifest.json is not a docker-save manifest");
  if (doc.size() > limits.max_index_entries)
    fail(Errc::limit, "manifest.json has too many entries: {}, the limit is {}", doc.size(), limits.max_index_entries);
  std::vector<DockerSaveEntry> out;
  for (std::size_t i = 0; i < doc.size(); ++i) {
    const std::string where = fmt::format("manifest.json image {}", i + 1);
    DockerSaveEntry e;
    e.config_path = string_member(doc[i], "Config", where);
    const json& layers = member(doc[i], "Layers", where);
    if (!layers.is_array()) fail(Errc::bad_input, "{}: Layers is not an array", where);
    if (layers.size() > limits.max_layers)
      fail(Errc::limit, "{} lists {} layers, the limit is {}", where, layers.size(), limits.max_layers);
    for (const auto& l : layers) {
      if (!l.is_string()) fail(Errc::bad_input, "{}: a layer path is not a string", where);
      e.layer_paths.push_back(l.get<std::string>());
    }
    if (doc[i].contains("RepoTags") && doc[i]["RepoTags"].is_array())
      for (const auto& t : doc[i]["RepoTags"])
        if (t.is_string()) e.repo_tags.push_back(t.get<std::string>());
    out.push_back(std::move(e));
  }
  return out;
}

ConfigFacts parse_config(std::string_view raw, const Limits& limits) {
  const std::string what = "image config";
  const json doc = parse_json_limited(raw, limits, what);
  ConfigFacts facts;
  facts.platform = parse_platform_object(doc, what);
  const json& rootfs = member(doc, "rootfs", what);
  const json& ids = member(rootfs, "diff_ids", what);
  if (!ids.is_array()) fail(Errc::bad_input, "{}: rootfs.diff_ids is not an array", what);
  if (ids.size() > limits.max_layers)
    fail(Errc::limit, "{} lists {} layers, the limit is {}", what, ids.size(), limits.max_layers);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (!ids[i].is_string()) fail(Errc::bad_input, "{}: diff_id {} is not a string", what, i + 1);
    facts.diff_ids.push_back(Digest::parse(ids[i].get<std::string>(), fmt::format("diff_id {}", i + 1)));
  }
  return facts;
}

}  // namespace dd
