#include "formats/archive/tar_tree.h"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "tests/support/temp_dir.h"

namespace dd {
namespace {

struct Member {
  std::string name;
  std::string content;      // regular file
  std::string symlink = {}; // when set, a symlink to this target
  std::string hardlink = {};
};

// Writes a tar in one of libarchive's dialects, so the index is tested on each header style.
void write_tar(const std::string& path, const std::vector<Member>& members, int format) {
  archive* a = archive_write_new();
  archive_write_set_format(a, format);
  ASSERT_EQ(archive_write_open_filename(a, path.c_str()), ARCHIVE_OK);
  for (const auto& m : members) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, m.name.c_str());
    archive_entry_set_perm(e, 0644);
    if (!m.symlink.empty()) {
      archive_entry_set_filetype(e, AE_IFLNK);
      archive_entry_set_symlink(e, m.symlink.c_str());
      archive_entry_set_size(e, 0);
    } else if (!m.hardlink.empty()) {
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_set_hardlink(e, m.hardlink.c_str());
      archive_entry_set_size(e, 0);
    } else {
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_set_size(e, static_cast<la_int64_t>(m.content.size()));
    }
    ASSERT_EQ(archive_write_header(a, e), ARCHIVE_OK) << archive_error_string(a);
    if (m.symlink.empty() && m.hardlink.empty() && !m.content.empty()) {
      ASSERT_EQ(archive_write_data(a, m.content.data(), m.content.size()), static_cast<la_ssize_t>(m.content.size()));
    }
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
}

std::string read_member(const TarTree& tree, const std::string& name) {
  auto s = tree.open(tree.find(name));
  return read_capped(*s, 1 << 24, name);
}

class TarTreeFormats : public ::testing::TestWithParam<int> {};

TEST_P(TarTreeFormats, ReadsEveryMemberAtTheRightOffset) {
  TempDir dir;
  const std::string long_dir(150, 'd');  // longer than ustar's 100-byte name field
  const std::string big(70000, 'x');
  write_tar(dir.file("a.tar"),
            {{"first", "hello"}, {long_dir + "/second.bin", big}, {"./third", std::string(513, 'z')}, {"empty", ""}},
            GetParam());
  auto tree = TarTree::open_archive(dir.file("a.tar"), RunContext{});
  EXPECT_EQ(read_member(*tree, "first"), "hello");
  EXPECT_EQ(read_member(*tree, long_dir + "/second.bin"), big);
  EXPECT_EQ(read_member(*tree, "third"), std::string(513, 'z'));
  EXPECT_EQ(read_member(*tree, "empty"), "");
}

INSTANTIATE_TEST_SUITE_P(Dialects, TarTreeFormats,
                         ::testing::Values(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, ARCHIVE_FORMAT_TAR_PAX_INTERCHANGE,
                                           ARCHIVE_FORMAT_TAR_GNUTAR));

TEST(TarTree, FollowsSymlinksAndHardLinksInside) {
  TempDir dir;
  write_tar(dir.file("a.tar"),
            {{"one/layer.tar", "layer-bytes"},
             {"two/layer.tar", "", "../one/layer.tar"},
             {"three", "", "", "one/layer.tar"},
             {"alias", "", "one"}},
            ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
  auto tree = TarTree::open_archive(dir.file("a.tar"), RunContext{});
  EXPECT_EQ(read_member(*tree, "two/layer.tar"), "layer-bytes");
  EXPECT_EQ(read_member(*tree, "three"), "layer-bytes");
  EXPECT_EQ(read_member(*tree, "alias/layer.tar"), "layer-bytes");
}

TEST(TarTree, RefusesSymlinksThatLeaveTheArchive) {
  TempDir dir;
  write_tar(dir.file("a.tar"),
            {{"up/layer.tar", "", "../../etc/passwd"}, {"abs/layer.tar", "", "/etc/passwd"}, {"loop", "", "loop"}},
            ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
  auto tree = TarTree::open_archive(dir.file("a.tar"), RunContext{});
  for (const char* name : {"up/layer.tar", "abs/layer.tar", "loop"}) {
    try {
      tree->find(name);
      FAIL() << name << " resolved";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::bad_input) << e.what();
    }
  }
}

TEST(TarTree, RefusesUnsafeLookupPaths) {
  TempDir dir;
  write_tar(dir.file("a.tar"), {{"x", "1"}}, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
  auto tree = TarTree::open_archive(dir.file("a.tar"), RunContext{});
  EXPECT_THROW(tree->find("../x"), Error);
  EXPECT_THROW(tree->find("/x"), Error);
  EXPECT_FALSE(tree->contains("y"));
  EXPECT_TRUE(tree->contains("./x"));
}

TEST(TarTree, DuplicateMembersMustAgree) {
  TempDir dir;
  write_tar(dir.file("same.tar"), {{"x", "1"}, {"x", "1"}}, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
  EXPECT_NO_THROW(TarTree::open_archive(dir.file("same.tar"), RunContext{}));
  write_tar(dir.file("diff.tar"), {{"x", "1"}, {"x", "2"}}, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
  try {
    TarTree::open_archive(dir.file("diff.tar"), RunContext{});
    FAIL() << "duplicate members with different content were accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("duplicate"), std::string::npos) << e.what();
  }
}

TEST(TarTree, TruncatedArchiveFails) {
  TempDir dir;
  write_tar(dir.file("a.tar"), {{"small", "1"}, {"big", std::string(100000, 'b')}}, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
  std::filesystem::resize_file(dir.file("a.tar"), 50000);
  try {
    auto tree = TarTree::open_archive(dir.file("a.tar"), RunContext{});
    read_member(*tree, "big");
    FAIL() << "a truncated member was read";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
  }
}

TEST(TarTree, ReadsGzipCompressedArchives) {
  TempDir dir;
  write_tar(dir.file("a.tar"), {{"m", "content"}}, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
  ASSERT_EQ(std::system(("gzip -k " + dir.file("a.tar")).c_str()), 0);
  auto tree = TarTree::open_archive(dir.file("a.tar.gz"), RunContext{});
  EXPECT_EQ(read_member(*tree, "m"), "content");
}

TEST(TarTree, NotATarIsBadInput) {
  TempDir dir;
  std::ofstream(dir.file("x")) << std::string(2000, 'q');
  try {
    TarTree::open_archive(dir.file("x"), RunContext{});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::bad_input) << e.what();
  }
}

}  // namespace
}  // namespace dd
