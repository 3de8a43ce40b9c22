#include "pipeline/temp_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>

#include "pipeline/error.h"

namespace dd {

std::string temp_directory(const RunContext& ctx) {
  if (!ctx.temp_dir.empty()) return ctx.temp_dir;
  const char* env = std::getenv("TMPDIR");
  return env != nullptr && *env != '\0' ? env : "/tmp";
}

UniqueFd make_unlinked_temp_file(const RunContext& ctx) {
  std::string name = temp_directory(ctx) + "/docker_delta-XXXXXX";
  UniqueFd fd(mkostemp(name.data(), O_CLOEXEC));
  if (!fd) fail_errno(fmt::format("creating a temporary file in {}", temp_directory(ctx)));
  ::unlink(name.c_str());
  return fd;
}

}  // namespace dd
