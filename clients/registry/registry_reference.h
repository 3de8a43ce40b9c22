// "docker://HOST[:PORT]/REPO[:TAG|@DIGEST]", skopeo's name for an image in a registry, parsed
// into where to connect and what to ask for. A name without a host is on Docker Hub, as docker
// and skopeo read it ("alpine" is docker.io/library/alpine:latest).
#pragma once

#include <string>
#include <string_view>

namespace dd {

struct RegistryReference {
  std::string host;        // "registry.site:5000"; "docker.io" for Docker Hub
  std::string repository;  // "team/app"; "library/alpine" on Docker Hub
  std::string tag;         // set unless digest is
  std::string digest;      // "sha256:..." when the reference pins one

  // The host to connect to: Docker Hub's API lives on registry-1.docker.io.
  std::string api_host() const { return host == "docker.io" ? "registry-1.docker.io" : host; }
  // What the manifests endpoint is asked for: the digest when given, else the tag.
  const std::string& reference() const { return digest.empty() ? tag : digest; }
  // "host/repo:tag" or "host/repo@digest", as docker names the image.
  std::string str() const;
  // localhost, 127.0.0.0/8 and ::1: plain HTTP is allowed there, as skopeo and docker allow it.
  bool is_loopback() const;
};

// Parses the text after "docker:" ("//host/repo:tag"; the leading "//" is required). Errc::usage
// for a malformed name, naming what is wrong.
RegistryReference parse_registry_reference(std::string_view text);

// Parses a reference without the leading "//" but with a host ("host/repo:tag"), as a package's
// base names are written.
RegistryReference parse_registry_name(std::string_view text);

}  // namespace dd
