#include "clients/registry/registry_auth.h"

#include <gtest/gtest.h>

#include "core/base64.h"
#include "core/error.h"

namespace dd {
namespace {

TEST(Challenge, BearerWithQuotedParameters) {
  const auto c = parse_challenge(
      R"(Bearer realm="https://auth.example/token",service="registry.example",scope="repository:team/app:pull,push")");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->scheme, "bearer");
  EXPECT_EQ(c->params.at("realm"), "https://auth.example/token");
  EXPECT_EQ(c->params.at("service"), "registry.example");
  EXPECT_EQ(c->params.at("scope"), "repository:team/app:pull,push");  // the comma inside quotes stays
}

TEST(Challenge, BasicAndOddSpacing) {
  const auto c = parse_challenge(R"(  basic realm="Registry Realm", charset=UTF-8)");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->scheme, "basic");
  EXPECT_EQ(c->params.at("realm"), "Registry Realm");
  EXPECT_EQ(c->params.at("charset"), "UTF-8");
}

TEST(Challenge, EscapesAndTruncation) {
  const auto c = parse_challenge(R"(Bearer realm="a\"b", error="insufficient_scope)");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->params.at("realm"), "a\"b");
  EXPECT_EQ(c->params.at("error"), "insufficient_scope");  // an unterminated quote ends the value
  EXPECT_FALSE(parse_challenge(""));
}

TEST(AuthFile, FindsTheHostByNameOrUrl) {
  const std::string auth = base64_encode("me:secret:with:colons");
  const std::string json = R"({"auths": {"https://other.example/v1/": {"auth": "eA=="},
                                         "https://registry.site:5000/v2/": {"auth": ")" + auth + R"("}}})";
  const auto c = credentials_in_auth_file(json, "registry.site:5000", "auth.json");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->user, "me");
  EXPECT_EQ(c->password, "secret:with:colons");
  EXPECT_EQ(c->source, "auth.json");
  EXPECT_FALSE(credentials_in_auth_file(json, "registry.site", "auth.json"));  // another port is another registry
}

TEST(AuthFile, DockerHubUnderItsOldName) {
  const std::string json = R"({"auths": {"https://index.docker.io/v1/": {"auth": ")" + base64_encode("u:p") + R"("}}})";
  const auto c = credentials_in_auth_file(json, "docker.io", "config.json");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->user, "u");
}

TEST(AuthFile, HelpersAreNotRunAndBadEntriesAreNamed) {
  EXPECT_FALSE(credentials_in_auth_file(R"({"credsStore": "desktop"})", "registry.site", "c.json"));
  EXPECT_FALSE(credentials_in_auth_file(R"({"auths": {"registry.site": {}}})", "registry.site", "c.json"));
  try {
    credentials_in_auth_file(R"({"auths": {"registry.site": {"auth": "bm9jb2xvbg=="}}})", "registry.site", "c.json");
    ADD_FAILURE() << "an auth without a colon was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::bad_input);
    EXPECT_EQ(std::string(e.what()).find("nocolon"), std::string::npos);  // the secret is not quoted
  }
  EXPECT_THROW(credentials_in_auth_file("not json", "registry.site", "c.json"), Error);
}

TEST(CredsFlag, UserAndPassword) {
  const auto c = parse_creds_flag("me:p:w");
  EXPECT_EQ(c.user, "me");
  EXPECT_EQ(c.password, "p:w");
  EXPECT_THROW(parse_creds_flag("me"), Error);
  EXPECT_THROW(parse_creds_flag(":pw"), Error);
}

}  // namespace
}  // namespace dd
