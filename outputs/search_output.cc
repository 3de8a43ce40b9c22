#include "outputs/search_output.h"

#include <archive_entry.h>

#include "core/error.h"
#include "core/printable.h"
#include "formats/archive/libarchive_bridge.h"
#include "formats/archive/path_glob.h"
#include "formats/archive/plain_tar_reader.h"

namespace dd {
namespace {

// Each match is a short record; a layer forged with millions of matching names stops here.
constexpr std::size_t kMaxMatches = 1'000'000;

const char* entry_type(archive_entry* e) {
  if (archive_entry_hardlink(e) != nullptr) return "hardlink";
  switch (archive_entry_filetype(e)) {
    case AE_IFREG: return "file";
    case AE_IFDIR: return "directory";
    case AE_IFLNK: return "symlink";
    default: return "other";
  }
}

class SearchOutput : public OutputStore {
 public:
  SearchOutput(PathGlobs globs, std::string text) : globs_(std::move(globs)), text_(std::move(text)) {
    result_["destination"] = text_;
    result_["globs"] = globs_.globs();
    result_["matches"] = nlohmann::json::array();
  }

  // Manifests to know the image; every layer, to read its names.
  bool fetch_callback(const Digest&, BlobKind) override { return true; }

  void process_image_element(ElementType type, const std::string&, ElementData& data) override {
    if (type == ElementType::config) result_["image_id"] = Digest::sha256_of(data.config()).str();
    if (type != ElementType::layer) return;
    const LayerInfo& info = data.layer();
    ++layers_;
    if (data.body() == nullptr) fail(Errc::internal, "search: layer {} came without its body", info.index + 1);
    scan(info, data.body()->uncompressed());
  }

  void finalize() override { result_["layers"] = layers_; }
  nlohmann::json result() const override { return result_; }

 private:
  void scan(const LayerInfo& info, ByteStream& tar) {
    const std::string what = fmt::format("layer {}/{}", info.index + 1, info.count);
    LibarchiveBridge bridge;
    PlainTarReader reader;
    auto check = [&](int rc, const char* doing) {
      bridge.rethrow_if_failed();
      if (rc < ARCHIVE_WARN) fail(Errc::bad_input, "{}: {} failed: {}", what, doing, archive_message(reader.a));
    };
    check(bridge.open_reader(reader.a, tar), "reading the tar");
    for (;;) {
      archive_entry* e = nullptr;
      const int rc = archive_read_next_header(reader.a, &e);
      if (rc == ARCHIVE_EOF) break;
      check(rc, "reading a tar header");
      const char* name = archive_entry_pathname(e);
      if (name != nullptr && globs_.matches(name)) {
        if (result_["matches"].size() >= kMaxMatches)
          fail(Errc::limit, "search: more than {} paths match; narrow the GLOB", kMaxMatches);
        result_["matches"].push_back({{"layer", info.index + 1},
                                      {"diff_id", info.diff_id.str()},
                                      {"path", printable(normalized_layer_path(name))},
                                      {"type", entry_type(e)},
                                      {"size", archive_entry_size(e)}});
      }
      check(archive_read_data_skip(reader.a), "skipping tar data");
    }
  }

  PathGlobs globs_;
  std::string text_;
  std::size_t layers_ = 0;
  nlohmann::json result_;
};

}  // namespace

void register_search_output(Registry& registry) {
  registry.add_output("search", "search:GLOB[,GLOB...]",
                      "print which layer holds each path matching a GLOB; writes no image",
                      [](const StageSpec& spec, const RunContext&) -> std::unique_ptr<OutputStore> {
                        check_options(spec, {});
                        return std::make_unique<SearchOutput>(PathGlobs(spec.argument, "search"), spec.text());
                      });
}

}  // namespace dd
