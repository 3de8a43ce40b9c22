#include "formats/compression.h"

#include <gtest/gtest.h>

#include <random>

#include "pipeline/error.h"

namespace dd {
namespace {

std::string compress(Compression c, const std::string& in) {
  std::string out;
  auto sink = [&](const char* d, std::size_t n) { out.append(d, n); };
  auto comp = make_compressor(c);
  comp->feed(in.data(), in.size(), sink);
  comp->finish(sink);
  return out;
}

std::string decompress(Compression c, const std::string& in, ExpansionLimit limit = {}) {
  MemoryStream source(in);
  DecompressingStream s(source, c, limit, "test blob");
  return read_capped(s, 1 << 28, "test");
}

std::string sample(std::size_t n) {
  std::mt19937 rng(42);
  std::string s(n, '\0');
  for (auto& ch : s) ch = static_cast<char>('a' + rng() % 8);
  return s;
}

TEST(Compression, DetectsByMagic) {
  EXPECT_EQ(detect_compression(compress(Compression::gzip, "x")), Compression::gzip);
  EXPECT_EQ(detect_compression(compress(Compression::zstd, "x")), Compression::zstd);
  EXPECT_EQ(detect_compression("BZh91AY"), Compression::bzip2);
  EXPECT_EQ(detect_compression(std::string("\xfd" "7zXZ\0", 6)), Compression::xz);
  EXPECT_EQ(detect_compression("ustar-ish bytes"), Compression::none);
  EXPECT_EQ(detect_compression(""), Compression::none);
}

TEST(Compression, RoundTripsLargeInput) {
  const std::string in = sample(3 << 20);
  for (Compression c : {Compression::gzip, Compression::zstd, Compression::none})
    EXPECT_EQ(decompress(c, compress(c, in)), in) << to_string(c);
}

TEST(Compression, GzipOutputIsReproducible) {
  EXPECT_EQ(compress(Compression::gzip, sample(1000)), compress(Compression::gzip, sample(1000)));
}

TEST(Compression, ConcatenatedGzipMembersAreOneStream) {
  EXPECT_EQ(decompress(Compression::gzip, compress(Compression::gzip, "abc") + compress(Compression::gzip, "def")), "abcdef");
}

TEST(Compression, TruncatedStreamsFail) {
  const std::string in = sample(200000);
  for (Compression c : {Compression::gzip, Compression::zstd}) {
    const std::string packed = compress(c, in);
    try {
      decompress(c, packed.substr(0, packed.size() / 2));
      FAIL() << to_string(c) << " truncation went unnoticed";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
    }
  }
}

TEST(Compression, CorruptGzipFails) {
  std::string packed = compress(Compression::gzip, sample(10000));
  packed[packed.size() / 2] ^= 0x55;
  EXPECT_THROW(decompress(Compression::gzip, packed), Error);
}

TEST(Compression, ExpansionLimitStopsBombs) {
  const std::string zeros(64 << 20, '\0');
  for (Compression c : {Compression::gzip, Compression::zstd}) {
    const std::string packed = compress(c, zeros);
    ExpansionLimit tight{10, 1 << 20};
    try {
      decompress(c, packed, tight);
      FAIL() << to_string(c) << " bomb was not stopped";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::limit) << e.what();
    }
    EXPECT_EQ(decompress(c, packed, ExpansionLimit::unlimited()).size(), zeros.size());
  }
}

}  // namespace
}  // namespace dd
