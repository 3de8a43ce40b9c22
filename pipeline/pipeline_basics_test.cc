// Platforms, paths and the registry's suggestions.
#include <gtest/gtest.h>

#include "core/digest.h"
#include "core/error.h"
#include "pipeline/platform.h"
#include "pipeline/registry.h"

namespace dd {
namespace {

TEST(Platform, ParsesAndMatchesWithDefaultVariants) {
  EXPECT_EQ(Platform::parse("linux/arm64").str(), "linux/arm64");
  EXPECT_EQ(Platform::parse("linux/x86_64").architecture, "amd64");
  EXPECT_THROW(Platform::parse("linux"), Error);
  EXPECT_THROW(Platform::parse("linux/arm/v7/x"), Error);
  EXPECT_TRUE(Platform::parse("linux/arm64").matches({"linux", "arm64", "v8"}));
  EXPECT_TRUE(Platform::parse("linux/arm64/v8").matches({"linux", "arm64", ""}));
  EXPECT_FALSE(Platform::parse("linux/arm/v6").matches({"linux", "arm", ""}));
  EXPECT_FALSE(Platform::parse("linux/amd64").matches({"linux", "arm64", ""}));
  EXPECT_FALSE(Platform::parse("linux/amd64").matches({"windows", "amd64", ""}));
}

TEST(Platform, ExactMatchAppliesDefaultVariants) {
  EXPECT_TRUE(Platform::parse("linux/arm").matches_exactly({"linux", "arm", "v7"}));
  EXPECT_FALSE(Platform::parse("linux/arm").matches_exactly({"linux", "arm", "v6"}));
  EXPECT_TRUE(Platform::parse("linux/arm").matches({"linux", "arm", "v6"}));
  EXPECT_TRUE(Platform::parse("linux/arm64").matches_exactly({"linux", "arm64", ""}));
}

TEST(Registry, SuggestsCloseNames) {
  EXPECT_EQ(did_you_mean("oci-archve", {"oci", "oci-archive", "docker-archive"}), "oci-archive");
  EXPECT_EQ(did_you_mean("procss", {"process", "inspect"}), "process");
  EXPECT_EQ(did_you_mean("zzzzzz", {"process", "inspect"}), "");
}

TEST(Registry, UnknownStageIsAUsageErrorWithSuggestion) {
  Registry r;
  r.add_output("oci-archive", "oci-archive:PATH", "x", [](const StageSpec&, const RunContext&) { return nullptr; });
  try {
    r.make_output(parse_stage_spec("oci-archve:x"), RunContext{});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::usage);
    EXPECT_NE(std::string(e.what()).find("did you mean 'oci-archive'"), std::string::npos) << e.what();
  }
}

TEST(StageSpec, SplitsAtTheFirstColon) {
  const StageSpec s = parse_stage_spec("oci:dir:localhost/app:v1");
  EXPECT_EQ(s.kind, "oci");
  EXPECT_EQ(s.argument, "dir:localhost/app:v1");
  EXPECT_EQ(split_path_and_ref(s.argument).second, "localhost/app:v1");
}

}  // namespace
}  // namespace dd
