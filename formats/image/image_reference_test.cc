#include "formats/image/image_reference.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace dd {
namespace {

ImageReference ok(std::string_view text) {
  std::string why;
  auto r = try_parse_image_reference(text, &why);
  EXPECT_TRUE(r.has_value()) << text << ": " << why;
  return r.value_or(ImageReference{});
}

bool refused(std::string_view text) { return !try_parse_image_reference(text).has_value(); }

TEST(ImageReference, NormalisesDockerHubNames) {
  const auto r = ok("busybox");
  EXPECT_EQ(r.domain, "docker.io");
  EXPECT_EQ(r.path, "library/busybox");
  EXPECT_EQ(r.tag, "");
  EXPECT_EQ(r.tag_or_latest(), "latest");
  EXPECT_EQ(r.familiar_name(), "busybox");
  EXPECT_EQ(r.str(), "docker.io/library/busybox");
  EXPECT_EQ(ok("docker.io/library/busybox:1.36"), ok("busybox:1.36"));
  EXPECT_EQ(ok("index.docker.io/library/busybox:1.36"), ok("busybox:1.36"));
  EXPECT_EQ(ok("team/app:v1").path, "team/app");
  EXPECT_EQ(ok("docker.io/team/app:v1").familiar(), "team/app:v1");
}

TEST(ImageReference, DomainsPortsAndDigests) {
  const auto r = ok("localhost:5000/team/app:v2");
  EXPECT_EQ(r.domain, "localhost:5000");
  EXPECT_EQ(r.path, "team/app");
  EXPECT_EQ(r.tag, "v2");
  EXPECT_EQ(r.familiar(), "localhost:5000/team/app:v2");
  EXPECT_EQ(ok("localhost/app").domain, "localhost");
  EXPECT_EQ(ok("Registry.Example.com/app").domain, "Registry.Example.com");
  EXPECT_EQ(ok("[::1]:5000/app:v1").domain, "[::1]:5000");
  const std::string hex(64, 'a');
  const auto d = ok("app@sha256:" + hex);
  EXPECT_EQ(d.digest, "sha256:" + hex);
  EXPECT_EQ(d.tag_or_latest(), "");
  EXPECT_EQ(ok("app:v1@sha256:" + hex).tag, "v1");
  EXPECT_EQ(ok("team/a__b.c-d---e/f_g:W_0.-x").path, "team/a__b.c-d---e/f_g");
  EXPECT_TRUE(!try_parse_image_reference("a__b.c/app"));  // a head with a dot is a domain, and _ is not in one
}

TEST(ImageReference, RefusesWhatDockerRefuses) {
  EXPECT_TRUE(refused(""));
  EXPECT_TRUE(refused("app:v1\r\nX-Injected: 1"));
  EXPECT_TRUE(refused("app:v1\n"));
  EXPECT_TRUE(refused("app v1"));
  EXPECT_TRUE(refused("App:v1"));           // repository must be lower-case
  EXPECT_TRUE(refused("team/App"));
  EXPECT_TRUE(refused("../../etc/passwd"));
  EXPECT_TRUE(refused("/abs"));
  EXPECT_TRUE(refused("app/"));
  EXPECT_TRUE(refused("app//x"));
  EXPECT_TRUE(refused("app:"));
  EXPECT_TRUE(refused("app:-v1"));          // a tag starts with a word character
  EXPECT_TRUE(refused("app:.v1"));
  EXPECT_TRUE(refused("app:" + std::string(129, 'a')));
  EXPECT_FALSE(refused("app:" + std::string(128, 'a')));
  EXPECT_TRUE(refused("-app"));
  EXPECT_TRUE(refused("app-"));
  EXPECT_TRUE(refused("a..b"));
  EXPECT_TRUE(refused("a___b"));
  EXPECT_TRUE(refused("app@sha256:abc"));
  EXPECT_TRUE(refused("app@sha256:" + std::string(64, 'A')));
  EXPECT_TRUE(refused("app@"));
  EXPECT_TRUE(refused("@sha256:" + std::string(64, 'a')));
  EXPECT_TRUE(refused(std::string(64, 'a')));  // an image ID, not a name
  EXPECT_TRUE(refused("host:port/app"));
  EXPECT_TRUE(refused("-host.com/app"));
  EXPECT_TRUE(refused("h\xc3\xa9.com/app"));
  EXPECT_TRUE(refused("app\xff"));
  EXPECT_TRUE(refused(std::string("app\0x", 5)));
}

TEST(ImageReference, NameLengthLimit) {
  // docker.io/library/ + 237 = 255 characters.
  EXPECT_FALSE(refused(std::string(237, 'a')));
  EXPECT_TRUE(refused(std::string(238, 'a')));
  EXPECT_TRUE(refused(std::string(100000, 'a')));
}

TEST(ImageReference, FailureNamesTheTextEscaped) {
  try {
    parse_image_reference("app:v1\r\nX: y", "package tag");
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::bad_input);
    const std::string m = e.what();
    EXPECT_NE(m.find("package tag 'app:v1\\x0d\\x0aX: y'"), std::string::npos) << m;
    EXPECT_EQ(m.find('\r'), std::string::npos);
  }
}

TEST(ImageReference, ImageIds) {
  EXPECT_TRUE(is_image_id("sha256:" + std::string(64, 'b')));
  EXPECT_TRUE(is_image_id(std::string(64, 'b')));
  EXPECT_TRUE(is_image_id("0123456789ab"));
  EXPECT_FALSE(is_image_id("0123456789a"));
  EXPECT_FALSE(is_image_id("sha256:abc"));
  EXPECT_FALSE(is_image_id("busybox"));
}

}  // namespace
}  // namespace dd
