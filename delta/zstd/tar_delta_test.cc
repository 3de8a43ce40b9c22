#include "delta/zstd/tar_delta.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>
#define ZSTD_STATIC_LINKING_ONLY  // ZSTD_frameHeaderSize
#include <zstd.h>

#include <chrono>
#include <random>

#include "core/error.h"
#include "delta/suffix/suffix_delta.h"
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

std::string encode(TarDeltaEncoder& encoder, const DeltaLayerFile& layer, TarDeltaEncoder::Result* result = nullptr,
                   unsigned jobs = 1) {
  std::string payload;
  DeltaSettings settings;
  settings.jobs = jobs;
  auto r = encoder.encode(layer, settings, [&](const char* p, std::size_t n) { payload.append(p, n); });
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

// Machine code whose relative call targets all shift when code is inserted before them.
std::string machine_code(std::uint32_t shift, std::size_t calls, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s("\x7f" "ELF\x02\x01\x01\0", 8);
  for (std::size_t i = 0; i < calls; ++i) {
    s += '\xe8';
    const std::uint32_t target = static_cast<std::uint32_t>(rng() % 100000) + shift;
    for (int b = 0; b < 4; ++b) s += static_cast<char>((target >> (8 * b)) & 0xff);
    s += std::string("\x48\x89\xe5\x00\x83\xec", 6);
  }
  return s;
}

TEST_F(TarDeltaTest, ChangedBinariesTravelAsSuffixPatchesWhereThatIsSmaller) {
  const DeltaLayerFile old_bin = make_layer_file(dir, "old-bin.tar", {{"usr/bin/tool", machine_code(0, 150000, 4)},
                                                                     {"etc/doc.txt", doc}});
  const DeltaLayerFile new_bin = make_layer_file(dir, "new-bin.tar", {{"usr/bin/tool", machine_code(0x40, 150000, 4)},
                                                                     {"etc/doc.txt", doc + "an edit"}});
  std::size_t sizes[3];
  const SuffixUse uses[3] = {SuffixUse::never, SuffixUse::when_smaller, SuffixUse::always};
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    TarDeltaEncoder encoder({old_bin}, Limits{}, uses[i]);
    TarDeltaEncoder::Result result;
    const std::string payload = encode(encoder, new_bin, &result, 2);
    EXPECT_EQ(decode(payload, {old_bin}, new_bin.size), file_bytes(new_bin));
    sizes[i] = payload.size();
    if (uses[i] == SuffixUse::never) {
      EXPECT_EQ(result.stats.patch_bytes, 0u);
    }
    // The binary is patched; the text file stays in the frame unless every file must be patched.
    if (uses[i] == SuffixUse::when_smaller) {
      EXPECT_EQ(result.stats.patch_bytes, machine_code(0x40, 150000, 4).size());
    }
    if (uses[i] == SuffixUse::always) {
      EXPECT_GT(result.stats.patch_bytes, machine_code(0x40, 150000, 4).size());
    }
  }
  // Every call target changed: as a frame that is ~100 KB, as a patch a few hundred bytes.
  EXPECT_LT(sizes[1] * 10, sizes[0]);
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

// Where each segment record of a version-2 payload starts, and where its data frame starts.
struct SegmentAt {
  std::size_t record = 0, frame = 0;
};
std::vector<SegmentAt> segments_of(const std::string& payload) {
  auto u64 = [&](std::size_t at) {
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(payload.at(at + i));
    return v;
  };
  std::vector<SegmentAt> out;
  std::size_t at = 5;  // magic and version
  while (payload.at(at) == 'S') {
    SegmentAt s;
    s.record = at;
    at += 1 + 16 + u64(at + 9);  // tag, two sizes, the table frame
    s.frame = at + 8;
    at = s.frame + u64(at);
    out.push_back(s);
  }
  EXPECT_EQ(payload.at(at), 'E');
  return out;
}

TEST(TarDeltaSegmentsTest, SegmentsRebuiltSideBySideComeOutInOrderAndTheFirstDamageIsReported) {
  TempDir dir;
  std::vector<std::pair<std::string, std::string>> old_files, new_files;
  for (int i = 0; i < 24; ++i) {
    const std::string text = random_text(200 << 10, 10 + i);
    old_files.emplace_back("f" + std::to_string(i), text);
    new_files.emplace_back("f" + std::to_string(i), text.substr(0, 5000) + "edit " + std::to_string(i) + text.substr(5000));
    if (i % 3 == 0) new_files.emplace_back("f" + std::to_string(i) + ".gz", gzip_9n(text + "more"));
  }
  const DeltaLayerFile old_layer = make_layer_file(dir, "old.tar", old_files);
  const DeltaLayerFile new_layer = make_layer_file(dir, "new.tar", new_files);
  TarDeltaEncoder encoder({old_layer}, Limits{});
  std::string payload;
  DeltaSettings settings;
  settings.segment_bytes = 256 << 10;
  encoder.encode(new_layer, settings, [&](const char* p, std::size_t n) { payload.append(p, n); });
  const std::vector<SegmentAt> segments = segments_of(payload);
  ASSERT_GE(segments.size(), 5u);
  EXPECT_EQ(decode(payload, {old_layer}, new_layer.size), file_bytes(new_layer));

  auto error_of = [&](const std::string& bad) -> std::string {
    try {
      decode(bad, {old_layer}, new_layer.size);
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  };
  // Damage only a worker finds: the first block of a segment's frame made a reserved block type.
  auto damage_frame = [](std::string& bytes, std::size_t frame) {
    const std::size_t header = ZSTD_frameHeaderSize(bytes.data() + frame, bytes.size() - frame);
    ASSERT_FALSE(ZSTD_isError(header));
    bytes[frame + header] |= 0x06;
  };
  // A damaged frame in a later segment is found while others are being rebuilt.
  std::string bad = payload;
  damage_frame(bad, segments[4].frame);
  EXPECT_NE(error_of(bad).find("damaged delta frame"), std::string::npos) << error_of(bad);
  // The first segment's frame is damaged and the payload ends inside the second record: the
  // damage comes first in the layer, so it is what is reported.
  bad = payload.substr(0, segments[1].record + 3);
  damage_frame(bad, segments[0].frame);
  EXPECT_NE(error_of(bad).find("damaged delta frame"), std::string::npos) << error_of(bad);
  // Only truncated: that is reported.
  EXPECT_NE(error_of(payload.substr(0, segments[3].record + 3)).find("truncated"), std::string::npos)
      << error_of(payload.substr(0, segments[3].record + 3));
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

// A version 2 segment: its table (no pieces, then `ops`: the operation count and records) in a
// zstd frame of its own, then the content frame.
std::string v2_segment(std::uint64_t output, const std::string& content, std::uint32_t op_count, const std::string& ops,
                       const std::string& after_table = "") {
  std::string table;
  put(table, 0, 4);
  put(table, op_count, 4);
  table += ops;
  put(table, output, 8), put(table, content.size(), 8);
  table += after_table;
  std::string table_frame(ZSTD_compressBound(table.size()), '\0');
  table_frame.resize(ZSTD_compress(table_frame.data(), table_frame.size(), table.data(), table.size(), 1));
  std::string s = "S";
  put(s, table.size(), 8), put(s, table_frame.size(), 8);
  s += table_frame;
  const std::string frame = raw_frame(content, 10);
  put(s, frame.size(), 8);
  return s + frame;
}

std::string patch_op(std::uint64_t at, std::uint64_t length, std::uint64_t offset, std::uint64_t source_length,
                     const suffix::Patch& p) {
  std::string op(1, '\x03');
  put(op, at, 8), put(op, length, 8), put(op, 0, 4), put(op, offset, 8), put(op, source_length, 8);
  put(op, p.controls.size(), 8), put(op, p.diff.size(), 8), put(op, p.extra.size(), 8);
  return op;
}

TEST(TarDeltaBoundsTest, PatchOperationsAreCheckedBeforeTheyRun) {
  TempDir dir;
  const std::string old_text = random_text(5000, 7);
  const DeltaLayerFile base = make_layer_file(dir, "base.tar", {{"a", old_text}});
  const std::string source = file_bytes(base).substr(0, 4000);
  const std::string target = source.substr(0, 1500) + "changed" + source.substr(1600);
  const auto patch = suffix::encode(source, target);
  ASSERT_TRUE(patch);
  const std::string streams = patch->controls + patch->diff + patch->extra;
  auto run = [&](const std::string& payload, std::uint64_t size) {
    MemoryStream in(payload);
    std::string out;
    decode_tar_delta(in, {base}, size, [&](const char* p, std::size_t n) { out.append(p, n); }, "test layer");
    return out;
  };
  auto error = [&](const std::string& payload, std::uint64_t size) -> std::string {
    try {
      run(payload, size);
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  };
  const std::string v2("DDZT\x02", 5);
  // A good one: the patch rebuilds the target from the first 4000 bytes of the base.
  EXPECT_EQ(run(v2 + v2_segment(target.size(), streams, 1, patch_op(0, target.size(), 0, 4000, *patch)) + "E", target.size()), target);
  // Its source past the end of the base.
  EXPECT_NE(error(v2 + v2_segment(target.size(), streams, 1, patch_op(0, target.size(), base.size - 100, 4000, *patch)) + "E",
                  target.size()).find("references bytes"), std::string::npos);
  // More than the matcher's window.
  const std::uint64_t huge = suffix::kMaxSuffixTarget + 1;
  EXPECT_NE(error(v2 + v2_segment(huge, streams, 1, patch_op(0, huge, 0, 4000, *patch)) + "E", huge).find("window"),
            std::string::npos);
  // A source shorter than the patch reads: the patch itself refuses it.
  EXPECT_NE(error(v2 + v2_segment(target.size(), streams, 1, patch_op(0, target.size(), 0, 1000, *patch)) + "E",
                  target.size()).find("suffix patch"), std::string::npos);
  // Patch operations do not exist in version 1.
  std::string v1 = "DDZT\x01S";
  put(v1, 0, 4), put(v1, 1, 4);
  v1 += patch_op(0, target.size(), 0, 4000, *patch);
  EXPECT_NE(error(v1, target.size()).find("unknown delta operation 3"), std::string::npos);
  // Junk after a table, a segment that makes nothing.
  EXPECT_NE(error(v2 + v2_segment(target.size(), streams, 1, patch_op(0, target.size(), 0, 4000, *patch), "x") + "E",
                  target.size()).find("after a delta segment's table"), std::string::npos);
  EXPECT_NE(error(v2 + v2_segment(0, "", 0, "") + "E", 0).find("makes no bytes"), std::string::npos);
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
