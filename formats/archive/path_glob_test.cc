#include "formats/archive/path_glob.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace dd {
namespace {

TEST(PathGlobs, AGlobWithoutSlashNamesANameAtAnyDepth) {
  const PathGlobs g("*.pyc,__pycache__", "exclude");
  EXPECT_TRUE(g.matches("a.pyc"));
  EXPECT_TRUE(g.matches("./usr/lib/python3/x.pyc"));
  EXPECT_TRUE(g.matches("usr/lib/__pycache__"));
  EXPECT_TRUE(g.matches("usr/lib/__pycache__/m.cpython-311.opt"));  // under a matching directory
  EXPECT_FALSE(g.matches("usr/lib/x.py"));
  EXPECT_FALSE(g.matches("usr/lib/pycache/x.py"));
}

TEST(PathGlobs, AGlobWithSlashIsAnchoredAtTheLayerRoot) {
  const PathGlobs g("/usr/share/doc,etc/*.conf", "exclude");
  EXPECT_TRUE(g.matches("usr/share/doc"));
  EXPECT_TRUE(g.matches("usr/share/doc/bash/copyright"));
  EXPECT_TRUE(g.matches("./etc/ld.so.conf"));
  EXPECT_TRUE(g.matches("etc/a/b.conf"));  // '*' crosses '/', as fnmatch without FNM_PATHNAME
  EXPECT_FALSE(g.matches("opt/usr/share/doc/x"));
  EXPECT_FALSE(g.matches("usr/share/docs"));
  EXPECT_FALSE(g.matches("usr/share"));
}

TEST(PathGlobs, TheRootIsNeverMatched) {
  const PathGlobs g("*", "exclude");
  EXPECT_FALSE(g.matches("./"));
  EXPECT_FALSE(g.matches("/"));
  EXPECT_TRUE(g.matches("bin"));
}

TEST(PathGlobs, AnEmptyListIsAUsageError) {
  EXPECT_THROW(PathGlobs(",,", "exclude"), Error);
  EXPECT_THROW(PathGlobs("", "search"), Error);
}

TEST(PathGlobs, NormalizesPaths) {
  EXPECT_EQ(normalized_layer_path("./a/b/"), "a/b");
  EXPECT_EQ(normalized_layer_path("//a"), "a");
  EXPECT_EQ(normalized_layer_path("."), "");
}

}  // namespace
}  // namespace dd
