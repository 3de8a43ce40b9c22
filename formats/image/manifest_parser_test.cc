#include "formats/image/manifest_parser.h"

#include <gtest/gtest.h>

#include <chrono>

#include "core/error.h"

namespace dd {
namespace {

const std::string kHex(64, 'a');

Errc code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.code();
  }
  return Errc::internal;
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ManifestParser, DetectsKindsByContent) {
  const Limits l;
  auto kind = [&](const std::string& s) { return detect_manifest_kind(parse_json_limited(s, l, "doc"), "doc"); };
  EXPECT_EQ(kind(R"([{"Config":"c.json","Layers":[]}])"), ManifestKind::docker_save);
  EXPECT_EQ(kind(R"({"schemaVersion":2,"manifests":[]})"), ManifestKind::oci_index);
  EXPECT_EQ(kind(R"({"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[]})"),
            ManifestKind::docker_manifest_list);
  EXPECT_EQ(kind(R"({"config":{},"layers":[]})"), ManifestKind::oci_manifest);
  EXPECT_EQ(kind(R"({"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{},"layers":[]})"),
            ManifestKind::docker_schema2);
  EXPECT_EQ(code_of([&] { kind(R"({"schemaVersion":1,"fsLayers":[]})"); }), Errc::unsupported);
  EXPECT_EQ(code_of([&] { kind(R"({"hello":1})"); }), Errc::bad_input);
}

TEST(ManifestParser, ParsesAnOciManifest) {
  const std::string raw = R"({"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:)" + kHex +
                          R"(","size":7},"layers":[{"mediaType":"y","digest":"sha256:)" + kHex + R"(","size":9}]})";
  const ImageManifest m = parse_image_manifest(raw, Limits{}, "manifest");
  EXPECT_EQ(m.kind, ManifestKind::oci_manifest);
  EXPECT_EQ(m.config.size, 7u);
  ASSERT_EQ(m.layers.size(), 1u);
  EXPECT_EQ(*m.layers[0].size, 9u);
  EXPECT_EQ(*m.digest, Digest::sha256_of(raw));
}

TEST(ManifestParser, RejectsBadDigestsAndSizes) {
  auto manifest = [](const std::string& digest, const std::string& size) {
    return R"({"config":{"digest":")" + digest + R"(","size":)" + size + R"(},"layers":[]})";
  };
  EXPECT_EQ(code_of([&] { parse_image_manifest(manifest("sha256:abc", "1"), Limits{}, "m"); }), Errc::bad_input);
  EXPECT_EQ(code_of([&] { parse_image_manifest(manifest("md5:" + kHex, "1"), Limits{}, "m"); }), Errc::bad_input);
  EXPECT_EQ(code_of([&] { parse_image_manifest(manifest("sha256:" + kHex, "-1"), Limits{}, "m"); }), Errc::bad_input);
  EXPECT_EQ(code_of([&] { parse_image_manifest(manifest("sha256:" + std::string(64, 'A'), "1"), Limits{}, "m"); }),
            Errc::bad_input);
}

TEST(ManifestParser, EnforcesSizeDepthAndCountLimits) {
  Limits l;
  l.max_json_bytes = 100;
  EXPECT_EQ(code_of([&] { parse_json_limited(std::string(200, ' ') + "{}", l, "doc"); }), Errc::limit);
  const std::string deep = std::string(1000, '[') + std::string(1000, ']');
  EXPECT_EQ(code_of([&] { parse_json_limited(deep, Limits{}, "doc"); }), Errc::limit);
  Limits few;
  few.max_index_entries = 2;
  const std::string entry = R"({"digest":"sha256:)" + kHex + R"(","size":1})";
  const std::string index = R"({"manifests":[)" + entry + "," + entry + "," + entry + "]}";
  EXPECT_EQ(code_of([&] { parse_index(index, few, "index"); }), Errc::limit);
  EXPECT_EQ(parse_index(index, Limits{}, "index").size(), 3u);
}

TEST(ManifestParser, ReadsConfigFacts) {
  const std::string config = R"({"os":"linux","architecture":"arm64","variant":"v8","rootfs":{"type":"layers","diff_ids":["sha256:)" +
                             kHex + R"("]}})";
  const ConfigFacts f = parse_config(config, Limits{});
  EXPECT_EQ(f.platform.str(), "linux/arm64/v8");
  ASSERT_EQ(f.diff_ids.size(), 1u);
  EXPECT_EQ(f.diff_ids[0].hex(), kHex);
}

TEST(ManifestParser, ReadsDockerSaveManifest) {
  const auto entries = parse_docker_save_manifest(
      R"([{"Config":"c.json","RepoTags":["a:1"],"Layers":["l1/layer.tar","l2.tar"]},{"Config":"d.json","RepoTags":null,"Layers":[]}])",
      Limits{});
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].layer_paths[1], "l2.tar");
  EXPECT_EQ(entries[0].repo_tags[0], "a:1");
  EXPECT_TRUE(entries[1].repo_tags.empty());
}

TEST(ManifestParser, RefusesADocumentThatIsBothIndexAndManifest) {
  const Limits l;
  const std::string d = R"({"digest":"sha256:)" + kHex + R"(","size":1})";
  auto kind = [&](const std::string& s) { return detect_manifest_kind(parse_json_limited(s, l, "doc"), "doc"); };
  for (const std::string doc : {R"({"manifests":[],"layers":[]})", R"({"manifests":[],"config":{}})",
                                R"({"config":{},"layers":[],"manifests":[]})"}) {
    EXPECT_EQ(code_of([&] { kind(doc); }), Errc::bad_input) << doc;
    EXPECT_NE(message_of([&] { kind(doc); }).find("ambiguous"), std::string::npos) << doc;
  }
  // An OCI layout's index.json that also lists layers: refused where an index is read.
  const std::string index_json = R"({"schemaVersion":2,"manifests":[)" + d + R"(],"layers":[)" + d + "]}";
  EXPECT_NE(message_of([&] { parse_index(index_json, l, "index.json"); }).find("index.json is ambiguous"),
            std::string::npos);
  // And where a manifest is read.
  const std::string manifest = R"({"schemaVersion":2,"config":)" + d + R"(,"layers":[],"manifests":[]})";
  EXPECT_EQ(code_of([&] { parse_image_manifest(manifest, l, "manifest"); }), Errc::bad_input);
  // A declared mediaType that contradicts the fields.
  EXPECT_EQ(code_of([&] { kind(R"({"mediaType":"application/vnd.oci.image.index.v1+json","config":{},"layers":[]})"); }),
            Errc::bad_input);
  EXPECT_EQ(code_of([&] { kind(R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","manifests":[]})"); }),
            Errc::bad_input);
  EXPECT_EQ(kind(R"({"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]})"), ManifestKind::oci_index);
}

TEST(ManifestParser, DepthLimitCountsNestedContainers) {
  Limits l;
  l.max_json_depth = 3;
  EXPECT_NO_THROW(parse_json_limited(R"({"a":[{"b":1}],"c":[[1]]})", l, "doc"));
  EXPECT_EQ(code_of([&] { parse_json_limited(R"({"a":[{"b":[]}]})", l, "doc"); }), Errc::limit);
  EXPECT_EQ(code_of([&] { parse_json_limited(R"({"a":[{"b":1}]} x)", l, "doc"); }), Errc::bad_input);
  EXPECT_EQ(code_of([&] { parse_json_limited(R"({"a":)", l, "doc"); }), Errc::bad_input);
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr double kSlowdown = 5;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr double kSlowdown = 5;
#else
constexpr double kSlowdown = 1;
#endif
#else
constexpr double kSlowdown = 1;
#endif

// Parsing is linear in the number of objects: a config of 200k small history entries and labels
// (6 MiB) once took minutes.
TEST(ManifestParser, ManySmallObjectsParseInLinearTime) {
  std::string config = R"({"architecture":"amd64","os":"linux","config":{"Labels":{)";
  for (int i = 0; i < 100000; ++i) config += fmt::format(R"({}"label.{}":"value")", i ? "," : "", i);
  config += R"(}},"history":[)";
  for (int i = 0; i < 100000; ++i)
    config += fmt::format(R"({}{{"created":"2024-05-01","created_by":"RUN step {}"}})", i ? "," : "", i);
  config += R"(],"rootfs":{"type":"layers","diff_ids":["sha256:)" + kHex + R"("]}})";
  ASSERT_GE(config.size(), 6u << 20);
  ASSERT_LE(config.size(), Limits{}.max_json_bytes);
  auto seconds = [](const std::function<void()>& f) {
    const auto start = std::chrono::steady_clock::now();
    f();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  ConfigFacts f;
  const double took = seconds([&] { f = parse_config(config, Limits{}); });
  EXPECT_EQ(f.diff_ids.size(), 1u);
  // Well under a second on an idle machine; on a loaded one, no slower than nlohmann's own
  // parser without limits, give or take.
  const double plain = seconds([&] { EXPECT_TRUE(nlohmann::json::parse(config).is_object()); });
  EXPECT_LT(took, std::max(1.0 * kSlowdown, 3 * plain)) << "nlohmann::json::parse took " << plain << " s";
}

}  // namespace
}  // namespace dd
