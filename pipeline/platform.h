// OS/architecture/variant of an image, as in an OCI index or an image config.
#pragma once

#include <string>
#include <string_view>

namespace dd {

struct Platform {
  std::string os;
  std::string architecture;
  std::string variant;

  // "linux/arm64", "linux/arm/v7", "linux/amd64". Errc::usage when malformed.
  static Platform parse(std::string_view text);
  // The platform this program runs on (what docker pulls by default).
  static Platform host();
  std::string str() const;
  bool empty() const { return os.empty() && architecture.empty(); }
  // As containerd normalises: lower case, architecture aliases (x86_64, aarch64, armhf...), and
  // variants with their defaults written out (arm64 = arm64/v8, arm = arm/v7, amd64/v1 = amd64).
  Platform normalized() const;
  // True when `candidate` satisfies this request. Both are normalised first; a request without a
  // variant accepts any.
  bool matches(const Platform& candidate) const;
  // Stricter: equal once normalised (a request for linux/arm means arm/v7), as docker prefers
  // when an index offers several variants.
  bool matches_exactly(const Platform& candidate) const;

  friend bool operator==(const Platform&, const Platform&) = default;
};

}  // namespace dd
