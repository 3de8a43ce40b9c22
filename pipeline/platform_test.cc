// Platform names are normalised as containerd does before they are compared.
#include "pipeline/platform.h"

#include <gtest/gtest.h>

namespace dd {
namespace {

TEST(PlatformNormalised, SpellsOutDefaultVariantsAndAliases) {
  EXPECT_EQ(Platform({"linux", "aarch64", ""}).normalized().str(), "linux/arm64/v8");
  EXPECT_EQ(Platform({"linux", "arm64", "8"}).normalized().str(), "linux/arm64/v8");
  EXPECT_EQ(Platform({"linux", "arm64", "v8.0"}).normalized().str(), "linux/arm64/v8");
  EXPECT_EQ(Platform({"linux", "arm64", "9.0"}).normalized().str(), "linux/arm64/v9");
  EXPECT_EQ(Platform({"linux", "amd64", "v1"}).normalized().str(), "linux/amd64");
  EXPECT_EQ(Platform({"linux", "x86_64", ""}).normalized().str(), "linux/amd64");
  EXPECT_EQ(Platform({"linux", "amd64", "v3"}).normalized().str(), "linux/amd64/v3");
  EXPECT_EQ(Platform({"linux", "armhf", ""}).normalized().str(), "linux/arm/v7");
  EXPECT_EQ(Platform({"linux", "armel", ""}).normalized().str(), "linux/arm/v6");
  EXPECT_EQ(Platform({"linux", "arm", "7"}).normalized().str(), "linux/arm/v7");
  EXPECT_EQ(Platform({"linux", "i386", "x"}).normalized().str(), "linux/386");
  EXPECT_EQ(Platform({"Linux", "ARM64", "V8"}).normalized().str(), "linux/arm64/v8");
  EXPECT_EQ(Platform({"macos", "arm64", ""}).normalized().str(), "darwin/arm64/v8");
}

TEST(PlatformNormalised, EqualPlatformsMatchWhateverTheSpelling) {
  // An index that says arm64 (no variant) is what --platform linux/arm64/v8 asks for, and back.
  EXPECT_TRUE(Platform::parse("linux/arm64/v8").matches_exactly({"linux", "arm64", ""}));
  EXPECT_TRUE(Platform::parse("linux/arm64").matches_exactly({"linux", "arm64", "v8"}));
  EXPECT_TRUE(Platform::parse("linux/amd64").matches_exactly({"linux", "amd64", "v1"}));
  EXPECT_TRUE(Platform::parse("linux/amd64/v1").matches_exactly({"linux", "amd64", ""}));
  EXPECT_TRUE(Platform::parse("linux/aarch64").matches_exactly({"linux", "arm64", "v8"}));
  EXPECT_TRUE(Platform::parse("linux/armhf").matches_exactly({"linux", "arm", "v7"}));
  EXPECT_FALSE(Platform::parse("linux/arm64/v9").matches({"linux", "arm64", ""}));
  EXPECT_FALSE(Platform::parse("linux/amd64/v3").matches({"linux", "amd64", "v1"}));
  EXPECT_TRUE(Platform::parse("linux/amd64").matches({"linux", "amd64", "v3"}));  // no variant asked: any
  EXPECT_FALSE(Platform::parse("linux/arm64").matches({"linux", "amd64", ""}));
}

TEST(PlatformNormalised, ParseKeepsTheVariantAsked) {
  EXPECT_EQ(Platform::parse("linux/arm64").str(), "linux/arm64");
  EXPECT_EQ(Platform::parse("linux/arm64/v8").str(), "linux/arm64/v8");
  EXPECT_EQ(Platform::parse("linux/arm/7").str(), "linux/arm/v7");
  EXPECT_EQ(Platform::parse("linux/armhf").str(), "linux/arm/v7");
  EXPECT_EQ(Platform::parse("LINUX/X86_64").str(), "linux/amd64");
}

}  // namespace
}  // namespace dd
