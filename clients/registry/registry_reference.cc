#include "clients/registry/registry_reference.h"

#include "core/error.h"
#include "core/printable.h"
#include "formats/image/image_reference.h"

namespace dd {

std::string RegistryReference::str() const {
  return host + "/" + repository + (digest.empty() ? ":" + tag : "@" + digest);
}

bool RegistryReference::is_loopback() const {
  std::string name = host;
  if (name.starts_with("[")) name = name.substr(1, name.find(']') - 1);
  else if (const auto colon = name.rfind(':'); colon != std::string::npos) name = name.substr(0, colon);
  return name == "localhost" || name == "::1" || name.starts_with("127.");
}

RegistryReference parse_registry_name(std::string_view text) {
  if (text.empty()) fail(Errc::usage, "docker: needs an image: docker://HOST[:PORT]/REPO[:TAG|@DIGEST]");
  std::string why;
  const auto parsed = try_parse_image_reference(text, &why);
  if (!parsed) fail(Errc::usage, "'docker://{}' is not an image reference: {}", printable(text.substr(0, 300)), why);
  RegistryReference ref;
  ref.host = parsed->domain;
  if (ref.host == "index.docker.io" || ref.host == "registry-1.docker.io") ref.host = "docker.io";
  ref.repository = parsed->path;
  ref.digest = parsed->digest;
  ref.tag = parsed->digest.empty() ? parsed->tag_or_latest() : parsed->tag;
  return ref;
}

RegistryReference parse_registry_reference(std::string_view text) {
  if (!text.starts_with("//"))
    fail(Errc::usage, "'docker:{}' must start with '//': docker://HOST[:PORT]/REPO[:TAG|@DIGEST]", printable(text));
  return parse_registry_name(text.substr(2));
}

}  // namespace dd
