// What `--force` may replace: only what docker_delta itself would have written there. A tar
// output replaces a tar file, a package output a file that starts with the package magic, an OCI
// layout a directory that holds an OCI layout and nothing else; anything else is refused, so a
// mistyped destination (`oci:$HOME`) costs nothing.
#pragma once

#include <optional>
#include <string>

namespace dd {

enum class OutputContent {
  regular_file,   // any regular file (a JSON document such as an inventory)
  tar_archive,    // docker-archive, oci-archive
  delta_package,  // delta:PACKAGE
  oci_layout,     // oci:DIR
  directory_transport,  // dir:DIR (skopeo's): version, manifest.json, one plain file per blob
};

std::string_view to_string(OutputContent content);

// Why the existing `path` may not be replaced by an output of `content`, or nullopt when it may.
std::optional<std::string> why_not_replaceable(const std::string& path, OutputContent content);

// Removes an OCI layout (as why_not_replaceable accepts it) or a regular file, entry by entry:
// nothing outside that shape is ever deleted, even if the tree changed since it was checked.
// Returns false when something unexpected was left in place.
bool remove_replaced(const std::string& path) noexcept;

}  // namespace dd
