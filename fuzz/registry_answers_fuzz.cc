// What a registry (or a file beside it) says that the registry client parses: WWW-Authenticate
// challenges, auth files, the distribution spec's error JSON and image names.
#include "clients/registry/registry_auth.h"
#include "clients/registry/registry_client.h"
#include "clients/registry/registry_reference.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace dd;
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  if (const auto c = parse_challenge(bytes)) DD_FUZZ_CHECK(c->params.size() <= bytes.size());
  fuzz::refusal_is_fine([&] {
    if (const auto creds = credentials_in_auth_file(bytes, "registry.example:5000", "auth.json"))
      DD_FUZZ_CHECK(creds->user.size() <= bytes.size());
  });
  HttpResponse response;
  response.status = 404;
  response.body = bytes;
  const std::string text = registry_error_text(response);
  DD_FUZZ_CHECK(text.size() < 1024);
  fuzz::refusal_is_fine([&] {
    const RegistryReference ref = parse_registry_name(bytes);
    DD_FUZZ_CHECK(!ref.repository.empty() && !ref.host.empty());
    DD_FUZZ_CHECK(!ref.tag.empty() || !ref.digest.empty());
  });
  return 0;
}
