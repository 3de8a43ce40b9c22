#include "core/error.h"

#include <cerrno>
#include <cstring>

namespace dd {

void fail_errno(std::string_view what) {
  const int saved = errno;
  throw Error(Errc::io, fmt::format("{}: {}", what, std::strerror(saved)));
}

}  // namespace dd
