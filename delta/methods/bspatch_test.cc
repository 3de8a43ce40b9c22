#include "delta/methods/bspatch.h"

#include <bzlib.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <random>

#include "core/error.h"
#include "core/subprocess.h"
#include "delta/methods/external_delta.h"
#include "tests/support/random_bytes.h"
#include "tests/support/temp_dir.h"

namespace dd {
namespace {

using test::random_bytes;

void write_file(const std::string& path, const std::string& bytes) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  ASSERT_TRUE(fd);
  write_all(fd.get(), bytes.data(), bytes.size(), path);
}

std::string read_file(const std::string& path) {
  UniqueFd fd = open_for_reading(path);
  std::string s;
  char buf[65536];
  for (ssize_t n; (n = ::read(fd.get(), buf, sizeof buf)) > 0;) s.append(buf, static_cast<std::size_t>(n));
  return s;
}

std::string bzip2(const std::string& raw) {
  std::string out(raw.size() + raw.size() / 100 + 600, '\0');
  unsigned n = static_cast<unsigned>(out.size());
  EXPECT_EQ(BZ2_bzBuffToBuffCompress(out.data(), &n, const_cast<char*>(raw.data()), static_cast<unsigned>(raw.size()), 9, 0, 0), BZ_OK);
  out.resize(n);
  return out;
}

void put_offt(std::string& s, std::int64_t v) {
  std::uint64_t m = v < 0 ? static_cast<std::uint64_t>(-v) : static_cast<std::uint64_t>(v);
  for (int i = 0; i < 8; ++i) s.push_back(static_cast<char>((m >> (8 * i)) & 0xff));
  if (v < 0) s.back() = static_cast<char>(s.back() | 0x80);
}

struct Control {
  std::int64_t add, insert, seek;
};

// A BSDIFF40 patch written by hand, for the cases bsdiff itself never writes.
std::string make_patch(const std::vector<Control>& controls, const std::string& diff, const std::string& extra,
                       std::int64_t new_size) {
  std::string ctrl;
  for (const auto& c : controls) put_offt(ctrl, c.add), put_offt(ctrl, c.insert), put_offt(ctrl, c.seek);
  const std::string c = bzip2(ctrl), d = bzip2(diff), e = bzip2(extra);
  std::string patch = "BSDIFF40";
  put_offt(patch, static_cast<std::int64_t>(c.size()));
  put_offt(patch, static_cast<std::int64_t>(d.size()));
  put_offt(patch, new_size);
  return patch + c + d + e;
}

class BspatchTest : public ::testing::Test {
 protected:
  TempDir dir;

  // Applies `patch` to `old` in process.
  std::string apply(const std::string& patch, const std::string& old, std::uint64_t declared) {
    write_file(dir.file("patch"), patch);
    UniqueFd fd = open_for_reading(dir.file("patch"));
    std::string out;
    bspatch_stream(
        fd.get(), patch.size(), old.size(),
        [&](std::uint64_t at, std::uint64_t n, char* into) {
          ASSERT_LE(at + n, old.size());
          std::memcpy(into, old.data() + at, n);
        },
        declared, [&](const char* p, std::size_t n) { out.append(p, n); }, "test layer");
    return out;
  }

  std::string error_of(const std::string& patch, const std::string& old, std::uint64_t declared) {
    try {
      apply(patch, old, declared);
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  }

  std::string bsdiff(const std::string& old, const std::string& now) {
    write_file(dir.file("old"), old);
    write_file(dir.file("new"), now);
    run_program({{"bsdiff", dir.file("old"), dir.file("new"), dir.file("real.patch")}, -1, -1, [](const char*, std::size_t) {}},
                "bsdiff");
    return read_file(dir.file("real.patch"));
  }
};

std::string edited(const std::string& old) {
  std::string now = old.substr(0, 300000) + random_bytes(5000, 9) + old.substr(310000);
  for (std::size_t i = 1000; i < now.size(); i += 7919) now[i] = static_cast<char>(now[i] ^ 0x5a);
  return now + old.substr(0, 20000);
}

TEST_F(BspatchTest, AppliesWhatTheBsdiffProgramWrites) {
  const std::string old = random_bytes(1 << 20, 1), now = edited(old);
  EXPECT_EQ(apply(bsdiff(old, now), old, now.size()), now);
  // The bsdiff program cannot map an empty file: these two are written by hand.
  EXPECT_EQ(apply(make_patch({{0, static_cast<std::int64_t>(now.size()), 0}}, "", now, static_cast<std::int64_t>(now.size())), "",
                  now.size()),
            now);
  EXPECT_EQ(apply(make_patch({}, "", "", 0), old, 0), "");
}

TEST_F(BspatchTest, TheEncoderWritesWhatTheBspatchProgramApplies) {
  const std::string old = random_bytes(1 << 20, 2), now = edited(old);
  write_file(dir.file("old"), old);
  write_file(dir.file("new"), now);
  auto open_layer = [&](const std::string& name, std::uint64_t size) {
    return DeltaLayerFile{Digest::sha256_of(name), std::make_shared<UniqueFd>(open_for_reading(dir.file(name))), size, nullptr, 0};
  };
  const DeltaLayerFile base = open_layer("old", old.size()), layer = open_layer("new", now.size());
  UniqueFd payload(::open(dir.file("ours.patch").c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  bsdiff_encode(base, layer, payload.get());
  run_program({{"bspatch", dir.file("old"), dir.file("rebuilt"), dir.file("ours.patch")}, -1, -1, [](const char*, std::size_t) {}},
              "bsdiff");
  EXPECT_EQ(read_file(dir.file("rebuilt")), now);
  std::string out;
  bsdiff_decode(payload.get(), base, now.size(), [&](const char* p, std::size_t n) { out.append(p, n); }, "test");
  EXPECT_EQ(out, now);
}

TEST_F(BspatchTest, TruncatedOrCorruptPatchesFailCleanly) {
  const std::string old = random_bytes(400000, 3), now = edited(old);
  const std::string patch = bsdiff(old, now);
  for (std::size_t cut = 0; cut < patch.size(); cut += std::max<std::size_t>(1, patch.size() / 97)) {
    EXPECT_THROW(apply(patch.substr(0, cut), old, now.size()), Error) << "cut at " << cut;
  }
  std::mt19937 rng(4);
  for (int round = 0; round < 200; ++round) {
    std::string bad = patch;
    const std::size_t at = rng() % bad.size();
    bad[at] = static_cast<char>(bad[at] ^ (1 + rng() % 255));
    try {
      EXPECT_EQ(apply(bad, old, now.size()).size(), now.size());  // a corrupt byte may still decode
    } catch (const Error&) {
    }
  }
}

TEST_F(BspatchTest, RefusesEveryOutOfBoundsControl) {
  const std::string old(1000, 'a');
  auto err = [&](const std::vector<Control>& c, const std::string& diff, const std::string& extra, std::int64_t n) {
    return error_of(make_patch(c, diff, extra, n), old, static_cast<std::uint64_t>(n));
  };
  EXPECT_EQ(apply(make_patch({{10, 5, 100}, {10, 0, 0}}, std::string(20, '\1'), "xxxxx", 25), old, 25),
            std::string(10, 'b') + "xxxxx" + std::string(10, 'b'));
  EXPECT_NE(err({{-1, 0, 0}}, "", "", 10).find("negative length"), std::string::npos);
  EXPECT_NE(err({{0, -5, 0}}, "", "", 10).find("negative length"), std::string::npos);
  EXPECT_NE(err({{20, 0, 0}}, std::string(20, '\0'), "", 10).find("writes past the declared 10 bytes"), std::string::npos);
  EXPECT_NE(err({{5, 10, 0}}, std::string(5, '\0'), std::string(10, 'x'), 10).find("writes past"), std::string::npos);
  EXPECT_NE(err({{900, 0, 0}}, std::string(10, '\0'), "", 900).find("diff stream ends early"), std::string::npos)
      << err({{900, 0, 0}}, std::string(10, '\0'), "", 900);
  // CVE-2014-9862: reads before or past the old file.
  EXPECT_NE(err({{0, 0, -1}, {10, 0, 0}}, std::string(10, '\0'), "", 10).find("reads bytes -1..9 of a 1000-byte"),
            std::string::npos);
  EXPECT_NE(err({{0, 0, 995}, {10, 0, 0}}, std::string(10, '\0'), "", 10).find("reads bytes 995..1005"), std::string::npos);
  EXPECT_NE(err({{0, 0, INT64_MAX}, {0, 0, 1}}, "", "", 10).find("seeks outside"), std::string::npos);
  EXPECT_NE(err({{0, 0, 0}}, "", "", 10).find("control stream ends early"), std::string::npos);
  EXPECT_NE(err(std::vector<Control>(70000, {0, 0, 1}), "", "", 10).find("controls that write nothing"), std::string::npos);
  EXPECT_NE(error_of(make_patch({}, "", "", 10), old, 11).find("makes 10 bytes, but the layer has 11"), std::string::npos);
  EXPECT_NE(error_of("BSDIFF41" + std::string(24, '\0'), old, 0).find("not a bsdiff payload"), std::string::npos);
  std::string huge_lengths = "BSDIFF40";
  put_offt(huge_lengths, 1ll << 40), put_offt(huge_lengths, 0), put_offt(huge_lengths, 0);
  EXPECT_NE(error_of(huge_lengths, old, 0).find("exceed the 32-byte patch"), std::string::npos);
}

TEST_F(BspatchTest, ALargeOutputIsStreamedFromATinyPatch) {
  // 64 MiB of extra bytes from a patch of a few KB: written to the sink block by block.
  const std::int64_t n = 64ll << 20;
  const std::string patch = make_patch({{0, n, 0}}, "", std::string(static_cast<std::size_t>(n), 'z'), n);
  EXPECT_LT(patch.size(), 4096u);
  write_file(dir.file("patch"), patch);
  UniqueFd fd = open_for_reading(dir.file("patch"));
  std::uint64_t total = 0;
  std::size_t biggest = 0;
  bspatch_stream(fd.get(), patch.size(), 0, [](std::uint64_t, std::uint64_t, char*) {}, n,
                 [&](const char*, std::size_t k) { total += k, biggest = std::max(biggest, k); }, "test");
  EXPECT_EQ(total, static_cast<std::uint64_t>(n));
  EXPECT_LE(biggest, 1u << 20);
}

}  // namespace
}  // namespace dd
