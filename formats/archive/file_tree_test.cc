#include <gtest/gtest.h>

#include "core/error.h"
#include "formats/archive/file_tree.h"

namespace dd {
namespace {

TEST(MemberPath, NormalisesAndRefusesEscapes) {
  EXPECT_EQ(normalize_member_path("./a//b/./c", "t"), "a/b/c");
  for (const char* bad : {"", "/etc/passwd", "../x", "a/../../x", "a/..", ".", "./"})
    EXPECT_THROW(normalize_member_path(bad, "t"), Error) << bad;
  EXPECT_EQ(resolve_link_target("a/b/layer.tar", "../c/layer.tar"), "a/c/layer.tar");
  EXPECT_EQ(resolve_link_target("a/layer.tar", "../c.tar"), "c.tar");
  EXPECT_THROW(resolve_link_target("a/layer.tar", "../../c.tar"), Error);
  EXPECT_THROW(resolve_link_target("a/layer.tar", "/c.tar"), Error);
}

}  // namespace
}  // namespace dd
