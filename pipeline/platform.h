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
  // True when `candidate` satisfies this request. Variants are compared after applying the
  // defaults docker uses (arm64 means v8, arm means v7); a request without a variant accepts any.
  bool matches(const Platform& candidate) const;
  // Stricter: the variants agree after defaults (a request for linux/arm means arm/v7), as
  // docker prefers when an index offers several variants.
  bool matches_exactly(const Platform& candidate) const;

  friend bool operator==(const Platform&, const Platform&) = default;
};

}  // namespace dd
