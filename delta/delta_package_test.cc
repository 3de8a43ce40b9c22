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
  h.repo_tags = {"example.org/app:v2"};
  h.config_digest = Digest::parse(kC);
  h.config_size = 100;
  h.platform = "linux/amd64";
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
  h.layers = {reused, delta};
  h.base_layers = {{Digest::parse(kA), "example.org/app:v1"}};
  return h;
}

PackageHeader round_trip(const PackageHeader& h) {
  MemoryStream in(package_prefix(h));
  return read_package_header(in, Limits{}, "test package");
}

TEST(DeltaPackageTest, HeaderRoundTrips) {
  const PackageHeader h = round_trip(sample());
  ASSERT_EQ(h.layers.size(), 2u);
  EXPECT_EQ(h.layers[0].shipping, Shipping::reused);
  EXPECT_EQ(h.layers[1].bases.at(0).str(), kA);
  EXPECT_EQ(h.layers[1].payload_size, 300u);
  EXPECT_EQ(h.payload_bytes(), 400u);
  EXPECT_EQ(h.base_layers.at(0).image, "example.org/app:v1");
  EXPECT_EQ(h.repo_tags.at(0), "example.org/app:v2");
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
  expect_rejected([](auto& j) { j["version"] = 2; }, "version 2");
  expect_rejected([](auto& j) { j["layers"][1]["size"] = 1ull << 50; }, "beyond any real image");
  expect_rejected([](auto& j) { j["layers"][1]["bases"] = {kB}; }, "not listed");
  expect_rejected([](auto& j) { j["layers"][1]["method"] = "magic"; }, "magic");
  expect_rejected([](auto& j) { j["layers"][0]["diff_id"] = kB; }, "not listed among the base layers");
  expect_rejected([](auto& j) { j["layers"][1]["payload"]["digest"] = "md5:00"; }, "digest");
  expect_rejected([](auto& j) { j["layers"] = nlohmann::json::array(); }, "no layers");
}

TEST(DeltaPackageTest, DamagedOrForeignPrefixes) {
  std::string bytes = package_prefix(sample());
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

}  // namespace
}  // namespace dd
