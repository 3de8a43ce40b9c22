// A blob directory stores each blob once under its digest's name and leaves no temporary behind.
#include "stores/blob_directory.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/error.h"
#include "stores/verified_layer_body.h"
#include "tests/support/temp_dir.h"

namespace dd {
namespace {
namespace fs = std::filesystem;

std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

LayerInfo plain_layer(const std::string& bytes, std::size_t index) {
  LayerInfo info;
  info.index = index;
  info.count = 3;
  info.diff_id = Digest::sha256_of(bytes);
  info.stored.digest = info.diff_id;
  info.stored.size = bytes.size();
  info.compression = Compression::none;
  return info;
}

TEST(BlobDirectory, StoresEachBlobOnceUnderItsDigest) {
  TempDir dir;
  BlobDirectory blobs(dir.path());
  const std::string a(100000, 'a'), b = "another layer";
  const LayerInfo first = plain_layer(a, 0), again = plain_layer(a, 1), other = plain_layer(b, 2);

  bool stored = false;
  VerifiedLayerBody body1(std::make_unique<MemoryStream>(a), first, Limits{}, nullptr);
  const WrittenBlob& w1 = blobs.write_layer(body1, first, std::nullopt, &stored);
  EXPECT_TRUE(stored);
  EXPECT_EQ(w1.digest, first.diff_id);
  std::ifstream in(blobs.path(w1.digest), std::ios::binary);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), a);

  // The same bytes again (a layer an image names twice): nothing new is stored.
  VerifiedLayerBody body2(std::make_unique<MemoryStream>(a), again, Limits{}, nullptr);
  blobs.write_layer(body2, again, std::nullopt, &stored);
  EXPECT_FALSE(stored);
  VerifiedLayerBody body3(std::make_unique<MemoryStream>(b), other, Limits{}, nullptr);
  blobs.write_layer(body3, other, std::nullopt, &stored);
  EXPECT_TRUE(stored);

  std::vector<std::string> want{first.diff_id.hex(), other.diff_id.hex()};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(names_in(dir.path()), want)
      << "no temporary is left, and the repeated layer is one file";
  EXPECT_EQ(blobs.bytes(), a.size() + b.size());
  ASSERT_NE(blobs.layer(first.diff_id, Compression::none), nullptr);
  EXPECT_EQ(blobs.layer(first.diff_id, Compression::gzip), nullptr) << "another compression is another blob";
  EXPECT_FALSE(blobs.claim(first.diff_id, a.size()));
  EXPECT_TRUE(blobs.claim(Digest::sha256_of("config"), 6));
  EXPECT_EQ(blobs.bytes(), a.size() + b.size() + 6);
}

TEST(BlobDirectory, ABodyThatFailsItsCheckLeavesNothing) {
  TempDir dir;
  BlobDirectory blobs(dir.path());
  const std::string bytes = "the real layer";
  LayerInfo info = plain_layer(bytes, 0);
  info.diff_id = Digest::sha256_of("what it claims to be");
  info.stored.digest = info.diff_id;
  VerifiedLayerBody body(std::make_unique<MemoryStream>(bytes), info, Limits{}, nullptr);
  EXPECT_THROW(blobs.write_layer(body, info, std::nullopt), Error);
  EXPECT_EQ(blobs.layer(info.diff_id, Compression::none), nullptr);
  EXPECT_EQ(blobs.bytes(), 0u);
  for (const auto& name : names_in(dir.path())) EXPECT_EQ(name.rfind(".layer-", 0), std::string::npos) << name;
}

}  // namespace
}  // namespace dd
