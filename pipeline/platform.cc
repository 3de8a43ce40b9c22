#include "pipeline/platform.h"

#include <sys/utsname.h>

#include <algorithm>
#include <cctype>

#include "core/error.h"

namespace dd {
namespace {

std::string lower(std::string_view text) {
  std::string s(text);
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

// containerd's platforms.Normalize (normalizeOS, normalizeArch), except that the default variant
// is spelled out (arm64 -> v8, arm -> v7, amd64 -> none) so that equal platforms compare equal.
Platform Platform::normalized() const {
  Platform p{lower(os), lower(architecture), lower(variant)};
  if (p.os == "macos") p.os = "darwin";
  const std::string& a = p.architecture;
  std::string& v = p.variant;
  if (a == "i386" || a == "i686" || a == "386") {
    p.architecture = "386";
    v.clear();
  } else if (a == "x86_64" || a == "x86-64" || a == "amd64") {
    p.architecture = "amd64";
    if (v == "v1") v.clear();
  } else if (a == "aarch64" || a == "arm64") {
    p.architecture = "arm64";
    if (v.empty() || v == "8" || v == "v8" || v == "v8.0") v = "v8";
    else if (v == "9" || v == "9.0" || v == "v9.0") v = "v9";
  } else if (a == "armhf") {
    p.architecture = "arm";
    v = "v7";
  } else if (a == "armel") {
    p.architecture = "arm";
    v = "v6";
  } else if (a == "arm") {
    if (v.empty() || v == "7") v = "v7";
    else if (v == "5" || v == "6" || v == "8") v = "v" + v;
  }
  return p;
}

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
  p.os = lower(parts[0]);
  if (count == 3) p.variant = lower(parts[2]);
  // Aliases become the names indexes use; a variant given stays as written (linux/arm64/v8).
  const Platform n = Platform{p.os, parts[1], p.variant}.normalized();
  p.architecture = n.architecture;
  if (!p.variant.empty() || lower(parts[1]) == "armhf" || lower(parts[1]) == "armel") p.variant = n.variant;
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
    p.architecture = Platform{"linux", machine, ""}.normalized().architecture;
  }
  return p;
}

std::string Platform::str() const {
  std::string s = os + "/" + architecture;
  if (!variant.empty()) s += "/" + variant;
  return s;
}

bool Platform::matches(const Platform& candidate) const {
  const Platform want = normalized();
  const Platform have = candidate.normalized();
  if (want.os != have.os || want.architecture != have.architecture) return false;
  return variant.empty() || want.variant == have.variant;
}

bool Platform::matches_exactly(const Platform& candidate) const { return normalized() == candidate.normalized(); }

}  // namespace dd
