// Element data holds one kind of element; asking it for another kind fails loudly.
#include "pipeline/element.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace dd {
namespace {

TEST(ElementData, SaysWhatItHoldsAndRefusesOtherKinds) {
  const std::string config = "{}";
  ElementData c = ElementData::of_config(config);
  EXPECT_EQ(c.type(), ElementType::config);
  EXPECT_EQ(&c.config(), &config);
  try {
    (void)c.layer();
    FAIL() << "a config element handed out a layer";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::internal);
    EXPECT_STREQ(e.what(), "a stage asked a config element for its layer");
  }
  EXPECT_THROW((void)c.body(), Error);
  EXPECT_THROW(c.set_body(nullptr), Error);
  EXPECT_THROW((void)c.with_layer(LayerInfo{}, nullptr), Error);

  const ImageManifest manifest;
  EXPECT_EQ(ElementData::of_manifest(manifest).type(), ElementType::manifest);
  EXPECT_THROW((void)ElementData::of_manifest(manifest).index(), Error);
  const IndexInfo index;
  EXPECT_EQ(ElementData::of_index(index).type(), ElementType::index);
  EXPECT_THROW((void)ElementData::of_index(index).config(), Error);
}

TEST(ElementData, ALayerKeepsItsAttachmentsWhenItsBodyIsReplaced) {
  LayerInfo info;
  info.index = 3;
  ElementData l = ElementData::of_layer(info, nullptr);
  EXPECT_EQ(l.body(), nullptr);
  EXPECT_EQ(l.layer().index, 3u);
  EXPECT_EQ(l.attachment<int>(), nullptr);
  const int note = 42;
  const std::string other = "text";
  l.attach(note);
  l.attach(other);
  LayerInfo rewritten = info;
  rewritten.index = 4;
  const ElementData forwarded = l.with_layer(rewritten, nullptr);
  EXPECT_EQ(forwarded.layer().index, 4u);
  ASSERT_NE(forwarded.attachment<int>(), nullptr);
  EXPECT_EQ(*forwarded.attachment<int>(), 42);
  EXPECT_EQ(*forwarded.attachment<std::string>(), "text");
  EXPECT_EQ(forwarded.attachment<double>(), nullptr);
  EXPECT_EQ(l.layer().index, 3u) << "the original is unchanged";
}

}  // namespace
}  // namespace dd
