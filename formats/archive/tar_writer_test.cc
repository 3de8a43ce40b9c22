#include "formats/archive/tar_writer.h"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <map>
#include <string>

#include "core/error.h"
#include "tests/support/temp_dir.h"

namespace dd {
namespace {

struct ReadEntry {
  unsigned type = 0;
  unsigned perm = 0;
  std::int64_t mtime = -1;
  std::int64_t uid = -1, gid = -1;
  std::string uname, gname, symlink, content;
};

// Reads a whole tar back with libarchive: name -> entry, in archive order via `order`.
std::map<std::string, ReadEntry> read_tar(const std::string& path, std::vector<std::string>* order = nullptr) {
  archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  EXPECT_EQ(archive_read_open_filename(a, path.c_str(), 10240), ARCHIVE_OK);
  std::map<std::string, ReadEntry> entries;
  archive_entry* e = nullptr;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    ReadEntry r;
    r.type = archive_entry_filetype(e);
    r.perm = archive_entry_perm(e);
    r.mtime = archive_entry_mtime(e);
    r.uid = archive_entry_uid(e);
    r.gid = archive_entry_gid(e);
    r.uname = archive_entry_uname(e) ? archive_entry_uname(e) : "";
    r.gname = archive_entry_gname(e) ? archive_entry_gname(e) : "";
    r.symlink = archive_entry_symlink(e) ? archive_entry_symlink(e) : "";
    char buffer[65536];
    la_ssize_t n;
    while ((n = archive_read_data(a, buffer, sizeof buffer)) > 0) r.content.append(buffer, n);
    const std::string name = archive_entry_pathname(e);
    if (order) order->push_back(name);
    entries[name] = r;
  }
  archive_read_free(a);
  return entries;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class TarWriterTest : public ::testing::Test {
 protected:
  std::string path(const std::string& name) const { return dir_.file(name); }

  TempDir dir_;
};

std::string big_content() {
  std::string s;
  s.reserve(3 * kBlockSize + 123);
  std::uint32_t x = 12345;
  while (s.size() < 3 * kBlockSize + 123) {
    x = x * 1103515245 + 12345;
    s.push_back(static_cast<char>(x >> 24));
  }
  return s;
}

TEST_F(TarWriterTest, WritesDeterministicEntriesThatReadBack) {
  const std::string big = big_content();
  {
    std::ofstream(path("source.txt"), std::ios::binary) << "from a file\n";
  }
  TarWriter tar(path("out.tar"));
  tar.add_directory("blobs");
  MemoryStream body(big);
  tar.add_file("blobs/big", big.size(), body);
  tar.add_file_from_path("copied.txt", path("source.txt"));
  tar.add_symlink("link", "blobs/big");
  MemoryStream empty("");
  tar.add_file("empty", 0, empty);
  tar.close();

  std::vector<std::string> order;
  auto entries = read_tar(path("out.tar"), &order);
  ASSERT_EQ(order, (std::vector<std::string>{"blobs/", "blobs/big", "copied.txt", "link", "empty"}));
  EXPECT_EQ(entries["blobs/"].type, static_cast<unsigned>(AE_IFDIR));
  EXPECT_EQ(entries["blobs/"].perm, 0755u);
  EXPECT_EQ(entries["blobs/big"].content, big);
  EXPECT_EQ(entries["blobs/big"].perm, 0644u);
  EXPECT_EQ(entries["copied.txt"].content, "from a file\n");
  EXPECT_EQ(entries["link"].type, static_cast<unsigned>(AE_IFLNK));
  EXPECT_EQ(entries["link"].symlink, "blobs/big");
  EXPECT_EQ(entries["empty"].content, "");
  for (const auto& [name, e] : entries) {
    EXPECT_EQ(e.mtime, 0) << name;
    EXPECT_EQ(e.uid, 0) << name;
    EXPECT_EQ(e.gid, 0) << name;
    EXPECT_EQ(e.uname, "") << name;
    EXPECT_EQ(e.gname, "") << name;
  }
}

TEST_F(TarWriterTest, SameEntriesGiveSameBytes) {
  for (const char* name : {"a.tar", "b.tar"}) {
    TarWriter tar(path(name));
    MemoryStream body("hello");
    tar.add_file("a/very/long/" + std::string(150, 'x') + "/name", 5, body);
    tar.close();
  }
  EXPECT_EQ(read_file(path("a.tar")), read_file(path("b.tar")));
  auto entries = read_tar(path("a.tar"));
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries.begin()->first, "a/very/long/" + std::string(150, 'x') + "/name");
}

TEST_F(TarWriterTest, BodyLongerThanDeclaredFails) {
  TarWriter tar(path("out.tar"));
  MemoryStream body("six by");
  EXPECT_THROW(tar.add_file("f", 3, body), Error);
}

TEST_F(TarWriterTest, BodyShorterThanDeclaredFails) {
  TarWriter tar(path("out.tar"));
  MemoryStream body("ab");
  EXPECT_THROW(tar.add_file("f", 3, body), Error);
}

TEST_F(TarWriterTest, MissingSourceFileIsNotFound) {
  TarWriter tar(path("out.tar"));
  try {
    tar.add_file_from_path("f", path("missing"));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::not_found);
  }
}

TEST_F(TarWriterTest, UnwritablePathIsAnIoError) {
  try {
    TarWriter tar(path("no-such-dir/out.tar"));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::io);
    EXPECT_NE(std::string(e.what()).find("no-such-dir/out.tar"), std::string::npos);
  }
}

TEST_F(TarWriterTest, DestructorWithoutCloseDoesNotThrow) {
  EXPECT_NO_THROW({
    TarWriter tar(path("out.tar"));
    MemoryStream body("abc");
    tar.add_file("f", 3, body);
  });
}

TEST_F(TarWriterTest, AddingAfterCloseFails) {
  TarWriter tar(path("out.tar"));
  tar.close();
  EXPECT_NO_THROW(tar.close());
  EXPECT_THROW(tar.add_directory("d"), Error);
}

}  // namespace
}  // namespace dd

namespace dd {
namespace {

TEST_F(TarWriterTest, SinkGetsTheSameEntriesAsAFile) {
  const std::string big = big_content();
  std::string streamed;
  {
    TarWriter tar("streamed", [&](const char* p, std::size_t n) { streamed.append(p, n); });
    MemoryStream body(big);
    tar.add_file("blobs/big", big.size(), body);
    tar.close();
  }
  {
    std::ofstream(path("streamed.tar"), std::ios::binary) << streamed;
  }
  auto entries = read_tar(path("streamed.tar"));
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries["blobs/big"].content, big);
  // Padded to whole 512-byte records, with the two zero records at the end and nothing more.
  EXPECT_EQ(streamed.size() % 512, 0u);
  EXPECT_EQ(streamed.size(), 512 + (big.size() + 511) / 512 * 512 + 1024);
}

TEST_F(TarWriterTest, WhatTheSinkThrowsReachesTheCaller) {
  TarWriter tar("refusing", [](const char*, std::size_t) { fail(Errc::bad_input, "the daemon went away"); });
  const std::string big = big_content();
  MemoryStream body(big);
  try {
    tar.add_file("big", big.size(), body);
    tar.close();
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::bad_input);
    EXPECT_STREQ(e.what(), "the daemon went away");
  }
}

}  // namespace
}  // namespace dd
