// The suffix-matcher patch decoder (delta/suffix/suffix_delta.h) against a fixed old file: the
// input's first two bytes give how it splits into controls, diff and extra (in 1/256ths); every
// input ends in a refusal or in exactly the declared bytes, never a read outside the streams.
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

// Splits patch streams as the fuzz input encodes them: 2 bytes of proportions, then the bytes.
std::string encode_input(const suffix::Patch& p, std::uint64_t size) {
  std::string in;
  in += static_cast<char>(size & 0xff);
  in += static_cast<char>((size >> 8) & 0xff);
  in += static_cast<char>((size >> 16) & 0xff);
  const std::string all = p.controls + p.diff + p.extra;
  const auto share = [&](std::size_t n) { return static_cast<char>(all.empty() ? 0 : n * 255 / all.size()); };
  in += share(p.controls.size());
  in += share(p.diff.size());
  return in + all;
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
  if (size < 5) return 0;
  const std::uint64_t target_size = data[0] | (data[1] << 8) | ((data[2] & 0x0f) << 16);  // < 1 MiB
  const std::string_view rest(reinterpret_cast<const char*>(data) + 5, size - 5);
  // Rounding may make the shares miss the seeds' exact split by a byte; the fuzzer finds it.
  const std::size_t controls = rest.size() * data[3] / 255;
  const std::size_t diff = std::min(rest.size() - controls, rest.size() * data[4] / 255);
  std::string out(target_size, '\0');
  fuzz::refusal_is_fine([&] {
    suffix::apply(rest.substr(0, controls), rest.substr(controls, diff), rest.substr(controls + diff), old, target_size,
                  out.data(), "patch");
  });
  return 0;
}
