#include "outputs/atomic_destination.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "pipeline/error.h"
#include "tests/support/temp_dir.h"

namespace dd {
namespace {
namespace fs = std::filesystem;

class AtomicDestinationTest : public ::testing::Test {
 protected:
  std::string path(const std::string& name) const { return dir_.file(name); }
  std::size_t entries_in_dir() const {
    return static_cast<std::size_t>(std::distance(fs::directory_iterator(dir_.path()), fs::directory_iterator()));
  }
  static void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }
  static std::string read(const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  TempDir dir_;
};

Errc code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.code();
  }
  ADD_FAILURE() << "expected a dd::Error";
  return Errc::internal;
}

TEST_F(AtomicDestinationTest, FileAppearsOnlyOnCommit) {
  AtomicDestination dest(path("out.tar"), AtomicDestination::Kind::file, false);
  EXPECT_TRUE(fs::is_regular_file(dest.temp_path()));
  EXPECT_EQ(dest.temp_path().rfind(path("out.tar.tmp-"), 0), 0u);
  write(dest.temp_path(), "new");
  EXPECT_FALSE(fs::exists(path("out.tar")));
  dest.commit();
  EXPECT_EQ(read(path("out.tar")), "new");
  EXPECT_EQ(entries_in_dir(), 1u);
  EXPECT_EQ(fs::status(path("out.tar")).permissions() & fs::perms::owner_all,
            fs::perms::owner_read | fs::perms::owner_write);
}

TEST_F(AtomicDestinationTest, DirectoryAppearsOnlyOnCommit) {
  {
    AtomicDestination dest(path("layout") + "/", AtomicDestination::Kind::directory, false);
    EXPECT_EQ(dest.destination(), path("layout"));
    EXPECT_TRUE(fs::is_directory(dest.temp_path()));
    write(dest.temp_path() + "/index.json", "{}");
    dest.commit();
  }
  EXPECT_EQ(read(path("layout/index.json")), "{}");
  EXPECT_EQ(entries_in_dir(), 1u);
}

TEST_F(AtomicDestinationTest, UncommittedLeavesNothingBehind) {
  {
    AtomicDestination file(path("out.tar"), AtomicDestination::Kind::file, false);
    write(file.temp_path(), "partial");
    AtomicDestination dir(path("layout"), AtomicDestination::Kind::directory, false);
    fs::create_directories(dir.temp_path() + "/blobs/sha256");
    write(dir.temp_path() + "/blobs/sha256/abc", "partial");
  }
  EXPECT_EQ(entries_in_dir(), 0u);
}

TEST_F(AtomicDestinationTest, ExistingDestinationWithoutForceFailsAndStaysUntouched) {
  write(path("out.tar"), "old");
  EXPECT_EQ(code_of([&] { AtomicDestination(path("out.tar"), AtomicDestination::Kind::file, false); }),
            Errc::exists);
  EXPECT_EQ(read(path("out.tar")), "old");
  EXPECT_EQ(entries_in_dir(), 1u);
}

TEST_F(AtomicDestinationTest, DanglingSymlinkCountsAsExisting) {
  fs::create_symlink(path("nowhere"), path("link"));
  EXPECT_EQ(code_of([&] { AtomicDestination(path("link"), AtomicDestination::Kind::file, false); }),
            Errc::exists);
}

TEST_F(AtomicDestinationTest, DestinationAppearingMeanwhileIsNotReplacedWithoutForce) {
  AtomicDestination dest(path("out.tar"), AtomicDestination::Kind::file, false);
  write(path("out.tar"), "someone else's");
  EXPECT_EQ(code_of([&] { dest.commit(); }), Errc::exists);
  EXPECT_EQ(read(path("out.tar")), "someone else's");
}

TEST_F(AtomicDestinationTest, ForceReplacesAFile) {
  write(path("out.tar"), "old");
  {
    AtomicDestination dest(path("out.tar"), AtomicDestination::Kind::file, true);
    write(dest.temp_path(), "new");
    EXPECT_EQ(read(path("out.tar")), "old");  // untouched until commit
    dest.commit();
  }
  EXPECT_EQ(read(path("out.tar")), "new");
  EXPECT_EQ(entries_in_dir(), 1u);
}

TEST_F(AtomicDestinationTest, ForceReplacesADirectoryWithContent) {
  fs::create_directories(path("layout/blobs/sha256"));
  write(path("layout/blobs/sha256/old"), "old");
  {
    AtomicDestination dest(path("layout"), AtomicDestination::Kind::directory, true);
    write(dest.temp_path() + "/index.json", "new");
    dest.commit();
  }
  EXPECT_EQ(read(path("layout/index.json")), "new");
  EXPECT_FALSE(fs::exists(path("layout/blobs")));
  EXPECT_EQ(entries_in_dir(), 1u);
}

TEST_F(AtomicDestinationTest, ForceReplacesADirectoryWithAFile) {
  fs::create_directories(path("out/sub"));
  {
    AtomicDestination dest(path("out"), AtomicDestination::Kind::file, true);
    write(dest.temp_path(), "file");
    dest.commit();
  }
  EXPECT_TRUE(fs::is_regular_file(path("out")));
  EXPECT_EQ(entries_in_dir(), 1u);
}

TEST_F(AtomicDestinationTest, ForceWithoutExistingDestinationJustCommits) {
  AtomicDestination dest(path("out.tar"), AtomicDestination::Kind::file, true);
  write(dest.temp_path(), "new");
  dest.commit();
  EXPECT_EQ(read(path("out.tar")), "new");
}

TEST_F(AtomicDestinationTest, MissingParentDirectoryIsNamed) {
  try {
    AtomicDestination dest(path("missing/out.tar"), AtomicDestination::Kind::file, false);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::not_found);
    EXPECT_NE(std::string(e.what()).find(path("missing")), std::string::npos) << e.what();
  }
}

TEST_F(AtomicDestinationTest, ScratchDirectoryIsRemoved) {
  std::string scratch_path;
  {
    ScratchDirectory scratch(path("out.staging-"));
    scratch_path = scratch.path();
    fs::create_directories(scratch_path + "/a/b");
    write(scratch_path + "/a/b/c", "x");
  }
  EXPECT_FALSE(fs::exists(scratch_path));
  EXPECT_EQ(entries_in_dir(), 0u);
}

}  // namespace
}  // namespace dd
