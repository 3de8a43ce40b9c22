// Runs a helper program (xdelta3, bsdiff) with its standard input and output connected to files
// or to a pipe we read, and its error output kept for the message if it fails.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace dd {

// A path the child can open to reach one of our descriptors (also an unlinked temporary file).
std::string fd_path(int fd);

struct ProgramRun {
  std::vector<std::string> argv;
  int stdin_fd = -1;   // -1: /dev/null
  int stdout_fd = -1;  // -1: a pipe whose bytes go to on_output
  std::function<void(const char*, std::size_t)> on_output;  // may throw; the child is then killed
};

// Runs to completion, with a fixed environment (PATH and LC_ALL=C only): nothing from ours
// reaches the program's options. A program that cannot be started is Errc::unsupported naming the Debian
// package to install; a non-zero exit is Errc::bad_input with the first line the program printed.
void run_program(const ProgramRun& run, const std::string& package);

}  // namespace dd
