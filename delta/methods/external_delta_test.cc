#include "delta/methods/external_delta.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <random>

#include "core/error.h"
#include "core/subprocess.h"
#include "delta/methods/vcdiff_check.h"
#include "tests/support/random_bytes.h"
#include "tests/support/temp_dir.h"

namespace dd {
namespace {

using test::random_bytes;

class XdeltaTest : public ::testing::Test {
 protected:
  TempDir dir;
  std::string old = random_bytes(1 << 20, 1);
  std::string now = old.substr(0, 400000) + "a change" + old.substr(400000) + random_bytes(3000, 2);

  void SetUp() override {
    write("old", old);
    write("new", now);
  }
  void write(const std::string& name, const std::string& bytes) {
    UniqueFd fd(::open(dir.file(name).c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    write_all(fd.get(), bytes.data(), bytes.size(), name);
  }
  std::shared_ptr<UniqueFd> open_file(const std::string& name) {
    return std::make_shared<UniqueFd>(open_for_reading(dir.file(name)));
  }
  DeltaLayerFile layer(const std::string& name, std::uint64_t size) {
    return DeltaLayerFile{Digest::sha256_of(name), open_file(name), size, nullptr, 0};
  }
  // What the xdelta3 program writes with these options.
  std::string encode_with(const std::vector<std::string>& options) {
    std::vector<std::string> argv{"xdelta3", "-e", "-9", "-c"};
    argv.insert(argv.end(), options.begin(), options.end());
    argv.insert(argv.end(), {"-s", dir.file("old"), dir.file("new")});
    std::string out;
    run_program({argv, -1, -1, [&](const char* p, std::size_t n) { out.append(p, n); }}, "xdelta3");
    return out;
  }
  std::string check_error(const std::string& payload) {
    write("payload", payload);
    auto fd = open_file("payload");
    try {
      check_plain_vcdiff(fd->get(), payload.size(), "test layer");
    } catch (const Error& e) {
      return e.what();
    }
    return "accepted";
  }
  std::string decode(int payload_fd) {
    std::string out;
    xdelta3_decode(payload_fd, layer("old", old.size()), now.size(), [&](const char* p, std::size_t n) { out.append(p, n); },
                   "test layer");
    return out;
  }
};

TEST_F(XdeltaTest, OurPayloadsArePlainVcdiffAndRoundTrip) {
  UniqueFd payload(::open(dir.file("ours").c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  xdelta3_encode(layer("old", old.size()), layer("new", now.size()), payload.get());
  const off_t size = ::lseek(payload.get(), 0, SEEK_END);
  EXPECT_LT(size, 20000);
  check_plain_vcdiff(payload.get(), static_cast<std::uint64_t>(size), "test layer");
  EXPECT_EQ(decode(payload.get()), now);
}

TEST_F(XdeltaTest, TheEnvironmentDoesNotReachXdelta3) {
  // XDELTA holds extra arguments xdelta3 would obey; a receiver's environment must not matter.
  ::setenv("XDELTA", "-S lzma -A=evil/gzip", 1);
  UniqueFd payload(::open(dir.file("ours").c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  xdelta3_encode(layer("old", old.size()), layer("new", now.size()), payload.get());
  const std::string decoded = decode(payload.get());
  ::unsetenv("XDELTA");
  EXPECT_EQ(decoded, now);
}

TEST_F(XdeltaTest, RefusesSecondaryCompressionApplicationHeadersAndCodeTables) {
  EXPECT_EQ(check_error(encode_with({"-S", "none", "-A"})), "accepted");
  // xdelta3's defaults: lzma secondary compression and an application header naming the files.
  EXPECT_NE(check_error(encode_with({})).find("asks for secondary compression"), std::string::npos);
  EXPECT_NE(check_error(encode_with({"-S", "none"})).find("application header"), std::string::npos);
  EXPECT_NE(check_error(encode_with({"-S", "none", "-A=x.gz/gzip"})).find("application header"), std::string::npos);
  std::string plain = encode_with({"-S", "none", "-A"});
  std::string table = plain;
  table[4] = 0x02;
  EXPECT_NE(check_error(table).find("its own code table"), std::string::npos);
  // Secondary compression asked for by a window alone (xdelta3 honours it without the header bit).
  // Header: magic(4) indicator(1); window: indicator, two varints, encoding length, target length.
  std::string window = plain;
  std::size_t at = 5 + 1;
  auto skip_varint = [&] {
    while (static_cast<unsigned char>(window[at]) & 0x80) ++at;
    ++at;
  };
  skip_varint(), skip_varint(), skip_varint(), skip_varint();
  ASSERT_EQ(window[at], 0);
  window[at] = 0x01;
  EXPECT_NE(check_error(window).find("window asks for secondary compression"), std::string::npos);
  EXPECT_NE(check_error(plain.substr(0, plain.size() - 1)).find("truncated"), std::string::npos);
  EXPECT_NE(check_error(plain + "x").find("invalid indicator"), std::string::npos);
  EXPECT_NE(check_error("\x1f\x8b\x08" + plain).find("not a VCDIFF"), std::string::npos);
}

TEST_F(XdeltaTest, DecodeRefusesAnApplicationHeaderBeforeXdelta3Runs) {
  write("payload", encode_with({"-S", "none", "-A=layer.gz/gzip"}));
  auto fd = open_file("payload");
  try {
    decode(fd->get());
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::bad_input);
    EXPECT_NE(std::string(e.what()).find("application header"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace dd
