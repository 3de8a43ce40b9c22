#include "core/temp_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <system_error>
#include <vector>

#include "core/error.h"
#include "core/log.h"

namespace dd {
namespace {

constexpr std::string_view kMarker = ".docker_delta-";

std::string random_suffix() {
  static thread_local std::mt19937_64 generator{std::random_device{}()};
  static constexpr char kChars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string out;
  for (int i = 0; i < 8; ++i) out += kChars[generator() % (sizeof kChars - 1)];
  return out;
}

std::string directory_of(const std::string& path) {
  std::string parent = std::filesystem::path(path).parent_path().string();
  return parent.empty() ? "." : parent;
}

// A zombie does not run: a run killed together with its parent (`timeout -s KILL` kills its own
// group) may stay one for ever where nothing reaps orphans, as in many containers.
bool is_zombie(long pid) {
  UniqueFd fd(::open(fmt::format("/proc/{}/stat", pid).c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return false;
  char buffer[512];
  const ssize_t n = ::read(fd.get(), buffer, sizeof buffer - 1);
  if (n <= 0) return false;
  const std::string_view stat(buffer, static_cast<std::size_t>(n));
  const auto paren = stat.rfind(')');  // the command name may hold anything, even ") Z"
  return paren != std::string_view::npos && paren + 2 < stat.size() && (stat[paren + 2] == 'Z' || stat[paren + 2] == 'X');
}

bool process_runs(long pid) {
  if (pid <= 0) return true;  // not ours to judge
  if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) return false;
  return !is_zombie(pid);
}

// True when someone holds the lock a live SiblingTemp keeps on `path`.
bool locked(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
  if (!fd) return true;  // cannot tell: leave it
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) return false;
  return true;
}

}  // namespace

std::string temp_directory(const std::string& configured) {
  if (!configured.empty()) return configured;
  const char* env = std::getenv("TMPDIR");
  return env != nullptr && *env != '\0' ? env : "/tmp";
}

UniqueFd make_unlinked_temp_file_in(const std::string& directory) {
#ifdef O_TMPFILE
  // No name at all: nothing can be left behind, even by SIGKILL between create and unlink.
  UniqueFd fd(::open(directory.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  if (fd) return fd;
  if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
    fail_errno(fmt::format("creating a temporary file in {}", directory));
#endif
  std::string name = directory + "/.docker_delta-tmp-" + std::to_string(::getpid()) + "-XXXXXX";
  UniqueFd named(::mkostemp(name.data(), O_CLOEXEC));
  if (!named) fail_errno(fmt::format("creating a temporary file in {}", directory));
  ::unlink(name.c_str());
  return named;
}

UniqueFd make_unlinked_temp_file(const std::string& configured) {
  return make_unlinked_temp_file_in(temp_directory(configured));
}

std::string sibling_temp_prefix(const std::string& destination, std::string_view role) {
  const std::string name = std::filesystem::path(destination).filename().string();
  return fmt::format("{}/.{}{}{}-{}-", directory_of(destination), name, kMarker, role, ::getpid());
}

SiblingTemp::SiblingTemp(const std::string& destination, std::string_view role, Kind kind) {
  const std::string prefix = sibling_temp_prefix(destination, role);
  for (int attempt = 0; attempt < 100; ++attempt) {
    path_ = prefix + random_suffix();
    if (kind == Kind::file) {
      // 0666: the umask decides, as for any file a program creates.
      fd_ = UniqueFd(::open(path_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666));
    } else if (::mkdir(path_.c_str(), 0777) == 0) {
      fd_ = UniqueFd(::open(path_.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!fd_) {
        const int saved = errno;
        ::rmdir(path_.c_str());
        errno = saved;
      }
    }
    if (fd_) break;
    if (errno != EEXIST) fail_errno(fmt::format("creating {}", path_));
  }
  if (!fd_) fail(Errc::io, "creating a temporary beside {}: every name tried exists", destination);
  if (::flock(fd_.get(), LOCK_EX | LOCK_NB) != 0) fail_errno(fmt::format("locking {}", path_));
}

std::size_t remove_stale_temporaries(const std::string& destination) noexcept {
  std::size_t removed = 0;
  try {
    const std::string directory = directory_of(destination);
    const std::string start = "." + std::filesystem::path(destination).filename().string() + std::string(kMarker);
    DIR* dir = ::opendir(directory.c_str());
    if (dir == nullptr) return 0;
    std::vector<std::string> candidates;
    while (const dirent* entry = ::readdir(dir)) {
      const std::string name = entry->d_name;
      if (name.rfind(start, 0) == 0) candidates.push_back(name);
    }
    ::closedir(dir);
    for (const std::string& name : candidates) {
      // The rest is "ROLE-PID-RANDOM"; ROLE has no '-'.
      const std::string rest = name.substr(start.size());
      const auto first = rest.find('-');
      const auto second = first == std::string::npos ? first : rest.find('-', first + 1);
      if (second == std::string::npos) continue;
      const std::string pid_text = rest.substr(first + 1, second - first - 1);
      if (pid_text.empty() || pid_text.find_first_not_of("0123456789") != std::string::npos || pid_text.size() > 9)
        continue;
      const std::string path = directory + "/" + name;
      if (process_runs(std::stol(pid_text)) || locked(path)) continue;
      std::error_code error;
      std::filesystem::remove_all(path, error);
      if (error) {
        log::info("warning: could not remove {} left by an earlier run: {}", path, error.message());
      } else {
        log::verbose("removed {}, left by an earlier run that was stopped", path);
        ++removed;
      }
    }
  } catch (...) {
  }
  return removed;
}

}  // namespace dd
