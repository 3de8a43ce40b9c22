// The bzip2 and xz codecs against the real `xz` and `bzip2` programs, and the bounds a hostile
// stream meets.
#include <gtest/gtest.h>

#include <cstdio>
#include <random>

#include "core/error.h"
#include "formats/compression/bzip2_codec.h"
#include "formats/compression/compression.h"
#include "formats/compression/xz_codec.h"
#include "tests/support/temp_dir.h"

namespace dd {
namespace {

std::string sample(std::size_t n) {
  std::mt19937 rng(7);
  std::string s(n, '\0');
  for (auto& ch : s) ch = static_cast<char>('a' + rng() % 11);
  return s;
}

std::string compress(Compression c, const std::string& in, int level = 0) {
  std::string out;
  auto sink = [&](const char* d, std::size_t n) { out.append(d, n); };
  auto comp = make_compressor(c, level);
  comp->feed(in.data(), in.size(), sink);
  comp->finish(sink);
  return out;
}

std::string decompress(Compression c, const std::string& in, ExpansionLimit limit = {}) {
  MemoryStream source(in);
  DecompressingStream s(source, c, limit, "test layer");
  return read_capped(s, 1 << 28, "test");
}

// Runs `command` with `input` on its standard input and returns its standard output.
std::string run_filter(const std::string& command, const std::string& input) {
  TempDir dir;
  const std::string in_path = dir.path() + "/in", out_path = dir.path() + "/out";
  FILE* f = std::fopen(in_path.c_str(), "wb");
  std::fwrite(input.data(), 1, input.size(), f);
  std::fclose(f);
  const std::string full = command + " < " + in_path + " > " + out_path;
  EXPECT_EQ(std::system(full.c_str()), 0) << full;
  std::string out;
  f = std::fopen(out_path.c_str(), "rb");
  char buffer[65536];
  while (const std::size_t n = std::fread(buffer, 1, sizeof buffer, f)) out.append(buffer, n);
  std::fclose(f);
  return out;
}

struct Codec {
  Compression compression;
  const char* program;
};
class XzBzip2 : public testing::TestWithParam<Codec> {};

TEST_P(XzBzip2, WhatWeWriteTheProgramReadsAndBack) {
  const std::string data = sample(3 << 20);
  const std::string ours = compress(GetParam().compression, data, 6);
  EXPECT_EQ(detect_compression(ours), GetParam().compression);
  EXPECT_EQ(run_filter(std::string(GetParam().program) + " -dc", ours), data);
  EXPECT_EQ(decompress(GetParam().compression, run_filter(std::string(GetParam().program) + " -c -6", data)), data);
}

TEST_P(XzBzip2, ConcatenatedStreamsAreOneLayer) {
  const std::string a = sample(100000), b = "second stream";
  const Compression c = GetParam().compression;
  EXPECT_EQ(decompress(c, compress(c, a) + compress(c, b)), a + b);
}

TEST_P(XzBzip2, TruncatedOrCorruptStreamsFail) {
  const Compression c = GetParam().compression;
  const std::string packed = compress(c, sample(500000));
  EXPECT_THROW(decompress(c, packed.substr(0, packed.size() / 2)), Error);
  std::string bad = packed;
  for (std::size_t i = 20; i < bad.size(); i += 997) bad[i] = static_cast<char>(bad[i] ^ 0x5a);
  EXPECT_THROW(decompress(c, bad), Error);
}

TEST(XzCodec, TrailingGarbageIsRefused) {  // as xz -d refuses it
  EXPECT_THROW(decompress(Compression::xz, compress(Compression::xz, "x") + "trailing garbage"), Error);
}

TEST(Bzip2Codec, TrailingGarbageIsIgnoredAsBzip2Does) {
  EXPECT_EQ(decompress(Compression::bzip2, compress(Compression::bzip2, "layer") + std::string(100, '\0')), "layer");
}

TEST_P(XzBzip2, ExpansionLimitApplies) {
  const Compression c = GetParam().compression;
  const std::string packed = compress(c, std::string(32 << 20, '\0'));
  try {
    decompress(c, packed, ExpansionLimit{10, 1 << 20});
    FAIL() << "bomb not stopped";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::limit);
  }
}

TEST_P(XzBzip2, CompressionNestedInsideIsData) {
  const Compression c = GetParam().compression;
  const std::string inner = compress(Compression::gzip, "a gzip file inside");
  EXPECT_EQ(decompress(c, compress(c, inner)), inner);
}

INSTANTIATE_TEST_SUITE_P(Programs, XzBzip2,
                         testing::Values(Codec{Compression::xz, "xz"}, Codec{Compression::bzip2, "bzip2"}),
                         [](const auto& info) { return std::string(info.param.program); });

TEST(XzCodec, AHugeDictionaryIsRefusedBeforeItIsAllocated) {
  const std::string packed = run_filter("xz -c --lzma2=preset=1,dict=768MiB", sample(4096));
  try {
    decompress(Compression::xz, packed);
    FAIL() << "768 MiB dictionary accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::limit);
    EXPECT_NE(std::string(e.what()).find("MiB to decompress"), std::string::npos) << e.what();
  }
  // xz -9 (64 MiB dictionary) is what real layers use at most.
  const std::string data = sample(200000);
  EXPECT_EQ(decompress(Compression::xz, run_filter("xz -c -9", data)), data);
}

}  // namespace
}  // namespace dd
