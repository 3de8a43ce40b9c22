// Choosing an image from a layout's index: names given twice, manifests and layers the layout
// lists but does not hold, and skopeo's dir: naming. The tree is in memory; the bytes are real
// JSON and real digests, so every check the inputs make runs.
#include "inputs/oci_layout_input.h"

#include <gtest/gtest.h>

#include <map>

#include "core/error.h"
#include "filters/platform_filter.h"
#include "formats/image/manifest_parser.h"
#include "stores/image_emitter.h"

namespace dd {
namespace {

class MemoryTree : public FileTree {
 public:
  TreeFile find(std::string_view path) const override {
    auto it = files_.find(std::string(path));
    if (it == files_.end()) fail(Errc::not_found, "memory tree has no file '{}'", path);
    return TreeFile{it->first, it->second.size(), 0};
  }
  std::unique_ptr<ByteStream> open(const TreeFile& file) const override {
    return std::make_unique<MemoryStream>(files_.at(file.path));
  }
  std::string describe() const override { return "memory tree"; }

  // Stores `bytes` at `path` and returns their descriptor as JSON.
  nlohmann::json add(const std::string& bytes, const std::string& media, const std::string& path) {
    files_[path] = bytes;
    return {{"mediaType", media}, {"digest", Digest::sha256_of(bytes).str()}, {"size", bytes.size()}};
  }
  void remove(const std::string& path) { files_.erase(path); }

 private:
  std::map<std::string, std::string> files_;
};

// Records what reaches the end of the pipeline; wants every body unless told otherwise.
class Recorder : public OutputStore {
 public:
  explicit Recorder(bool want_layers = true) : want_layers_(want_layers) {}
  bool fetch_callback(const Digest&, BlobKind kind) override { return want_layers_ || kind == BlobKind::manifest; }
  void process_image_element(ElementType type, const std::string&, ElementData& data) override {
    if (type == ElementType::index) platforms = data.index().entries.size();
    if (type == ElementType::config) {
      config = data.config();
    }
    if (type == ElementType::layer) {
      absent.push_back(data.layer().source.annotations.count(kAbsentBlobMark) > 0);
      if (data.body()) drain(data.body()->stored());
    }
  }
  void finalize() override {}
  nlohmann::json result() const override { return {}; }

  std::size_t platforms = 0;
  std::string config;
  std::vector<bool> absent;

 private:
  bool want_layers_;
};

// Layer bytes: the checks here are of digests (an uncompressed layer's diff_id is its sha256).
std::string tar_of(const std::string& name) { return "layer " + name; }

// One image (one layer) stored with `blob_path` naming; returns its manifest descriptor.
nlohmann::json add_image(MemoryTree& tree, const std::string& arch, const LayoutNaming& naming) {
  const std::string layer = tar_of(arch);
  const nlohmann::json config = {{"architecture", arch},
                                 {"os", "linux"},
                                 {"rootfs", {{"type", "layers"}, {"diff_ids", {Digest::sha256_of(layer).str()}}}}};
  const std::string config_bytes = config.dump();
  const auto layer_d = tree.add(layer, media_type::kOciLayer, naming.blob_path(Digest::sha256_of(layer)));
  const auto config_d = tree.add(config_bytes, media_type::kOciConfig, naming.blob_path(Digest::sha256_of(config_bytes)));
  const std::string manifest =
      nlohmann::json{{"schemaVersion", 2}, {"mediaType", media_type::kOciManifest}, {"config", config_d}, {"layers", {layer_d}}}
          .dump();
  return tree.add(manifest, media_type::kOciManifest, naming.manifest_path(Digest::sha256_of(manifest)));
}

std::vector<IndexEntry> entries_of(const std::vector<nlohmann::json>& manifests) {
  nlohmann::json index = {{"schemaVersion", 2}, {"manifests", nlohmann::json::array()}};
  for (const auto& m : manifests) index["manifests"].push_back(m);
  return parse_index(index.dump(), Limits{}, "test index");
}

std::string arch_of(const std::string& config) { return nlohmann::json::parse(config).value("architecture", ""); }

const LayoutNaming kOci{blob_path, blob_path};

TEST(IndexedImage, TwoEntriesUnderOneNameTakeTheFirstAsSkopeoDoes) {
  MemoryTree tree;
  auto a = add_image(tree, "amd64", kOci);
  auto b = add_image(tree, "s390x", kOci);
  a["annotations"] = {{kRefNameAnnotation, "v1"}};
  b["annotations"] = {{kRefNameAnnotation, "v1"}};
  for (const std::string ref : {"", "v1"}) {
    Recorder sink;
    PlatformFilter filter(sink, Platform::host(), false, Limits{});
    emit_indexed_image(tree, entries_of({a, b}), ref, kOci, filter, RunContext{});
    EXPECT_EQ(arch_of(sink.config), "amd64") << "ref '" << ref << "'";
    EXPECT_EQ(sink.platforms, 1u);
  }
  // Reversed, the other one is first.
  Recorder sink;
  PlatformFilter filter(sink, Platform::host(), false, Limits{});
  emit_indexed_image(tree, entries_of({b, a}), "v1", kOci, filter, RunContext{});
  EXPECT_EQ(arch_of(sink.config), "s390x");
}

TEST(IndexedImage, ReadsThePlatformAPartialExportHolds) {
  MemoryTree tree;
  auto amd = add_image(tree, "amd64", kOci);
  auto arm = add_image(tree, "arm64", kOci);
  amd["platform"] = {{"os", "linux"}, {"architecture", "amd64"}};
  arm["platform"] = {{"os", "linux"}, {"architecture", "arm64"}, {"variant", "v8"}};
  tree.remove(blob_path(Digest::parse(amd["digest"].get<std::string>())));  // as ctr export --platform arm64

  {  // asked for: the one it holds
    Recorder sink;
    PlatformFilter filter(sink, Platform::parse("linux/arm64/v8"), true, Limits{});
    emit_indexed_image(tree, entries_of({amd, arm}), "", kOci, filter, RunContext{});
    EXPECT_EQ(arch_of(sink.config), "arm64");
  }
  {  // not asked for: the one it holds, whatever the host
    Recorder sink;
    PlatformFilter filter(sink, Platform::parse("linux/amd64"), false, Limits{});
    emit_indexed_image(tree, entries_of({amd, arm}), "", kOci, filter, RunContext{});
    EXPECT_EQ(arch_of(sink.config), "arm64");
    EXPECT_EQ(sink.platforms, 1u);
  }
  try {  // asked for the absent one: the message says it is listed but not held
    Recorder sink;
    PlatformFilter filter(sink, Platform::parse("linux/amd64"), true, Limits{});
    emit_indexed_image(tree, entries_of({amd, arm}), "", kOci, filter, RunContext{});
    FAIL() << "an absent platform was read";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::not_found);
    const std::string what = e.what();
    EXPECT_NE(what.find("it has: linux/arm64/v8"), std::string::npos) << what;
    EXPECT_NE(what.find("also lists linux/amd64"), std::string::npos) << what;
  }
}

TEST(IndexedImage, AbsentLayersFailOnlyWhenWanted) {
  MemoryTree tree;
  const auto m = add_image(tree, "amd64", kOci);
  tree.remove(blob_path(Digest::sha256_of(tar_of("amd64"))));
  {
    Recorder sink(false);  // like inspect: layers declined
    emit_indexed_image(tree, entries_of({m}), "", kOci, sink, RunContext{});
    EXPECT_EQ(sink.absent, std::vector<bool>{true});
  }
  Recorder sink(true);
  try {
    emit_indexed_image(tree, entries_of({m}), "", kOci, sink, RunContext{});
    FAIL() << "an absent layer was wanted and not refused";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::not_found);
    EXPECT_NE(std::string(e.what()).find("does not hold one of the image's layers: 1"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(sink.absent.empty()) << "a layer went out before the refusal";
}

TEST(IndexedImage, AManifestCannotClaimItsBlobIsAbsent) {
  MemoryTree tree;
  const std::string layer = tar_of("amd64");
  const std::string config =
      nlohmann::json{{"architecture", "amd64"}, {"os", "linux"},
                     {"rootfs", {{"type", "layers"}, {"diff_ids", {Digest::sha256_of(layer).str()}}}}}.dump();
  auto layer_d = tree.add(layer, media_type::kOciLayer, blob_path(Digest::sha256_of(layer)));
  layer_d["annotations"] = {{kAbsentBlobMark, "true"}};
  const auto config_d = tree.add(config, media_type::kOciConfig, blob_path(Digest::sha256_of(config)));
  const std::string manifest =
      nlohmann::json{{"schemaVersion", 2}, {"config", config_d}, {"layers", {layer_d}}}.dump();
  const auto m = tree.add(manifest, media_type::kOciManifest, blob_path(Digest::sha256_of(manifest)));
  Recorder sink(false);
  emit_indexed_image(tree, entries_of({m}), "", kOci, sink, RunContext{});
  EXPECT_EQ(sink.absent, std::vector<bool>{false});
}

TEST(IndexedImage, DirTransportNaming) {
  const LayoutNaming dir{[](const Digest& d) { return d.hex() + ".manifest.json"; },
                         [](const Digest& d) { return d.hex(); }};
  MemoryTree tree;
  auto amd = add_image(tree, "amd64", dir);
  auto arm = add_image(tree, "arm64", dir);
  amd["platform"] = {{"os", "linux"}, {"architecture", "amd64"}};
  arm["platform"] = {{"os", "linux"}, {"architecture", "arm64"}};
  Recorder sink;
  PlatformFilter filter(sink, Platform::parse("linux/arm64/v8"), true, Limits{});
  emit_indexed_image(tree, entries_of({amd, arm}), "", dir, filter, RunContext{});
  EXPECT_EQ(arch_of(sink.config), "arm64");
  EXPECT_EQ(sink.platforms, 2u);
}

}  // namespace
}  // namespace dd
