// Reproducible incompressible test data: `n` bytes from a seeded generator.
#pragma once

#include <cstddef>
#include <random>
#include <string>

namespace dd::test {

inline std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

}  // namespace dd::test
