#include "filters/platform_filter.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace dd {
namespace {

// The next stage: wants everything, records nothing else.
class WantsAll : public Stage {
 public:
  bool fetch_callback(const Digest&, BlobKind) override { return true; }
  void process_image_element(ElementType, const std::string&, ElementData&) override {}
  void finalize() override {}
};

IndexEntry entry(const std::string& name, const std::string& platform) {
  IndexEntry e;
  e.manifest.digest = Digest::sha256_of(name);
  e.platform = Platform::parse(platform);
  return e;
}

// Which entry of `index` the filter lets through for `wanted`.
std::string chosen(const std::vector<IndexEntry>& entries, const std::string& wanted) {
  WantsAll next;
  PlatformFilter filter(next, Platform::parse(wanted), true, Limits{});
  IndexInfo index{entries};
  ElementData d = ElementData::of_index(index);
  filter.process_image_element(ElementType::index, "index", d);
  std::string out;
  for (const auto& e : entries)
    if (filter.fetch_callback(e.manifest.digest, BlobKind::manifest)) out += e.platform->str();
  return out;
}

TEST(PlatformFilter, PrefersTheDefaultVariantAsDockerDoes) {
  const std::vector<IndexEntry> arm = {entry("v6", "linux/arm/v6"), entry("v7", "linux/arm/v7")};
  EXPECT_EQ(chosen(arm, "linux/arm"), "linux/arm/v7");
  EXPECT_EQ(chosen(arm, "linux/arm/v6"), "linux/arm/v6");
  EXPECT_EQ(chosen({entry("v6", "linux/arm/v6")}, "linux/arm"), "linux/arm/v6");  // compatible fallback
}

TEST(PlatformFilter, PassesExactlyOneImage) {
  const std::vector<IndexEntry> multi = {entry("a", "linux/amd64"), entry("b", "linux/arm64/v8"),
                                         entry("c", "linux/s390x")};
  EXPECT_EQ(chosen(multi, "linux/arm64"), "linux/arm64/v8");
  EXPECT_EQ(chosen(multi, "linux/amd64"), "linux/amd64");
}

TEST(PlatformFilter, NoMatchListsWhatThereIs) {
  try {
    chosen({entry("a", "linux/amd64"), entry("b", "linux/arm64")}, "linux/riscv64");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::not_found);
    EXPECT_NE(std::string(e.what()).find("linux/amd64, linux/arm64"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace dd
