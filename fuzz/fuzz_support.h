// Shared by the fuzz targets: input bytes as a file, and a refusal that is not a finding.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/byte_stream.h"
#include "core/error.h"

namespace dd::fuzz {

// The bytes in an anonymous file, for the readers that take a file descriptor.
inline UniqueFd memory_file(std::string_view bytes) {
  UniqueFd fd(::memfd_create("fuzz-input", MFD_CLOEXEC));
  if (fd.get() < 0) std::abort();
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n <= 0) std::abort();
    done += static_cast<std::size_t>(n);
  }
  return fd;
}

// Runs `f`; a dd::Error is the refusal every hostile input should end in. Anything else
// (another exception, a crash, a sanitizer report) escapes and is a finding.
template <typename F>
void refusal_is_fine(F&& f) {
  try {
    f();
  } catch (const Error&) {
  }
}

// A property the code promises was broken: stop with a message libFuzzer keeps.
#define DD_FUZZ_CHECK(cond)                                                        \
  do {                                                                             \
    if (!(cond)) {                                                                 \
      ::fprintf(stderr, "fuzz check failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                \
    }                                                                              \
  } while (0)

}  // namespace dd::fuzz
