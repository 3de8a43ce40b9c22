#include "formats/compression/compression.h"
#include "stores/verified_layer_body.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace dd {
namespace {

std::string gzip(const std::string& in) {
  std::string out;
  auto sink = [&](const char* d, std::size_t n) { out.append(d, n); };
  auto c = make_compressor(Compression::gzip);
  c->feed(in.data(), in.size(), sink);
  c->finish(sink);
  return out;
}

struct Layer {
  std::string plain = std::string(300000, 'p') + "end";
  std::string packed = gzip(plain);
  LayerInfo info() const {
    LayerInfo i;
    i.count = 1;
    i.compression = Compression::gzip;
    i.stored.digest = Digest::sha256_of(packed);
    i.stored.size = packed.size();
    i.diff_id = Digest::sha256_of(plain);
    return i;
  }
};

std::string read_stored(const std::string& bytes, const LayerInfo& info) {
  VerifiedLayerBody body(std::make_unique<MemoryStream>(bytes), info, Limits{}, nullptr);
  return read_capped(body.stored(), 1 << 24, "layer");
}

std::string read_plain(const std::string& bytes, const LayerInfo& info) {
  VerifiedLayerBody body(std::make_unique<MemoryStream>(bytes), info, Limits{}, nullptr);
  return read_capped(body.uncompressed(), 1 << 24, "layer");
}

TEST(VerifiedLayerBody, PassesGoodBytesBothWays) {
  Layer l;
  EXPECT_EQ(read_stored(l.packed, l.info()), l.packed);
  EXPECT_EQ(read_plain(l.packed, l.info()), l.plain);
}

TEST(VerifiedLayerBody, FlippedByteFailsEitherWay) {
  Layer l;
  std::string bad = l.packed;
  bad[bad.size() / 2] ^= 1;
  EXPECT_THROW(read_stored(bad, l.info()), Error);
  EXPECT_THROW(read_plain(bad, l.info()), Error);
}

TEST(VerifiedLayerBody, WrongDiffIdFailsEvenWhenStoredDigestMatches) {
  Layer l;
  LayerInfo info = l.info();
  info.diff_id = Digest::sha256_of("something else");
  try {
    read_stored(l.packed, info);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::integrity);
    EXPECT_NE(std::string(e.what()).find("diff_id"), std::string::npos) << e.what();
  }
}

TEST(VerifiedLayerBody, SizeMismatchFails) {
  Layer l;
  LayerInfo info = l.info();
  info.stored.size = *info.stored.size + 1;
  EXPECT_THROW(read_stored(l.packed, info), Error);
}

TEST(VerifiedLayerBody, DrainVerifiesWhatNobodyRead) {
  Layer l;
  std::string bad = l.packed;
  bad[10] ^= 1;
  VerifiedLayerBody body(std::make_unique<MemoryStream>(bad), l.info(), Limits{}, nullptr);
  EXPECT_THROW(body.drain_and_verify(), Error);
}

}  // namespace
}  // namespace dd
