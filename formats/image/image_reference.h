// Image references as docker reads them (the grammar of distribution/reference):
//   [DOMAIN/]PATH[:TAG][@DIGEST]
// Names that come from a package or an archive (its repo tags, its base image names) choose
// what the receiver tags and reads: each is parsed here once, and refused unless it is a
// reference docker itself would accept, before it reaches the daemon or a file name.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace dd {

struct ImageReference {
  std::string domain;  // "docker.io", "localhost:5000", "registry.example.com"
  std::string path;    // "library/busybox", "team/app"
  std::string tag;     // empty when none was given
  std::string digest;  // "sha256:<hex>", empty when none was given

  // "docker.io/library/busybox"
  std::string name() const;
  // The short form docker prints: "busybox", "team/app", "localhost:5000/app".
  std::string familiar_name() const;
  // The tag given, or "latest" when there is neither a tag nor a digest.
  std::string tag_or_latest() const;
  // Familiar name with the tag and digest given, e.g. "busybox:1.36" or "app@sha256:...".
  std::string familiar() const;
  // Fully qualified with the tag given, e.g. "docker.io/library/busybox:1.36".
  std::string str() const;

  bool operator==(const ImageReference&) const = default;
};

// Parses and normalises a reference: a name without a domain is on docker.io, a one-component
// docker.io name is under library/. nullopt (and the reason in `why`) when it is not one.
std::optional<ImageReference> try_parse_image_reference(std::string_view text, std::string* why = nullptr);

// As try_parse_image_reference; fails Errc::bad_input naming `what` (the text is escaped).
ImageReference parse_image_reference(std::string_view text, std::string_view what);

// True for an image ID as the daemon accepts one: "sha256:<64 hex>" or a 64-hex ID, or a
// prefix of at least 12 hex digits.
bool is_image_id(std::string_view text);

}  // namespace dd
