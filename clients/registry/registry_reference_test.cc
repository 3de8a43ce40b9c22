#include "clients/registry/registry_reference.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace dd {
namespace {

TEST(RegistryReference, HostPortRepositoryTag) {
  const auto r = parse_registry_reference("//registry.site:5000/team/app:v2");
  EXPECT_EQ(r.host, "registry.site:5000");
  EXPECT_EQ(r.repository, "team/app");
  EXPECT_EQ(r.tag, "v2");
  EXPECT_EQ(r.reference(), "v2");
  EXPECT_EQ(r.str(), "registry.site:5000/team/app:v2");
  EXPECT_FALSE(r.is_loopback());
}

TEST(RegistryReference, NoTagMeansLatest) {
  EXPECT_EQ(parse_registry_reference("//127.0.0.1:5000/app").tag, "latest");
}

TEST(RegistryReference, DigestIsWhatIsAskedFor) {
  const std::string digest = "sha256:" + std::string(64, 'a');
  const auto r = parse_registry_reference("//localhost:5000/app@" + digest);
  EXPECT_EQ(r.digest, digest);
  EXPECT_EQ(r.reference(), digest);
  EXPECT_TRUE(r.tag.empty());
  EXPECT_TRUE(r.is_loopback());
}

TEST(RegistryReference, BareNamesAreOnDockerHub) {
  const auto r = parse_registry_reference("//alpine");
  EXPECT_EQ(r.host, "docker.io");
  EXPECT_EQ(r.repository, "library/alpine");
  EXPECT_EQ(r.api_host(), "registry-1.docker.io");
  EXPECT_EQ(parse_registry_reference("//index.docker.io/team/app:1").host, "docker.io");
}

TEST(RegistryReference, LoopbackHosts) {
  EXPECT_TRUE(parse_registry_reference("//127.0.0.1/app").is_loopback());
  EXPECT_TRUE(parse_registry_reference("//127.3.4.5:80/app").is_loopback());
  EXPECT_TRUE(parse_registry_reference("//localhost/app").is_loopback());
  EXPECT_FALSE(parse_registry_reference("//localhost.evil.example/app").is_loopback());
  EXPECT_FALSE(parse_registry_reference("//127.example.com/app").is_loopback());  // a name, not an address
}

TEST(RegistryReference, MalformedNamesAreUsageErrors) {
  for (const char* bad : {"127.0.0.1:5000/app", "//", "//Host:5000/UPPER", "//host/app:bad tag", "//host/app@sha256:12",
                          "//host/../etc", "//host/a//b"}) {
    try {
      parse_registry_reference(bad);
      ADD_FAILURE() << bad << " was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::usage) << bad;
    }
  }
}

}  // namespace
}  // namespace dd
