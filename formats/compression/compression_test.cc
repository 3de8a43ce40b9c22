#include "formats/compression/compression.h"

#include <gtest/gtest.h>

#include <random>

#include <zlib.h>

#include "core/error.h"

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

TEST(Compression, AllowanceIsSharedByEveryStreamOfARun) {
  // Each stream alone fits a 3 MiB allowance at 10x; together they spend it.
  const std::string packed = compress(Compression::zstd, std::string(2 << 20, '\0'));
  ExpansionLimit run{10, 3 << 20};
  EXPECT_NO_THROW(decompress(Compression::zstd, packed, run));
  EXPECT_THROW(decompress(Compression::zstd, packed, run), Error);
  ExpansionLimit other_run{10, 3 << 20};  // a new limit has its own allowance
  EXPECT_NO_THROW(decompress(Compression::zstd, packed, other_run));
}

TEST(Compression, MembersAfterTheFirstMustBeGzip) {
  std::string zlib_stream;
  {
    z_stream z{};
    deflateInit(&z, 6);
    std::string in = "second part";
    zlib_stream.resize(256);
    z.next_in = reinterpret_cast<Bytef*>(in.data());
    z.avail_in = static_cast<uInt>(in.size());
    z.next_out = reinterpret_cast<Bytef*>(zlib_stream.data());
    z.avail_out = static_cast<uInt>(zlib_stream.size());
    deflate(&z, Z_FINISH);
    zlib_stream.resize(zlib_stream.size() - z.avail_out);
    deflateEnd(&z);
  }
  EXPECT_THROW(decompress(Compression::gzip, compress(Compression::gzip, "first part") + zlib_stream), Error);
}

// A frame declaring window log 31 would have zstd allocate 2 GiB: refused, with the reason.
TEST(Compression, ZstdWindowLargerThan128MiBIsRefused) {
  std::string frame = "\x28\xb5\x2f\xfd";
  frame += '\x00';                      // no content size, no checksum, not single segment
  frame += static_cast<char>((31 - 10) << 3);  // window descriptor: 2^31
  frame += std::string("\x01\x00\x00", 3);     // last block, raw, 0 bytes
  try {
    decompress(Compression::zstd, frame);
    FAIL() << "expected a refusal";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::limit);
    EXPECT_NE(std::string(e.what()).find("window larger than the 128 MiB allowed"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace dd
