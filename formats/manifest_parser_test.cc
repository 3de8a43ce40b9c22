#include "formats/manifest_parser.h"

#include <gtest/gtest.h>

#include "pipeline/error.h"

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

}  // namespace
}  // namespace dd
