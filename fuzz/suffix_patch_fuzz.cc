// The suffix-matcher patch decoder (delta/suffix/suffix_delta.h) against a fixed old file. The
// input is three 3-byte little-endian numbers (the new size, the controls' and the diff's
// lengths), then the streams; every input ends in a refusal or in exactly the declared bytes,
// never a read outside the streams.
// With DD_FUZZ_WRITE_SEEDS=DIR set, writes patches the encoder makes instead (the seed corpus).
#include <cstdlib>
#include <fstream>
#include <string>

#include "delta/suffix/suffix_delta.h"
#include "fuzz/fuzz_support.h"

namespace {

using namespace dd;

std::string old_file() {
  std::string s;
  for (unsigned i = 0; s.size() < 20000; ++i) s += "call " + std::to_string(i * 7919 % 10007) + "\n";
  return s;
}

void put_u24(std::string& s, std::uint64_t v) {
  for (int i = 0; i < 3; ++i) s += static_cast<char>((v >> (8 * i)) & 0xff);
}
std::uint64_t get_u24(const std::uint8_t* p) { return p[0] | (p[1] << 8) | (p[2] << 16); }

// A patch as the fuzz input lays it out.
std::string encode_input(const suffix::Patch& p, std::uint64_t size) {
  std::string in;
  put_u24(in, size);
  put_u24(in, p.controls.size());
  put_u24(in, p.diff.size());
  return in + p.controls + p.diff + p.extra;
}

void write_seeds(const std::string& dir) {
  const std::string old = old_file();
  const std::string targets[] = {old.substr(0, 5000) + "inserted" + old.substr(5000), old.substr(100, 9000), "fresh", ""};
  int i = 0;
  for (const auto& target : targets) {
    const auto patch = suffix::encode(old, target);
    if (patch) std::ofstream(dir + "/patch-" + std::to_string(i++), std::ios::binary) << encode_input(*patch, target.size());
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("DD_FUZZ_WRITE_SEEDS")) {
    write_seeds(dir);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string old = old_file();
  if (size < 9) return 0;
  const std::uint64_t target_size = get_u24(data) & 0xfffff;  // < 1 MiB
  const std::string_view rest(reinterpret_cast<const char*>(data) + 9, size - 9);
  const std::size_t controls = std::min<std::size_t>(rest.size(), get_u24(data + 3));
  const std::size_t diff = std::min<std::size_t>(rest.size() - controls, get_u24(data + 6));
  std::string out(target_size, '\0');
  fuzz::refusal_is_fine([&] {
    suffix::apply(rest.substr(0, controls), rest.substr(controls, diff), rest.substr(controls + diff), old, target_size,
                  out.data(), "patch");
  });
  return 0;
}
