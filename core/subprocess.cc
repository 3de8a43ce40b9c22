#include "core/subprocess.h"

#include <fcntl.h>
#include <stdlib.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/byte_stream.h"
#include "core/error.h"
#include "core/interruption.h"

namespace dd {

std::string fd_path(int fd) { return fmt::format("/proc/{}/fd/{}", ::getpid(), fd); }

namespace {

struct Pipe {
  int r = -1, w = -1;
  Pipe() {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) fail_errno("creating a pipe");
    r = p[0];
    w = p[1];
  }
  ~Pipe() {
    if (r >= 0) ::close(r);
    if (w >= 0) ::close(w);
  }
};

std::string first_line_of(int fd) {
  char buffer[1024];
  const ssize_t n = ::pread(fd, buffer, sizeof buffer, 0);
  std::string text(buffer, n > 0 ? static_cast<std::size_t>(n) : 0);
  if (auto nl = text.find('\n'); nl != std::string::npos) text.resize(nl);
  return text;
}

// The helpers read options from the environment (XDELTA holds extra xdelta3 arguments, GZIP
// extra gzip options): they run with only a search path and the C locale, so the arguments we
// pass are all they act on.
std::vector<std::string> fixed_environment() {
  const char* path = ::getenv("PATH");
  return {std::string("PATH=") + (path && *path ? path : "/usr/local/bin:/usr/bin:/bin"), "LC_ALL=C"};
}

}  // namespace

void run_program(const ProgramRun& run, const std::string& package) {
  const std::string& program = run.argv.at(0);
  // Error output goes to an unlinked file: a pipe could fill and stall the child.
  char name[] = "/tmp/docker_delta-stderr-XXXXXX";
  UniqueFd err(::mkostemp(name, O_CLOEXEC));
  if (!err) fail_errno("creating a temporary file");
  ::unlink(name);
  std::optional<Pipe> out;
  if (run.stdout_fd < 0) out.emplace();

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (run.stdin_fd >= 0) posix_spawn_file_actions_adddup2(&actions, run.stdin_fd, 0);
  else posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, run.stdout_fd >= 0 ? run.stdout_fd : out->w, 1);
  posix_spawn_file_actions_adddup2(&actions, err.get(), 2);
  std::vector<char*> argv;
  for (const auto& a : run.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const std::vector<std::string> env_strings = fixed_environment();
  std::vector<char*> env;
  for (const auto& e : env_strings) env.push_back(const_cast<char*>(e.c_str()));
  env.push_back(nullptr);
  pid_t pid = 0;
  const int rc = ::posix_spawnp(&pid, program.c_str(), &actions, nullptr, argv.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) fail(Errc::unsupported, "cannot run {}: {} (install the Debian package '{}')", program, std::strerror(rc), package);

  auto reap = [&](bool kill_it) {
    if (kill_it) ::kill(pid, SIGKILL);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return status;
  };
  if (out) {
    ::close(out->w);
    out->w = -1;
    std::vector<char> buffer(kBlockSize);
    try {
      for (;;) {
        const ssize_t n = ::read(out->r, buffer.data(), buffer.size());
        if (n < 0) {
          if (errno == EINTR) {
            throw_if_interrupted();
            continue;
          }
          fail_errno(program + " output");
        }
        if (n == 0) break;
        run.on_output(buffer.data(), static_cast<std::size_t>(n));
      }
    } catch (...) {
      reap(true);
      throw;
    }
  }
  const int status = reap(false);
  throw_if_interrupted();
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
  const std::string message = first_line_of(err.get());
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
    fail(Errc::unsupported, "cannot run {} (install the Debian package '{}')", program, package);
  fail(Errc::bad_input, "{} failed{}{}", program, message.empty() ? "" : ": ", message);
}

}  // namespace dd
