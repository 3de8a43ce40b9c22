#include "delta/delta_package.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace dd {
namespace {

const std::string kA = "sha256:" + std::string(64, 'a');
const std::string kB = "sha256:" + std::string(64, 'b');
const std::string kC = "sha256:" + std::string(64, 'c');

PackageHeader sample() {
  PackageHeader h;
  h.tool = "docker_delta test";
  h.created = "2026-01-01T00:00:00Z";
  PackageImage image;
  image.repo_tags = {"example.org/app:v2"};
  image.config_digest = Digest::parse(kC);
  image.config_size = 100;
  image.platform = "linux/amd64";
  PackageLayer reused;
  reused.diff_id = Digest::parse(kA);
  reused.shipping = Shipping::reused;
  PackageLayer delta;
  delta.diff_id = Digest::parse(kB);
  delta.size = 5000;
  delta.shipping = Shipping::delta;
  delta.method = "zstd";
  delta.bases = {Digest::parse(kA)};
  delta.payload_size = 300;
  delta.payload_digest = Digest::parse(kC);
  image.layers = {reused, delta};
  h.images = {image};
  h.base_layers = {{Digest::parse(kA), "example.org/app:v1"}};
  return h;
}

PackageHeader round_trip(const PackageHeader& h) {
  MemoryStream in(package_prefix(package_header_json(h), h.signature));
  return read_package_header(in, Limits{}, "test package");
}

TEST(DeltaPackageTest, HeaderRoundTrips) {
  const PackageHeader p = round_trip(sample());
  EXPECT_EQ(p.version, 2u);
  ASSERT_EQ(p.images.size(), 1u);
  const PackageImage& h = p.images[0];
  ASSERT_EQ(h.layers.size(), 2u);
  EXPECT_EQ(h.layers[0].shipping, Shipping::reused);
  EXPECT_EQ(h.layers[1].bases.at(0).str(), kA);
  EXPECT_EQ(h.layers[1].payload_size, 300u);
  EXPECT_EQ(p.payload_bytes(), 400u);
  EXPECT_EQ(p.base_layers.at(0).image, "example.org/app:v1");
  EXPECT_EQ(h.repo_tags.at(0), "example.org/app:v2");
  EXPECT_EQ(p.header_digest, Digest::sha256_of(p.json));
}

void expect_rejected(const std::function<void(nlohmann::json&)>& edit, const std::string& message_part) {
  nlohmann::json j = nlohmann::json::parse(sample().to_json().dump());
  edit(j);
  try {
    parse_package_header(j, Limits{});
    FAIL() << "accepted: " << message_part;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(message_part), std::string::npos) << e.what();
  }
}

TEST(DeltaPackageTest, RejectsWhatAReaderCannotTrust) {
  expect_rejected([](auto& j) { j["version"] = 3; }, "version 3");
  expect_rejected([](auto& j) { j["images"] = nlohmann::json::array(); }, "no 'images'");
  // A layer may travel "packaged" only when an earlier image carries it, never its own image.
  expect_rejected([](auto& j) { j["images"][0]["layers"][1]["ship"] = "packaged"; }, "none carries it");
  expect_rejected([](auto& j) {
    auto second = j["images"][0];
    second["layers"][1] = {{"diff_id", kA}, {"ship", "packaged"}};
    j["images"].push_back(second);
  }, "none carries it");
  expect_rejected([](auto& j) { j["images"][0]["layers"][1]["size"] = 1ull << 50; }, "beyond any real image");
  expect_rejected([](auto& j) { j["images"][0]["layers"][1]["bases"] = {kB}; }, "neither listed nor carried");
  expect_rejected([](auto& j) { j["images"][0]["layers"][1]["method"] = "magic"; }, "magic");
  expect_rejected([](auto& j) { j["images"][0]["layers"][0]["diff_id"] = kB; }, "not listed among the base layers");
  expect_rejected([](auto& j) { j["images"][0]["layers"][1]["payload"]["digest"] = "md5:00"; }, "digest");
  expect_rejected([](auto& j) { j["images"][0]["layers"] = nlohmann::json::array(); }, "no layers");
}

TEST(DeltaPackageTest, DamagedOrForeignPrefixes) {
  std::string bytes = package_prefix(package_header_json(sample()), std::nullopt);
  {
    std::string bad = bytes;
    bad[40] ^= 1;
    MemoryStream in(bad);
    EXPECT_THROW(read_package_header(in, Limits{}, "p"), Error);
  }
  {
    MemoryStream in(bytes.substr(0, bytes.size() - 5));
    EXPECT_THROW(read_package_header(in, Limits{}, "p"), Error);
  }
  {
    MemoryStream in(std::string("PK\x03\x04 not a package at all"));
    try {
      read_package_header(in, Limits{}, "p");
      FAIL();
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("not a docker_delta package"), std::string::npos);
    }
  }
}

TEST(DeltaPackageTest, ALaterImageTakesAnEarlierImagesLayerAsPackaged) {
  PackageHeader h = sample();
  PackageImage second = h.images[0];
  second.repo_tags = {"example.org/other:v2"};
  second.layers[1] = PackageLayer{};
  second.layers[1].diff_id = Digest::parse(kB);
  second.layers[1].shipping = Shipping::packaged;
  h.images.push_back(second);
  const PackageHeader p = round_trip(h);
  ASSERT_EQ(p.images.size(), 2u);
  EXPECT_EQ(p.images[1].layers[1].shipping, Shipping::packaged);
  EXPECT_EQ(p.images[1].payload_bytes(), 100u);  // its config only
  EXPECT_EQ(p.payload_bytes(), 500u);
}

// Image 2's delta reads layer kB, which image 1 carries: that base is the package's own, not
// one of the receiver's base layers.
PackageHeader carried_base_sample() {
  PackageHeader h = sample();
  PackageImage second = h.images[0];
  second.repo_tags = {"example.org/other:v2"};
  second.layers[1].diff_id = Digest::parse("sha256:" + std::string(64, 'd'));
  second.layers[1].bases = {Digest::parse(kB)};
  h.images.push_back(second);
  return h;
}

TEST(DeltaPackageTest, ADeltaMayReadALayerAnEarlierImageCarries) {
  const PackageHeader p = round_trip(carried_base_sample());
  ASSERT_EQ(p.images.size(), 2u);
  EXPECT_EQ(p.images[1].layers[1].bases.at(0).str(), kB);
  EXPECT_EQ(p.base_layers.size(), 1u);
}

TEST(DeltaPackageTest, ADeltaCannotReadALayerOfItsOwnOrALaterImage) {
  PackageHeader h = carried_base_sample();
  // Its own image's layer: decoding would wait on itself.
  h.images[1].layers[1].bases = {h.images[1].layers[1].diff_id};
  EXPECT_THROW(round_trip(h), Error);
  // A later image's layer.
  h = carried_base_sample();
  h.images[0].layers[1].bases = {h.images[1].layers[1].diff_id};
  try {
    round_trip(h);
    FAIL() << "accepted a base only a later image carries";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("neither listed nor carried by an earlier image"), std::string::npos) << e.what();
  }
}

TEST(DeltaPackageTest, VersionOnePackagesStillRead) {
  PackageHeader h = sample();
  h.version = 1;
  const std::string json = h.to_json().dump(1);
  EXPECT_NE(json.find("\"image\""), std::string::npos);
  std::string bytes(reinterpret_cast<const char*>(kPackageMagic.data()), kPackageMagic.size());
  for (std::uint32_t v : {1u, static_cast<std::uint32_t>(json.size())})
    for (int i = 3; i >= 0; --i) bytes.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  bytes += json;
  const Digest d = Digest::sha256_of(json);
  for (std::size_t i = 0; i < 64; i += 2) bytes.push_back(static_cast<char>(std::stoi(d.hex().substr(i, 2), nullptr, 16)));
  MemoryStream in(bytes + "payloads");
  const PackageHeader p = read_package_header(in, Limits{}, "v1 package");
  EXPECT_EQ(p.version, 1u);
  ASSERT_EQ(p.images.size(), 1u);
  EXPECT_EQ(p.images[0].layers.size(), 2u);
  EXPECT_EQ(p.prefix_bytes, bytes.size());
  char rest[8];
  read_exact(in, rest, 8, "rest");
  EXPECT_EQ(std::string(rest, 8), "payloads");
}

TEST(DeltaPackageTest, TheSignatureBlockIsCheckedInShape) {
  PackageSignature s;
  s.public_key = std::string(32, 'k');
  s.signature = std::string(64, 's');
  MemoryStream in(package_prefix(package_header_json(sample()), s));
  const PackageHeader p = read_package_header(in, Limits{}, "p");
  ASSERT_TRUE(p.signature);
  EXPECT_EQ(p.signature->public_key, s.public_key);
  EXPECT_EQ(p.signature->signature, s.signature);
  s.signature = std::string(63, 's');
  MemoryStream short_one(package_prefix(package_header_json(sample()), s));
  EXPECT_THROW(read_package_header(short_one, Limits{}, "p"), Error);
}

}  // namespace
}  // namespace dd
