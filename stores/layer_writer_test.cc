#include "formats/compression/compression.h"
#include "stores/layer_writer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include "core/error.h"
#include "stores/verified_layer_body.h"
#include "tests/support/temp_dir.h"

namespace dd {
namespace {
namespace fs = std::filesystem;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string compress(std::string_view bytes, Compression c) {
  std::string out;
  auto compressor = make_compressor(c);
  const ByteSink sink = [&](const char* d, std::size_t n) { out.append(d, n); };
  compressor->feed(bytes.data(), bytes.size(), sink);
  compressor->finish(sink);
  return out;
}

std::string decompress(std::string_view bytes, Compression c) {
  std::string out;
  auto decompressor = make_decompressor(c, ExpansionLimit::unlimited(), "test");
  const ByteSink sink = [&](const char* d, std::size_t n) { out.append(d, n); };
  decompressor->feed(bytes.data(), bytes.size(), sink);
  decompressor->finish(sink);
  return out;
}

// Compressible but not trivial, and larger than one block.
std::string layer_content() {
  std::string s;
  std::uint32_t x = 7;
  while (s.size() < 2 * kBlockSize + 4321) {
    x = x * 1664525 + 1013904223;
    s += "file-" + std::to_string(x % 1000) + "\n";
  }
  return s;
}

// A stored layer as an input would hand it out: the stored bytes and the digests that name them.
struct StoredLayer {
  std::string bytes;
  LayerInfo info;

  StoredLayer(std::string stored, Compression compression, const Digest& diff_id) : bytes(std::move(stored)) {
    info.index = 0;
    info.count = 1;
    info.stored.digest = Digest::sha256_of(bytes);
    info.stored.size = bytes.size();
    info.compression = compression;
    info.diff_id = diff_id;
  }
  std::unique_ptr<VerifiedLayerBody> body() const {
    return std::make_unique<VerifiedLayerBody>(std::make_unique<MemoryStream>(bytes), info, Limits{}, nullptr);
  }
};

class LayerWriterTest : public ::testing::Test {
 protected:
  std::string path(const std::string& name) const { return dir_.file(name); }

  TempDir dir_;
  const std::string content_ = layer_content();
  const Digest diff_id_ = Digest::sha256_of(content_);
};

TEST_F(LayerWriterTest, KeepingTheCompressionCopiesStoredBytesVerbatim) {
  const StoredLayer gzip(compress(content_, Compression::gzip), Compression::gzip, diff_id_);
  for (std::optional<Compression> target : {std::optional<Compression>(), std::optional(Compression::gzip)}) {
    const std::string out = path(target ? "explicit" : "kept");
    auto body = gzip.body();
    const WrittenBlob blob = write_layer(*body, gzip.info, target, out);
    EXPECT_EQ(blob.digest, gzip.info.stored.digest);
    EXPECT_EQ(blob.size, gzip.bytes.size());
    EXPECT_EQ(blob.compression, Compression::gzip);
    EXPECT_EQ(read_file(out), gzip.bytes);
  }
}

TEST_F(LayerWriterTest, GzipToZstdAndBackKeepsTheDiffId) {
  const StoredLayer gzip(compress(content_, Compression::gzip), Compression::gzip, diff_id_);
  auto gzip_body = gzip.body();
  const WrittenBlob zstd_blob = write_layer(*gzip_body, gzip.info, Compression::zstd, path("layer.zst"));
  const std::string zstd_bytes = read_file(path("layer.zst"));
  EXPECT_EQ(zstd_blob.compression, Compression::zstd);
  EXPECT_EQ(zstd_blob.size, zstd_bytes.size());
  EXPECT_EQ(zstd_blob.digest, Digest::sha256_of(zstd_bytes));
  EXPECT_EQ(detect_compression(zstd_bytes), Compression::zstd);
  EXPECT_EQ(Digest::sha256_of(decompress(zstd_bytes, Compression::zstd)), diff_id_);

  const StoredLayer zstd(zstd_bytes, Compression::zstd, diff_id_);
  auto zstd_body = zstd.body();
  const WrittenBlob back = write_layer(*zstd_body, zstd.info, Compression::gzip, path("layer.gz"));
  const std::string gzip_bytes = read_file(path("layer.gz"));
  EXPECT_EQ(back.compression, Compression::gzip);
  EXPECT_EQ(back.digest, Digest::sha256_of(gzip_bytes));
  EXPECT_EQ(Digest::sha256_of(decompress(gzip_bytes, Compression::gzip)), diff_id_);
  // Deterministic gzip: the same content compresses to the same bytes.
  EXPECT_EQ(back.digest, gzip.info.stored.digest);
}

TEST_F(LayerWriterTest, UncompressedTargetIsNamedByTheDiffId) {
  const StoredLayer zstd(compress(content_, Compression::zstd), Compression::zstd, diff_id_);
  auto body = zstd.body();
  const WrittenBlob blob = write_layer(*body, zstd.info, Compression::none, path("layer.tar"));
  EXPECT_EQ(blob.digest, diff_id_);
  EXPECT_EQ(blob.size, content_.size());
  EXPECT_EQ(blob.compression, Compression::none);
  EXPECT_EQ(read_file(path("layer.tar")), content_);
}

TEST_F(LayerWriterTest, UncompressedSourceCanBeCompressed) {
  StoredLayer plain(content_, Compression::none, diff_id_);
  plain.info.stored.digest = Digest();  // a docker-save layer file is named by nothing else
  plain.info.stored.size.reset();
  auto body = plain.body();
  const WrittenBlob blob = write_layer(*body, plain.info, Compression::gzip, path("layer.gz"));
  EXPECT_EQ(blob.compression, Compression::gzip);
  EXPECT_EQ(decompress(read_file(path("layer.gz")), Compression::gzip), content_);
}

TEST_F(LayerWriterTest, CorruptLayerFailsAndLeavesNoFile) {
  std::string bytes = compress(content_, Compression::gzip);
  const Digest wrong_diff_id = Digest::sha256_of("something else");
  const StoredLayer layer(bytes, Compression::gzip, wrong_diff_id);
  for (std::optional<Compression> target : {std::optional<Compression>(), std::optional(Compression::zstd)}) {
    auto body = layer.body();
    try {
      write_layer(*body, layer.info, target, path("layer"));
      FAIL() << "expected an integrity error";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::integrity) << e.what();
    }
    EXPECT_FALSE(fs::exists(path("layer")));
  }
}

TEST_F(LayerWriterTest, ExistingFileIsNotOverwritten) {
  std::ofstream(path("taken")) << "keep me";
  EXPECT_THROW(write_bytes("{}", path("taken")), Error);
  EXPECT_EQ(read_file(path("taken")), "keep me");
}

TEST_F(LayerWriterTest, WriteBytesReportsDigestAndSize) {
  const std::string config = R"({"architecture":"amd64","os":"linux"})";
  const WrittenBlob blob = write_bytes(config, path("config.json"));
  EXPECT_EQ(blob.digest, Digest::sha256_of(config));
  EXPECT_EQ(blob.size, config.size());
  EXPECT_EQ(read_file(path("config.json")), config);
  EXPECT_EQ(fs::status(path("config.json")).permissions() & fs::perms::owner_all,
            fs::perms::owner_read | fs::perms::owner_write);
}

}  // namespace
}  // namespace dd
