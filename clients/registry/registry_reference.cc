#include "clients/registry/registry_reference.h"

#include <algorithm>

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
  if (name == "localhost" || name == "::1") return true;
  // 127.0.0.0/8 as a dotted address: "127.example.com" is a name anyone may own.
  return name.starts_with("127.") && name.find_first_not_of("0123456789.") == std::string::npos &&
         std::count(name.begin(), name.end(), '.') == 3;
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
