#include "formats/archive/layer_tar_index.h"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "core/error.h"
#include "tests/support/temp_dir.h"

namespace dd {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// A tree with what makes members longer than one header and their data: a name past 100 bytes
// (pax or GNU long-name headers), a hard link, a symlink, a sparse file, an empty file.
void make_tree(const TempDir& dir) {
  const std::string t = dir.file("tree");
  const std::string long_dir = t + "/" + std::string(60, 'd') + "/" + std::string(60, 'e');
  ASSERT_EQ(std::system(("mkdir -p " + long_dir).c_str()), 0);
  std::ofstream(long_dir + "/file-with-a-long-name.txt") << std::string(3000, 'x');
  std::ofstream(t + "/a.txt") << "hello";
  std::ofstream(t + "/empty");
  ASSERT_EQ(std::system(("ln " + t + "/a.txt " + t + "/hard && ln -s a.txt " + t + "/soft && truncate -s 5M " + t +
                         "/sparse && printf tail >> " + t + "/sparse")
                            .c_str()),
            0);
}

LayerTarIndex index_of(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY));
  const std::uint64_t size = slurp(path).size();
  return index_layer_tar(fd, 0, size, Limits{}, "test layer");
}

class LayerTarIndexFormats : public ::testing::TestWithParam<const char*> {};

// Members tile the archive: each starts where the one before ends, so copying any subset of
// [header_offset, end_offset) ranges plus the end-of-archive blocks gives a well-formed tar.
TEST_P(LayerTarIndexFormats, MembersTileTheArchive) {
  TempDir dir;
  make_tree(dir);
  const std::string tar = dir.file("layer.tar");
  ASSERT_EQ(std::system(("tar -C " + dir.file("tree") + " " + GetParam() + " -cf " + tar + " .").c_str()), 0);
  const std::string bytes = slurp(tar);
  const LayerTarIndex index = index_of(tar);
  ASSERT_GE(index.members.size(), 7u);
  std::uint64_t at = 0;
  std::string without_hello;  // the archive with a.txt left out
  for (const auto& m : index.members) {
    EXPECT_EQ(m.header_offset, at) << m.path;
    EXPECT_GE(m.end_offset, m.data_offset + m.size) << m.path;
    if (m.path != "a.txt") without_hello += bytes.substr(m.header_offset, m.end_offset - m.header_offset);
    at = m.end_offset;
  }
  without_hello += bytes.substr(at);
  bool saw_link = false;
  for (const auto& m : index.members) saw_link |= !m.link_target.empty();
  EXPECT_TRUE(saw_link) << "one of a.txt and hard is a hard link to the other";

  std::ofstream(dir.file("cut.tar"), std::ios::binary) << without_hello;
  const LayerTarIndex cut = index_of(dir.file("cut.tar"));
  EXPECT_EQ(cut.members.size(), index.members.size() - 1);
  for (const auto& m : cut.members) EXPECT_NE(m.path, "a.txt");
}

INSTANTIATE_TEST_SUITE_P(Tar, LayerTarIndexFormats,
                         ::testing::Values("--format=pax", "--format=gnu", "--format=gnu --sparse", "--format=pax --sparse"));

TEST(LayerTarIndex, ATruncatedMemberIsRefused) {
  TempDir dir;
  std::ofstream(dir.file("big")) << std::string(100000, 'b');
  ASSERT_EQ(std::system(("tar -C " + dir.path() + " -cf " + dir.file("l.tar") + " big").c_str()), 0);
  const std::string bytes = slurp(dir.file("l.tar"));
  std::ofstream(dir.file("short.tar"), std::ios::binary) << bytes.substr(0, 50000);
  EXPECT_THROW(index_of(dir.file("short.tar")), Error);
}

}  // namespace
}  // namespace dd
