#include "delta/delta_package.h"

#include <cstring>
#include <set>

#include "core/base64.h"
#include "core/big_endian.h"
#include "core/error.h"
#include "delta/delta_method.h"
#include "formats/image/manifest_parser.h"

namespace dd {
namespace {

constexpr std::uint64_t kMaxLayerSize = 1ull << 42;  // 4 TiB: nothing real comes near it

Shipping parse_shipping(const std::string& s, std::uint32_t version) {
  if (s == "reused") return Shipping::reused;
  if (s == "packaged" && version >= 2) return Shipping::packaged;
  if (s == "full") return Shipping::full;
  if (s == "delta") return Shipping::delta;
  fail(Errc::bad_input, "package header: unknown layer shipping '{}'", s);
}

std::uint64_t size_field(const nlohmann::json& j, const char* key, std::uint64_t max, const std::string& where) {
  if (!j.contains(key) || !j[key].is_number_integer() || (!j[key].is_number_unsigned() && j[key].get<std::int64_t>() < 0))
    fail(Errc::bad_input, "package header: {} has no valid '{}'", where, key);
  const auto v = j[key].get<std::uint64_t>();
  if (v > max) fail(Errc::bad_input, "package header: {} claims {} = {}, beyond any real image", where, key, v);
  return v;
}

std::string string_field(const nlohmann::json& j, const char* key, const std::string& where, bool required = true) {
  if (!j.contains(key)) {
    if (required) fail(Errc::bad_input, "package header: {} has no '{}'", where, key);
    return {};
  }
  if (!j[key].is_string()) fail(Errc::bad_input, "package header: {} '{}' is not a string", where, key);
  return j[key].get<std::string>();
}

}  // namespace

std::string_view to_string(Shipping s) {
  switch (s) {
    case Shipping::reused: return "reused";
    case Shipping::packaged: return "packaged";
    case Shipping::full: return "full";
    case Shipping::delta: return "delta";
  }
  return "?";
}

std::uint64_t PackageImage::payload_bytes() const {
  std::uint64_t n = config_size;
  for (const auto& l : layers) n += l.payload_size;
  return n;
}

std::uint64_t PackageHeader::payload_bytes() const {
  std::uint64_t n = 0;
  for (const auto& i : images) n += i.payload_bytes();
  return n;
}

std::string PackageSignature::key_id() const { return Digest::sha256_of(public_key).str(); }

namespace {

nlohmann::ordered_json image_json(const PackageImage& image) {
  return {{"repo_tags", image.repo_tags},
          {"image_id", image.config_digest.str()},
          {"config", {{"digest", image.config_digest.str()}, {"size", image.config_size}}},
          {"platform", image.platform},
          {"manifest_media_type", image.manifest_media_type},
          {"manifest", image.manifest}};
}

nlohmann::ordered_json layers_json(const PackageImage& image) {
  auto layer_list = nlohmann::ordered_json::array();
  for (const auto& l : image.layers) {
    nlohmann::ordered_json e;
    e["diff_id"] = l.diff_id.str();
    if (l.size) e["size"] = *l.size;
    e["ship"] = to_string(l.shipping);
    if (l.shipping == Shipping::full || l.shipping == Shipping::delta) {
      e["method"] = l.method;
      if (l.shipping == Shipping::full) e["compression"] = to_string(l.compression);
      if (l.shipping == Shipping::delta) {
        auto bases = nlohmann::ordered_json::array();
        for (const auto& b : l.bases) bases.push_back(b.str());
        e["bases"] = bases;
      }
      e["payload"] = {{"size", l.payload_size}, {"digest", l.payload_digest->str()}};
    }
    if (l.source_size) e["source_size"] = *l.source_size;
    layer_list.push_back(e);
  }
  return layer_list;
}

}  // namespace

nlohmann::ordered_json PackageHeader::to_json() const {
  nlohmann::ordered_json j;
  j["format"] = "docker_delta package";
  j["version"] = version;
  j["tool"] = tool;
  j["created"] = created;
  if (version == 1) {
    if (images.size() != 1) fail(Errc::internal, "a version 1 package holds exactly one image");
    j["image"] = image_json(images.front());
    j["layers"] = layers_json(images.front());
  } else {
    auto list = nlohmann::ordered_json::array();
    for (const auto& image : images) {
      auto e = image_json(image);
      e["layers"] = layers_json(image);
      list.push_back(std::move(e));
    }
    j["images"] = list;
  }
  auto base_list = nlohmann::ordered_json::array();
  for (const auto& b : base_layers) base_list.push_back({{"diff_id", b.diff_id.str()}, {"image", b.image}});
  j["base_layers"] = base_list;
  return j;
}

namespace {

PackageImage parse_image(const nlohmann::json& image, const nlohmann::json& layers, const Limits& limits,
                         std::uint32_t version, const std::set<Digest>& listed_bases, std::set<Digest>& carried,
                         const std::string& image_where) {
  PackageImage h;
  if (image.contains("repo_tags")) {
    if (!image["repo_tags"].is_array()) fail(Errc::bad_input, "package header: {} repo_tags is not a list", image_where);
    for (const auto& t : image["repo_tags"]) {
      if (!t.is_string()) fail(Errc::bad_input, "package header: a repo tag of {} is not a string", image_where);
      h.repo_tags.push_back(t.get<std::string>());
    }
  }
  if (!image.contains("config") || !image["config"].is_object())
    fail(Errc::bad_input, "package header: {} has no config", image_where);
  h.config_digest = Digest::parse(string_field(image["config"], "digest", image_where + " config"), "package config digest");
  h.config_size = size_field(image["config"], "size", limits.max_json_bytes, image_where + " config");
  h.platform = string_field(image, "platform", image_where, false);
  h.manifest_media_type = string_field(image, "manifest_media_type", image_where, false);
  h.manifest = string_field(image, "manifest", image_where, false);

  auto is_listed_base = [&](const Digest& d) { return listed_bases.count(d) > 0; };
  if (!layers.is_array()) fail(Errc::bad_input, "package header: {} has no 'layers' list", image_where);
  if (layers.size() > limits.max_layers)
    fail(Errc::limit, "package header: {} lists {} layers, more than {}", image_where, layers.size(), limits.max_layers);
  std::set<Digest> carried_here;
  for (const auto& e : layers) {
    const std::string where = version == 1 ? fmt::format("layer {}", h.layers.size() + 1)
                                           : fmt::format("{} layer {}", image_where, h.layers.size() + 1);
    if (!e.is_object()) fail(Errc::bad_input, "package header: {} is not an object", where);
    PackageLayer l;
    l.diff_id = Digest::parse(string_field(e, "diff_id", where), "layer diff_id");
    l.shipping = parse_shipping(string_field(e, "ship", where), version);
    const bool carries = l.shipping == Shipping::full || l.shipping == Shipping::delta;
    if (carries || e.contains("size")) l.size = size_field(e, "size", kMaxLayerSize, where);
    if (e.contains("source_size")) l.source_size = size_field(e, "source_size", kMaxLayerSize, where);
    if (l.shipping == Shipping::reused) {
      if (!is_listed_base(l.diff_id))
        fail(Errc::bad_input, "package header: {} is reused but not listed among the base layers", where);
    } else if (l.shipping == Shipping::packaged) {
      if (carried.count(l.diff_id) == 0)
        fail(Errc::bad_input, "package header: {} is said to travel with an earlier image, but none carries it", where);
    } else {
      l.method = string_field(e, "method", where);
      if (!e.contains("payload") || !e["payload"].is_object()) fail(Errc::bad_input, "package header: {} has no payload", where);
      l.payload_size = size_field(e["payload"], "size", kMaxLayerSize, where + " payload");
      l.payload_digest = Digest::parse(string_field(e["payload"], "digest", where + " payload"), "payload digest");
      carried_here.insert(l.diff_id);
    }
    if (l.shipping == Shipping::full) {
      if (l.method != "layer") fail(Errc::bad_input, "package header: {} ships full with unknown method '{}'", where, l.method);
      const std::string c = string_field(e, "compression", where);
      const auto compression = compression_named(c);
      if (!compression) fail(Errc::bad_input, "package header: {} has unknown compression '{}'", where, c);
      l.compression = *compression;
    }
    if (l.shipping == Shipping::delta) {
      const DeltaMethod* method = find_delta_method(l.method);
      if (method == nullptr)
        fail(Errc::unsupported, "package header: {} uses delta method '{}', which this docker_delta does not know", where, l.method);
      // A base is the receiver's (listed) or, in version 2, carried by an earlier image: never
      // by this one or a later one, so that decoding a layer never waits on itself.
      if (!e.contains("bases") || !e["bases"].is_array() || e["bases"].empty() ||
          e["bases"].size() > listed_bases.size() + carried.size())
        fail(Errc::bad_input, "package header: {} has no valid 'bases' list", where);
      for (const auto& b : e["bases"]) {
        if (!b.is_string()) fail(Errc::bad_input, "package header: {} names a base that is not a string", where);
        l.bases.push_back(Digest::parse(b.get<std::string>(), "delta base"));
        if (!is_listed_base(l.bases.back()) && carried.count(l.bases.back()) == 0)
          fail(Errc::bad_input, "package header: {} reads base layer {}, which is neither listed nor carried by an earlier image",
               where, l.bases.back().short_str());
      }
      if (method->bases_per_payload() == 1 && l.bases.size() != 1)
        fail(Errc::bad_input, "package header: {} ({}) must name exactly one base", where, l.method);
      else if (method->bases_per_payload() > 1 && l.bases.size() != method->bases_per_payload())
        fail(Errc::bad_input, "package header: {} ({}) must name exactly {} bases", where, l.method,
             method->bases_per_payload());
    }
    h.layers.push_back(std::move(l));
  }
  if (h.layers.empty()) fail(Errc::bad_input, "package header: {} lists no layers", version == 1 ? "the image" : image_where);
  // Only now: a layer cannot travel "packaged" with its own image.
  carried.insert(carried_here.begin(), carried_here.end());
  return h;
}

}  // namespace

PackageHeader parse_package_header(const nlohmann::json& j, const Limits& limits) {
  if (!j.is_object()) fail(Errc::bad_input, "package header is not a JSON object");
  PackageHeader h;
  if (string_field(j, "format", "the header") != "docker_delta package")
    fail(Errc::bad_input, "package header: not a docker_delta package");
  h.version = static_cast<std::uint32_t>(size_field(j, "version", 1u << 30, "the header"));
  if (h.version < kOldestPackageFormatVersion || h.version > kPackageFormatVersion)
    fail(Errc::unsupported, "package format version {} is not supported (this docker_delta reads versions {} to {})",
         h.version, kOldestPackageFormatVersion, kPackageFormatVersion);
  h.tool = string_field(j, "tool", "the header", false);
  h.created = string_field(j, "created", "the header", false);

  if (!j.contains("base_layers") || !j["base_layers"].is_array()) fail(Errc::bad_input, "package header has no 'base_layers' list");
  if (j["base_layers"].size() > limits.max_layers * 8)
    fail(Errc::limit, "package header lists {} base layers", j["base_layers"].size());
  for (const auto& b : j["base_layers"]) {
    if (!b.is_object()) fail(Errc::bad_input, "package header: a base layer is not an object");
    PackageBaseLayer base;
    base.diff_id = Digest::parse(string_field(b, "diff_id", "a base layer"), "base layer diff_id");
    base.image = string_field(b, "image", "a base layer", false);
    h.base_layers.push_back(std::move(base));
  }
  // A set: a hostile header lists thousands of bases, each layer naming thousands.
  std::set<Digest> listed_bases;
  for (const auto& b : h.base_layers) listed_bases.insert(b.diff_id);

  std::set<Digest> carried;  // layers an image before the current one carries
  if (h.version == 1) {
    if (!j.contains("image") || !j["image"].is_object()) fail(Errc::bad_input, "package header has no 'image'");
    if (!j.contains("layers")) fail(Errc::bad_input, "package header has no 'layers' list");
    h.images.push_back(parse_image(j["image"], j["layers"], limits, h.version, listed_bases, carried, "the image"));
    return h;
  }
  if (!j.contains("images") || !j["images"].is_array() || j["images"].empty())
    fail(Errc::bad_input, "package header has no 'images' list");
  if (j["images"].size() > limits.max_layers)
    fail(Errc::limit, "package header lists {} images, more than {}", j["images"].size(), limits.max_layers);
  std::size_t total_layers = 0;
  for (const auto& image : j["images"]) {
    const std::string where = fmt::format("image {}", h.images.size() + 1);
    if (!image.is_object()) fail(Errc::bad_input, "package header: {} is not an object", where);
    if (!image.contains("layers")) fail(Errc::bad_input, "package header: {} has no 'layers' list", where);
    total_layers += image["layers"].is_array() ? image["layers"].size() : 0;
    if (total_layers > limits.max_layers * 8)
      fail(Errc::limit, "package header lists more than {} layers in all", limits.max_layers * 8);
    h.images.push_back(parse_image(image, image["layers"], limits, h.version, listed_bases, carried, where));
  }
  return h;
}

std::string package_header_json(const PackageHeader& header) { return header.to_json().dump(1); }

std::string package_prefix(const std::string& json, const std::optional<PackageSignature>& signature) {
  std::string block;
  if (signature) {
    block = nlohmann::ordered_json{{"algorithm", signature->algorithm},
                                   {"public_key", base64_encode(signature->public_key)},
                                   {"signature", base64_encode(signature->signature)}}
                .dump();
  }
  std::string out(reinterpret_cast<const char*>(kPackageMagic.data()), kPackageMagic.size());
  append_be(out, kPackageFormatVersion, 4);
  append_be(out, json.size(), 4);
  append_be(out, block.size(), 4);
  out += json;
  out += Digest::sha256_of(json).raw();
  out += block;
  return out;
}

namespace {

PackageSignature parse_signature_block(const std::string& text, const Limits& limits, const std::string& what) {
  const nlohmann::json j = parse_json_limited(text, limits, what + " signature block");
  if (!j.is_object()) fail(Errc::bad_input, "{}: the signature block is not a JSON object", what);
  PackageSignature s;
  s.algorithm = string_field(j, "algorithm", "the signature block");
  if (s.algorithm != "ed25519") fail(Errc::unsupported, "{} is signed with '{}'; this docker_delta knows ed25519", what, s.algorithm);
  const auto key = base64_decode(string_field(j, "public_key", "the signature block"));
  const auto signature = base64_decode(string_field(j, "signature", "the signature block"));
  if (!key || key->size() != 32) fail(Errc::bad_input, "{}: the signature block's public key is not an Ed25519 key", what);
  if (!signature || signature->size() != 64) fail(Errc::bad_input, "{}: the signature block's signature is not 64 bytes of base64", what);
  s.public_key = *key;
  s.signature = *signature;
  return s;
}

}  // namespace

PackageHeader read_package_header(ByteStream& in, const Limits& limits, const std::string& what) {
  unsigned char pre[20];
  std::size_t got = 0;
  auto fill = [&](std::size_t want) {
    while (got < want) {
      const std::size_t n = in.read(reinterpret_cast<char*>(pre) + got, want - got);
      if (n == 0) break;
      got += n;
    }
  };
  fill(16);
  if (got < kPackageMagic.size() || std::memcmp(pre, kPackageMagic.data(), kPackageMagic.size()) != 0)
    fail(Errc::bad_input, "{} is not a docker_delta package", what);
  if (got < 16) fail(Errc::bad_input, "{} is truncated (it ends inside its preamble)", what);
  const std::uint64_t version = read_be(pre + 8, 4);
  if (version < kOldestPackageFormatVersion || version > kPackageFormatVersion)
    fail(Errc::unsupported, "{} has package format version {}; this docker_delta reads versions {} to {}", what, version,
         kOldestPackageFormatVersion, kPackageFormatVersion);
  std::uint64_t signature_length = 0;
  if (version >= 2) {
    fill(20);
    if (got < 20) fail(Errc::bad_input, "{} is truncated (it ends inside its preamble)", what);
    signature_length = read_be(pre + 16, 4);
    if (signature_length > kMaxSignatureBlockBytes)
      fail(Errc::limit, "{}: its signature block claims {} bytes, more than {}", what, signature_length, kMaxSignatureBlockBytes);
  }
  const std::uint64_t length = read_be(pre + 12, 4);
  if (length > limits.max_json_bytes)
    fail(Errc::limit, "{}: its header claims {} bytes, more than {}", what, length, limits.max_json_bytes);
  std::string json(length, '\0');
  read_exact(in, json.data(), json.size(), what);
  unsigned char digest[32];
  read_exact(in, reinterpret_cast<char*>(digest), sizeof digest, what);
  const Digest actual = Digest::sha256_of(json);
  if (actual.raw() != std::string_view(reinterpret_cast<const char*>(digest), sizeof digest)) fail(Errc::integrity, "{}: the package header is damaged (its checksum does not match)", what);
  std::string block(signature_length, '\0');
  read_exact(in, block.data(), block.size(), what);
  PackageHeader header = parse_package_header(parse_json_limited(json, limits, what + " header"), limits);
  if (header.version != version)
    fail(Errc::bad_input, "{}: its preamble says format version {} but its header {}", what, version, header.version);
  if (!block.empty()) header.signature = parse_signature_block(block, limits, what);
  header.prefix_bytes = got + length + sizeof digest + signature_length;
  header.json = std::move(json);
  header.header_digest = actual;
  return header;
}

}  // namespace dd
