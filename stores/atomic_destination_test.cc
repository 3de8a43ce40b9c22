#include "stores/atomic_destination.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

#include "core/error.h"
#include "delta/delta_package.h"
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
  EXPECT_EQ(dest.temp_path().rfind(path(".out.tar.docker_delta-tmp-" + std::to_string(::getpid()) + "-"), 0), 0u);
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

void make_layout(const std::string& dir) {
  fs::create_directories(dir + "/blobs/sha256");
  std::ofstream(dir + "/oci-layout") << R"({"imageLayoutVersion":"1.0.0"})";
  std::ofstream(dir + "/index.json") << "{}";
  std::ofstream(dir + "/blobs/sha256/old") << "old";
}

TEST_F(AtomicDestinationTest, ForceReplacesAnOciLayout) {
  make_layout(path("layout"));
  {
    AtomicDestination dest(path("layout"), OutputContent::oci_layout, true);
    write(dest.temp_path() + "/index.json", "new");
    dest.commit();
  }
  EXPECT_EQ(read(path("layout/index.json")), "new");
  EXPECT_FALSE(fs::exists(path("layout/blobs")));
  EXPECT_EQ(entries_in_dir(), 1u);
}

// --force must never delete what docker_delta did not write (e.g. oci:$HOME).
TEST_F(AtomicDestinationTest, ForceRefusesADirectoryThatIsNotAnOciLayout) {
  fs::create_directories(path("home/documents"));
  write(path("home/notes.txt"), "mine");
  EXPECT_EQ(code_of([&] { AtomicDestination(path("home"), OutputContent::oci_layout, true); }), Errc::exists);
  make_layout(path("almost"));
  write(path("almost/notes.txt"), "mine");
  EXPECT_EQ(code_of([&] { AtomicDestination(path("almost"), OutputContent::oci_layout, true); }), Errc::exists);
  fs::create_directories(path("deeper/blobs/sha256/sub"));
  make_layout(path("deeper"));
  EXPECT_EQ(code_of([&] { AtomicDestination(path("deeper"), OutputContent::oci_layout, true); }), Errc::exists);
  EXPECT_EQ(read(path("home/notes.txt")), "mine");
  EXPECT_EQ(read(path("almost/notes.txt")), "mine");
  EXPECT_EQ(entries_in_dir(), 3u);
}

TEST_F(AtomicDestinationTest, ForceRefusesAFileOfAnotherKind) {
  fs::create_directories(path("dir"));
  write(path("notes.txt"), "not a tar, not a package");
  fs::create_symlink(path("notes.txt"), path("link"));
  for (auto content : {OutputContent::tar_archive, OutputContent::delta_package, OutputContent::regular_file}) {
    EXPECT_EQ(code_of([&] { AtomicDestination(path("dir"), content, true); }), Errc::exists);
    EXPECT_EQ(code_of([&] { AtomicDestination(path("link"), content, true); }), Errc::exists);
  }
  EXPECT_EQ(code_of([&] { AtomicDestination(path("notes.txt"), OutputContent::tar_archive, true); }), Errc::exists);
  EXPECT_EQ(code_of([&] { AtomicDestination(path("notes.txt"), OutputContent::delta_package, true); }), Errc::exists);
  try {
    AtomicDestination(path("notes.txt"), OutputContent::tar_archive, true);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not a tar archive"), std::string::npos) << e.what();
  }
  EXPECT_EQ(read(path("notes.txt")), "not a tar, not a package");
  EXPECT_EQ(entries_in_dir(), 3u);
}

TEST_F(AtomicDestinationTest, ForceReplacesATarMadeByTar) {
  write(path("a.txt"), "a");
  ASSERT_EQ(std::system(("tar -C " + dir_.path() + " -cf " + path("out.tar") + " a.txt").c_str()), 0);
  AtomicDestination dest(path("out.tar"), OutputContent::tar_archive, true);
  write(dest.temp_path(), "new");
  dest.commit();
  EXPECT_EQ(read(path("out.tar")), "new");
}

TEST_F(AtomicDestinationTest, ForceReplacesAPackage) {
  write(path("old.dd"), package_prefix("{}", std::nullopt));
  AtomicDestination dest(path("old.dd"), OutputContent::delta_package, true);
  write(dest.temp_path(), "new");
  dest.commit();
  EXPECT_EQ(read(path("old.dd")), "new");
}

TEST_F(AtomicDestinationTest, OutputsHonourTheUmask) {
  const mode_t old = ::umask(027);
  {
    AtomicDestination file(path("out.tar"), OutputContent::tar_archive, false);
    AtomicDestination dir(path("layout"), OutputContent::oci_layout, false);
    file.commit();
    dir.commit();
  }
  ::umask(old);
  EXPECT_EQ(fs::status(path("out.tar")).permissions(), static_cast<fs::perms>(0640));
  EXPECT_EQ(fs::status(path("layout")).permissions(), static_cast<fs::perms>(0750));
}

pid_t a_pid_that_no_longer_runs() {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);
  return child;
}

TEST_F(AtomicDestinationTest, TemporariesOfKilledRunsAreRemovedOthersKept) {
  const std::string dead = std::to_string(a_pid_that_no_longer_runs());
  fs::create_directories(path(".layout.docker_delta-tmp-" + dead + "-abcdefgh/blobs/sha256"));
  write(path(".layout.docker_delta-staging-" + dead + "-abcdefgh"), "partial");
  write(path(".other.docker_delta-tmp-" + dead + "-abcdefgh"), "another destination's");
  write(path(".layout.docker_delta-tmp-1x-abcdefgh"), "not our name");
  SiblingTemp live(path("layout"), "tmp", SiblingTemp::Kind::file);  // this pid runs
  {
    AtomicDestination dest(path("layout"), OutputContent::oci_layout, false);
    dest.commit();
  }
  std::set<std::string> left;
  for (const auto& entry : fs::directory_iterator(dir_.path())) left.insert(entry.path().filename().string());
  EXPECT_EQ(left, (std::set<std::string>{"layout", ".other.docker_delta-tmp-" + dead + "-abcdefgh",
                                         ".layout.docker_delta-tmp-1x-abcdefgh", fs::path(live.path()).filename().string()}));
}

// A run killed with its parent may stay a zombie where nothing reaps orphans: it runs nothing.
TEST_F(AtomicDestinationTest, TemporariesOfZombieRunsAreRemoved) {
  const pid_t zombie = ::fork();
  if (zombie == 0) ::_exit(0);
  // Until it is reaped below, the child is a zombie: kill(pid, 0) still succeeds.
  for (int i = 0; i < 200 && ::kill(zombie, 0) == 0; ++i) {
    std::ifstream stat("/proc/" + std::to_string(zombie) + "/stat");
    std::string line;
    std::getline(stat, line);
    if (line.rfind(") Z") != std::string::npos) break;
    ::usleep(10000);
  }
  write(path(".out.tar.docker_delta-tmp-" + std::to_string(zombie) + "-abcdefgh"), "partial");
  fs::create_directories(path(".out.tar.docker_delta-staging-" + std::to_string(zombie) + "-abcdefgh/blobs"));
  ScratchDirectory staging(path("out.tar"), "staging");  // this run's: locked, kept
  {
    AtomicDestination dest(path("out.tar"), AtomicDestination::Kind::file, false);
    dest.commit();
  }
  ::waitpid(zombie, nullptr, 0);
  std::set<std::string> left;
  for (const auto& entry : fs::directory_iterator(dir_.path())) left.insert(entry.path().filename().string());
  EXPECT_EQ(left, (std::set<std::string>{"out.tar", fs::path(staging.path()).filename().string()}));
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
    ScratchDirectory scratch(path("out"), "staging");
    scratch_path = scratch.path();
    fs::create_directories(scratch_path + "/a/b");
    write(scratch_path + "/a/b/c", "x");
  }
  EXPECT_FALSE(fs::exists(scratch_path));
  EXPECT_EQ(entries_in_dir(), 0u);
}

}  // namespace
}  // namespace dd
