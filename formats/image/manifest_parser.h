// Parses the JSON documents of an image with the safety limits applied. The kind of a document is
// read from its content (fields and mediaType), never from a file name.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/limits.h"
#include "pipeline/image_model.h"

namespace dd {

// Parses JSON no larger than limits.max_json_bytes and no deeper than limits.max_json_depth.
nlohmann::json parse_json_limited(std::string_view bytes, const Limits& limits, std::string_view what);

// Errc::bad_input when the document is none of the known kinds; Errc::unsupported for schema 1.
ManifestKind detect_manifest_kind(const nlohmann::json& doc, std::string_view what);

Descriptor parse_descriptor(const nlohmann::json& doc, std::string_view what);

// An OCI image manifest or Docker schema2 manifest.
ImageManifest parse_image_manifest(std::string raw, const Limits& limits, std::string_view what);

// The direct entries of an OCI index or Docker manifest list (not flattened).
std::vector<IndexEntry> parse_index(std::string_view raw, const Limits& limits, std::string_view what);

// One image of a docker-save manifest.json.
struct DockerSaveEntry {
  std::string config_path;
  std::vector<std::string> layer_paths;
  std::vector<std::string> repo_tags;
};
std::vector<DockerSaveEntry> parse_docker_save_manifest(std::string_view raw, const Limits& limits);

ConfigFacts parse_config(std::string_view raw, const Limits& limits);

}  // namespace dd
