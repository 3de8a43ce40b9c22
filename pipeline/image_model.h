// What stages know about an image: descriptors, the image manifest (normalised from whatever
// kind the source holds), the platforms of an index, and the facts a config gives.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/digest.h"
#include "pipeline/platform.h"

namespace dd {

namespace media_type {
inline constexpr char kOciIndex[] = "application/vnd.oci.image.index.v1+json";
inline constexpr char kOciManifest[] = "application/vnd.oci.image.manifest.v1+json";
inline constexpr char kOciConfig[] = "application/vnd.oci.image.config.v1+json";
inline constexpr char kOciLayer[] = "application/vnd.oci.image.layer.v1.tar";
inline constexpr char kOciLayerGzip[] = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr char kOciLayerZstd[] = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr char kDockerManifestList[] = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr char kDockerManifest[] = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr char kDockerConfig[] = "application/vnd.docker.container.image.v1+json";
inline constexpr char kDockerLayer[] = "application/vnd.docker.image.rootfs.diff.tar";
inline constexpr char kDockerLayerGzip[] = "application/vnd.docker.image.rootfs.diff.tar.gzip";
}  // namespace media_type

inline constexpr char kRefNameAnnotation[] = "org.opencontainers.image.ref.name";
inline constexpr char kContainerdNameAnnotation[] = "io.containerd.image.name";

struct Descriptor {
  std::string media_type;
  Digest digest;
  std::optional<std::uint64_t> size;  // unknown for docker-save layer files until read
  std::optional<Platform> platform;
  std::map<std::string, std::string> annotations;
};

enum class ManifestKind { oci_index, docker_manifest_list, oci_manifest, docker_schema2, docker_save };
std::string_view to_string(ManifestKind kind);

// One image, whatever kind of manifest described it.
struct ImageManifest {
  ManifestKind kind = ManifestKind::oci_manifest;
  std::string raw;                     // the manifest's bytes; empty for docker-save entries
  std::optional<Digest> digest;        // of `raw`, when the manifest is itself a blob
  Descriptor config;
  std::vector<Descriptor> layers;      // as stored by the source
  std::vector<std::string> repo_tags;  // docker-save RepoTags, or the OCI ref name
  std::map<std::string, std::string> annotations;
};

// One image manifest named by an index, with the platform the index gives for it.
struct IndexEntry {
  Descriptor manifest;
  std::optional<Platform> platform;
};

struct IndexInfo {
  std::vector<IndexEntry> entries;  // leaves only: nested indexes are flattened
};

// The parts of an image config the pipeline needs; the config bytes themselves pass unchanged.
struct ConfigFacts {
  std::vector<Digest> diff_ids;
  Platform platform;
};

}  // namespace dd
