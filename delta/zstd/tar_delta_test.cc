#include "delta/zstd/tar_delta.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <random>

#include "core/error.h"
#include "formats/archive/tar_writer.h"
#include "formats/compression/gzip_reproduction.h"
#include "tests/support/layer_file.h"
#include "tests/support/temp_dir.h"

namespace dd {
namespace {

std::string random_text(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s;
  while (s.size() < n) s += "line " + std::to_string(rng() % 100000) + " of some text\n";
  s.resize(n);
  return s;
}

std::string gzip_9n(const std::string& raw) { return regzip(GzipRecipe::zlib_9, raw); }

std::string encode(TarDeltaEncoder& encoder, const DeltaLayerFile& layer, TarDeltaEncoder::Result* result = nullptr) {
  std::string payload;
  auto r = encoder.encode(layer, DeltaSettings{}, [&](const char* p, std::size_t n) { payload.append(p, n); });
  if (result) *result = r;
  return payload;
}

std::string decode(const std::string& payload, const std::vector<DeltaLayerFile>& bases, std::uint64_t size) {
  MemoryStream in(payload);
  std::string out;
  decode_tar_delta(in, bases, size, [&](const char* p, std::size_t n) { out.append(p, n); }, "test layer");
  return out;
}

std::string file_bytes(const DeltaLayerFile& f) {
  std::string s(f.size, '\0');
  f.read(0, f.size, s.data(), "test");
  return s;
}

class TarDeltaTest : public ::testing::Test {
 protected:
  TempDir dir;
  std::string big = random_text(3 << 20, 1);        // an unchanged file, moved to another path
  std::string doc = random_text(200 << 10, 2);      // a changed file at the same path
  std::string changelog = random_text(300 << 10, 3);
  DeltaLayerFile old_layer = make_layer_file(dir, "old.tar", {{"usr/share/big", big},
                                                         {"etc/doc.txt", doc},
                                                         {"usr/share/doc/changelog.gz", gzip_9n(changelog)}});
  DeltaLayerFile new_layer = make_layer_file(dir, "new.tar", {{"etc/doc.txt", doc.substr(0, 1000) + "an edit" + doc.substr(1000)},
                                                         {"opt/moved/big", big},
                                                         {"usr/share/doc/changelog.gz", gzip_9n("new entry\n" + changelog)},
                                                         {"new.txt", "brand new"}});
};

TEST_F(TarDeltaTest, RebuildsTheNewLayerExactlyAndSmall) {
  TarDeltaEncoder encoder({old_layer}, Limits{});
  TarDeltaEncoder::Result result;
  const std::string payload = encode(encoder, new_layer, &result);
  EXPECT_EQ(decode(payload, {old_layer}, new_layer.size), file_bytes(new_layer));
  ASSERT_EQ(result.bases.size(), 1u);
  EXPECT_EQ(result.bases[0], old_layer.diff_id);
  EXPECT_EQ(result.stats.exact_bytes, big.size());  // found by content under its new path
  EXPECT_GT(result.stats.gzip_bytes, 0u);           // the changelog travelled decompressed
  // The moved 3 MiB file is copied, the changes cost bytes: far under a kilobyte per change.
  EXPECT_LT(payload.size(), 4000u);
}

TEST_F(TarDeltaTest, WithoutABaseItIsPlainCompression) {
  TarDeltaEncoder encoder({}, Limits{});
  const std::string payload = encode(encoder, new_layer);
  EXPECT_EQ(decode(payload, {}, new_layer.size), file_bytes(new_layer));
  EXPECT_GT(payload.size(), 100000u);
}

TEST_F(TarDeltaTest, RejectsPayloadsThatDoNotFitTheirBases) {
  TarDeltaEncoder encoder({old_layer}, Limits{});
  const std::string payload = encode(encoder, new_layer);
  // A shorter base than the one the payload was made against.
  DeltaLayerFile short_base = old_layer;
  short_base.size = 1024;
  EXPECT_THROW(decode(payload, {short_base}, new_layer.size), Error);
  // No base at all.
  EXPECT_THROW(decode(payload, {}, new_layer.size), Error);
  // A declared size that differs from what the payload makes.
  EXPECT_THROW(decode(payload, {old_layer}, new_layer.size - 1), Error);
  EXPECT_THROW(decode(payload, {old_layer}, new_layer.size + 1), Error);
  // Truncated anywhere, or followed by junk.
  for (std::size_t cut : {std::size_t{3}, std::size_t{20}, payload.size() / 2, payload.size() - 1})
    EXPECT_THROW(decode(payload.substr(0, cut), {old_layer}, new_layer.size), Error) << cut;
  EXPECT_THROW(decode(payload + "x", {old_layer}, new_layer.size), Error);
}

TEST_F(TarDeltaTest, AFlippedByteNeverYieldsOtherBytesSilently) {
  TarDeltaEncoder encoder({old_layer}, Limits{});
  const std::string payload = encode(encoder, new_layer);
  const std::string want = file_bytes(new_layer);
  for (std::size_t at = 0; at < payload.size(); at += 7) {
    std::string bad = payload;
    bad[at] = static_cast<char>(bad[at] ^ 0x5a);
    try {
      // The package verifies payload digests and diff_ids; the decoder must at least never
      // crash or run out of bounds, and stay within the declared size.
      const std::string got = decode(bad, {old_layer}, new_layer.size);
      EXPECT_EQ(got.size(), want.size());
    } catch (const Error&) {
    }
  }
}

TEST(GzipReproductionTest, FindsZlibRecipeAndRejectsForeignHeaders) {
  const std::string raw = random_text(50000, 9);
  const std::string gz = gzip_9n(raw);
  ASSERT_EQ(gunzip_exactly(gz, 1 << 20).value(), raw);
  EXPECT_EQ(find_gzip_recipe(gz, raw), GzipRecipe::zlib_9);
  std::string named = gz;
  named[4] = 1;  // a timestamp: not what gzip -n writes
  EXPECT_FALSE(find_gzip_recipe(named, raw).has_value());
  EXPECT_FALSE(gunzip_exactly(gz, 100).has_value());        // expands past the cap
  EXPECT_FALSE(gunzip_exactly(gz + "x", 1 << 20).has_value());  // trailing bytes
}


// Payloads written by hand, for what the encoder never writes. Little-endian, as the format.
void put(std::string& s, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// A zstd frame of raw blocks declaring `content` and the window 2^window_log (not single-segment).
std::string raw_frame(const std::string& content, unsigned window_log) {
  std::string f("\x28\xb5\x2f\xfd", 4);
  f.push_back(static_cast<char>(0x80));                      // 4-byte content size, no checksum
  f.push_back(static_cast<char>((window_log - 10) << 3));   // window descriptor
  put(f, content.size(), 4);
  for (std::size_t at = 0; at < content.size() || at == 0;) {
    const std::size_t n = std::min<std::size_t>(content.size() - at, 1u << 17);
    const bool last = at + n == content.size();
    put(f, (n << 3) | (last ? 1 : 0), 3);                    // raw block
    f += content.substr(at, n);
    at += n;
    if (last) break;
  }
  return f;
}

struct GzipOp {
  std::uint64_t at, length, content;
  std::uint8_t recipe;
};

std::string segment(std::uint64_t output, const std::string& frame_content, const std::vector<GzipOp>& ops = {},
                    unsigned window_log = 10) {
  std::string s = "S";
  put(s, 0, 4);  // no pieces
  put(s, ops.size(), 4);
  for (const auto& op : ops) {
    s.push_back(2);
    put(s, op.at, 8), put(s, op.length, 8), put(s, op.content, 8);
    s.push_back(static_cast<char>(op.recipe));
  }
  const std::string frame = raw_frame(frame_content, window_log);
  put(s, output, 8), put(s, frame_content.size(), 8), put(s, frame.size(), 8);
  return s + frame;
}

std::string payload_of(const std::vector<std::string>& segments) {
  std::string p("DDZT\x01", 5);
  for (const auto& s : segments) p += s;
  return p + "E";
}

std::string error_of(const std::string& payload, std::uint64_t size) {
  try {
    decode(payload, {}, size);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(TarDeltaBoundsTest, AFrameMayNotAskForMoreWindowThanItsSegmentNeeds) {
  const std::string content = random_text(300000, 5);
  EXPECT_EQ(decode(payload_of({segment(content.size(), content, {}, 19)}), {}, content.size()), content);
  const std::string err = error_of(payload_of({segment(content.size(), content, {}, 31)}), content.size());
  EXPECT_NE(err.find("asks for a 2147483648-byte zstd window"), std::string::npos) << err;
  EXPECT_NE(error_of(payload_of({segment(content.size(), content, {}, 20)}), content.size()).find("zstd window"),
            std::string::npos);
}

TEST(TarDeltaBoundsTest, GzipRecompressionIsBoundedBeforeItStarts) {
  const std::string raw = random_text(1000, 6);
  const std::string gz = gzip_9n(raw);
  // One gzip operation is fine.
  EXPECT_EQ(decode(payload_of({segment(gz.size(), raw, {{0, gz.size(), raw.size(), 1}})}), {}, gz.size()), gz);
  // Too many in one segment: refused before any is recompressed.
  std::vector<GzipOp> many;
  std::string contents;
  for (std::uint64_t i = 0; i <= kMaxGzipMembersPerSegment; ++i) {
    many.push_back({i * gz.size(), gz.size(), raw.size(), 2});
    contents += raw;
  }
  const auto start = std::chrono::steady_clock::now();
  std::string err = error_of(payload_of({segment(many.size() * gz.size(), contents, many)}), many.size() * gz.size());
  EXPECT_NE(err.find("more than 4096 gzip operations"), std::string::npos) << err;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  // Content no gzip file of that size can hold.
  err = error_of(payload_of({segment(100, std::string(200000, 'a'), {{0, 100, 200000, 1}})}), 100);
  EXPECT_NE(err.find("claims 200000 bytes of content for a 100-byte file"), std::string::npos) << err;
  // More content in all than a layer may recompress, spread over segments.
  const std::string zeros(kMaxGzipContent, '\0');
  const std::uint64_t zeros_gz = gzip_9n(zeros).size();
  std::vector<std::string> segments;
  for (int i = 0; i < 5; ++i) segments.push_back(segment(zeros_gz, zeros, {{0, zeros_gz, zeros.size(), 1}}));
  err = error_of(payload_of(segments), 5 * zeros_gz);
  EXPECT_NE(err.find("recompress more than 67108864 bytes"), std::string::npos) << err;
  // The gzip program is run a bounded number of times in all.
  segments.clear();
  const std::string gnu = regzip(GzipRecipe::gnu_gzip_9, raw);
  for (std::size_t i = 0; i <= kMaxGzipRunsPerLayer; ++i) segments.push_back(segment(gnu.size(), raw, {{0, gnu.size(), raw.size(), 2}}));
  err = error_of(payload_of(segments), segments.size() * gnu.size());
  EXPECT_NE(err.find("run gzip more than 256 times"), std::string::npos) << err;
}

TEST(TarDeltaBoundsTest, TheEncoderKeepsToTheGzipBounds) {
  TempDir dir;
  std::vector<std::pair<std::string, std::string>> old_files, new_files;
  for (int i = 0; i < 5000; ++i) {
    const std::string text = random_text(600, 100 + i);
    old_files.push_back({"doc/" + std::to_string(i) + ".gz", gzip_9n(text)});
    new_files.push_back({"doc/" + std::to_string(i) + ".gz", gzip_9n(text + "changed\n")});
  }
  const DeltaLayerFile old_layer = make_layer_file(dir, "old.tar", old_files), new_layer = make_layer_file(dir, "new.tar", new_files);
  TarDeltaEncoder encoder({old_layer}, Limits{});
  TarDeltaEncoder::Result result;
  const std::string payload = encode(encoder, new_layer, &result);
  EXPECT_GT(result.stats.gzip_bytes, 0u);
  EXPECT_EQ(decode(payload, {old_layer}, new_layer.size), file_bytes(new_layer));
}

}  // namespace
}  // namespace dd
