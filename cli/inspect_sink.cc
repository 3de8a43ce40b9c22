#include "cli/inspect_sink.h"

#include "formats/image/manifest_parser.h"
#include "stores/image_emitter.h"

namespace dd::cli {

// Manifests are small and always wanted; layer bodies only to verify them.
bool InspectSink::fetch_callback(const Digest&, BlobKind kind) { return kind == BlobKind::manifest || verify_; }

void InspectSink::process_image_element(ElementType type, const std::string&, ElementData& data) {
  switch (type) {
    case ElementType::index:
      for (const auto& e : data.index().entries)
        if (e.platform) platforms_.push_back(e.platform->str());
      break;
    case ElementType::manifest:
      result_["source"] = source_;
      result_["manifest_kind"] = std::string(to_string(data.manifest().kind));
      result_["manifest_digest"] = data.manifest().digest ? nlohmann::json(data.manifest().digest->str()) : nlohmann::json();
      result_["repo_tags"] = data.manifest().repo_tags;
      result_["layers"] = nlohmann::json::array();
      break;
    case ElementType::config: {
      const ConfigFacts facts = parse_config(data.config(), Limits{});
      result_["image_id"] = Digest::sha256_of(data.config()).str();
      result_["config_size"] = data.config().size();
      result_["platform"] = facts.platform.str();
      result_["platforms"] = platforms_.empty() ? std::vector<std::string>{facts.platform.str()} : platforms_;
      break;
    }
    case ElementType::layer: {
      const LayerInfo& l = data.layer();
      nlohmann::json j;
      // What the source holds, not what the pipeline passes on.
      j["digest"] = l.source.digest.empty() ? nlohmann::json() : nlohmann::json(l.source.digest.str());
      j["diff_id"] = l.diff_id.str();
      j["size"] = l.source.size.value_or(0);
      j["media_type"] = l.source.media_type;
      const bool absent = l.source.annotations.count(kAbsentBlobMark) > 0;
      // An absent blob has no magic bytes to tell its compression by.
      j["compression"] = absent ? nlohmann::json() : nlohmann::json(std::string(to_string(l.source_compression)));
      j["present"] = !absent;
      if (absent) result_["absent_layers"] = result_.value("absent_layers", 0) + 1;
      result_["layers"].push_back(j);
      break;
    }
  }
}

}  // namespace dd::cli
