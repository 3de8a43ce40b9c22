#include "pipeline/platform.h"

#include <sys/utsname.h>

#include "pipeline/error.h"

namespace dd {
namespace {

std::string normal_architecture(std::string_view arch) {
  if (arch == "x86_64" || arch == "x86-64") return "amd64";
  if (arch == "aarch64") return "arm64";
  if (arch == "i386" || arch == "i686") return "386";
  return std::string(arch);
}

std::string default_variant(const std::string& arch, const std::string& variant) {
  if (!variant.empty()) return variant;
  if (arch == "arm64") return "v8";
  if (arch == "arm") return "v7";
  return "";
}

}  // namespace

Platform Platform::parse(std::string_view text) {
  Platform p;
  std::size_t start = 0;
  std::string parts[4];
  int count = 0;
  while (count < 4) {
    const auto slash = text.find('/', start);
    parts[count++] = std::string(text.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (count < 2 || count > 3 || parts[0].empty() || parts[1].empty() || (count == 3 && parts[2].empty()))
    fail(Errc::usage, "platform '{}' is not of the form OS/ARCH[/VARIANT] (e.g. linux/arm64)", text);
  p.os = parts[0];
  p.architecture = normal_architecture(parts[1]);
  if (count == 3) p.variant = parts[2];
  return p;
}

Platform Platform::host() {
  utsname u{};
  uname(&u);
  Platform p;
  p.os = "linux";
  const std::string machine = u.machine;
  if (machine == "armv7l") {
    p.architecture = "arm";
    p.variant = "v7";
  } else if (machine == "armv6l") {
    p.architecture = "arm";
    p.variant = "v6";
  } else {
    p.architecture = normal_architecture(machine);
  }
  return p;
}

std::string Platform::str() const {
  std::string s = os + "/" + architecture;
  if (!variant.empty()) s += "/" + variant;
  return s;
}

bool Platform::matches(const Platform& candidate) const {
  if (os != candidate.os) return false;
  if (architecture != normal_architecture(candidate.architecture)) return false;
  if (variant.empty()) return true;
  return default_variant(architecture, variant) ==
         default_variant(architecture, candidate.variant);
}

bool Platform::matches_exactly(const Platform& candidate) const {
  return os == candidate.os && architecture == normal_architecture(candidate.architecture) &&
         default_variant(architecture, variant) == default_variant(architecture, candidate.variant);
}

}  // namespace dd
