// The one exception type of the library. Every failure carries a code that the CLI maps to an
// exit status, and a message that is shown to the user as a single line.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace dd {

enum class Errc {
  usage,         // the command line or a stage spec is wrong (exit status 2)
  not_found,     // a file, image, reference or platform is not there
  bad_input,     // an archive, manifest or config is malformed or unsafe
  integrity,     // bytes do not match their digest or size
  limit,         // input exceeds a safety limit (size, depth, count, expansion)
  exists,        // the destination exists and --force was not given
  io,            // the operating system refused a read or write
  unsupported,   // valid, but not something this build handles
  denied,        // a registry refused the credentials (or their absence)
  internal,
};

class Error : public std::runtime_error {
 public:
  Error(Errc code, std::string message) : std::runtime_error(std::move(message)), code_(code) {}
  Errc code() const noexcept { return code_; }

 private:
  Errc code_;
};

template <typename... Args>
[[noreturn]] void fail(Errc code, fmt::format_string<Args...> format, Args&&... args) {
  throw Error(code, fmt::format(format, std::forward<Args>(args)...));
}

// Throws Errc::io naming `what` and the current errno.
[[noreturn]] void fail_errno(std::string_view what);

}  // namespace dd
