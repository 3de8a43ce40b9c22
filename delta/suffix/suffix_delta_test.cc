#include "delta/suffix/suffix_delta.h"

#include <gtest/gtest.h>

#include <random>

#include "core/error.h"
#include "tests/support/random_bytes.h"

namespace dd::suffix {
namespace {

using test::random_bytes;

std::string rebuild(const Patch& p, std::string_view source, std::uint64_t size) {
  std::string out(size, '\0');
  apply(p.controls, p.diff, p.extra, source, size, out.data(), "test");
  return out;
}

void expect_round_trip(const std::string& source, const std::string& target) {
  const auto patch = encode(source, target);
  ASSERT_TRUE(patch) << source.size() << " -> " << target.size();
  EXPECT_EQ(rebuild(*patch, source, target.size()), target);
}

// Text whose version strings change, as in a package manifest.
std::string manifest(int version, int entries) {
  std::string s;
  for (int i = 0; i < entries; ++i)
    s += "  \"package-" + std::to_string(i) + "\": \"^" + std::to_string(version) + "." + std::to_string(i % 7) + ".0\",\n";
  return s;
}

// Machine code whose relative call targets all shift when code is inserted before them.
std::string code(std::uint32_t shift, std::size_t calls) {
  std::mt19937 rng(7);
  std::string s;
  for (std::size_t i = 0; i < calls; ++i) {
    s += '\xe8';  // call rel32
    const std::uint32_t target = static_cast<std::uint32_t>(rng() % 100000) + shift;
    for (int b = 0; b < 4; ++b) s += static_cast<char>((target >> (8 * b)) & 0xff);
    s += "\x48\x89\xe5\x48\x83\xec\x10";
  }
  return s;
}

TEST(SuffixDelta, RoundTripsRandomAndEdgeInputs) {
  expect_round_trip("", "");
  expect_round_trip("", "new bytes only");
  expect_round_trip("old bytes only", "");
  expect_round_trip("a", "a");
  expect_round_trip("a", "b");
  expect_round_trip(std::string(100000, '\0'), std::string(150000, '\0'));
  expect_round_trip(random_bytes(70000, 1), random_bytes(90000, 2));
  std::mt19937 rng(3);
  for (int round = 0; round < 40; ++round) {
    std::string old = random_bytes(1 + rng() % 20000, static_cast<unsigned>(round));
    std::string nw = old;
    for (int edit = 0; edit < 20; ++edit) {
      const std::size_t at = rng() % (nw.size() + 1);
      switch (rng() % 3) {
        case 0: nw.insert(at, random_bytes(rng() % 50, static_cast<unsigned>(round * 100 + edit))); break;
        case 1: nw.erase(at, rng() % 50); break;
        default: if (at < nw.size()) nw[at] = static_cast<char>(rng()); break;
      }
    }
    expect_round_trip(old, nw);
  }
}

TEST(SuffixDelta, SmallPatchesForShiftedCodeAndChangedVersions) {
  const std::string old_text = manifest(1, 3000), new_text = manifest(2, 3000);
  const auto text = encode(old_text, new_text);
  ASSERT_TRUE(text);
  EXPECT_EQ(rebuild(*text, old_text, new_text.size()), new_text);
  // Every changed version is one non-zero byte of diff: nearly all of it matched approximately.
  EXPECT_LT(text->extra.size(), new_text.size() / 50);
  const std::size_t nonzero = new_text.size() - std::count(text->diff.begin(), text->diff.end(), '\0');
  EXPECT_LE(nonzero, 3000u);

  const std::string old_code = code(0, 20000), new_code = code(0x40, 20000);
  const auto shifted = encode(old_code, new_code);
  ASSERT_TRUE(shifted);
  EXPECT_EQ(rebuild(*shifted, old_code, new_code.size()), new_code);
  EXPECT_LT(shifted->extra.size(), new_code.size() / 50);
  EXPECT_LT(shifted->controls.size(), 1000u);
}

// Old files of 64 KiB and more are searched from a table of two-byte prefixes: pairs the old file
// lacks, the one-byte suffix at its end, and byte values at both ends of the table.
TEST(SuffixDelta, PrefixTableEdges) {
  std::string low = random_bytes(200000, 11), high = random_bytes(50000, 12);
  for (char& c : low) c = static_cast<char>(static_cast<unsigned char>(c) & 0x7f);
  for (char& c : high) c |= static_cast<char>(0x80);
  const auto disjoint = encode(low, high);  // no pair of the new bytes is in the old
  ASSERT_TRUE(disjoint);
  EXPECT_EQ(rebuild(*disjoint, low, high.size()), high);
  EXPECT_EQ(disjoint->extra.size(), high.size());

  std::string old = random_bytes(100000, 13) + std::string(300, '\xff') + std::string(300, '\0') + "\xff";
  std::string nw = old.substr(5000, 40000) + "\xff" + old.substr(60000) + std::string(500, '\0') + old.substr(0, 3000);
  const auto patch = encode(old, nw);
  ASSERT_TRUE(patch);
  EXPECT_EQ(rebuild(*patch, old, nw.size()), nw);
  EXPECT_LT(patch->extra.size(), 1000u);  // all of it is found in the old bytes
}

TEST(SuffixDelta, RefusesWindowsPastItsBound) {
  const std::string big(kMaxSuffixSource + 1, 'x');
  EXPECT_THROW(encode(big, "x"), Error);
  EXPECT_THROW(encode("x", big), Error);
}

void expect_refused(std::string_view controls, std::string_view diff, std::string_view extra, std::string_view source,
                    std::uint64_t size) {
  std::string out(size, '\0');
  try {
    apply(controls, diff, extra, source, size, out.data(), "test");
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::bad_input) << e.what();
  }
}

TEST(SuffixDelta, EveryDecodeBoundIsChecked) {
  // add, copy, seek (zig-zag: 2 = +1, 1 = -1)
  expect_refused(std::string("\x05\x00\x00", 3), std::string(5, '\0'), "", "abc", 5);     // add past the old bytes
  expect_refused(std::string("\x02\x00\x00", 3), std::string(2, '\0'), "", "abc", 1);     // add past the new bytes
  expect_refused(std::string("\x02\x00\x00", 3), std::string(1, '\0'), "", "abc", 2);     // add past the diff
  expect_refused(std::string("\x00\x03\x00", 3), "", "ab", "abc", 3);                     // copy past the extra
  expect_refused(std::string("\x00\x02\x00", 3), "", "abc", "abc", 1);                    // copy past the new bytes
  expect_refused(std::string("\x00\x00\x01", 3), "", "", "abc", 0);                       // seek before the start
  expect_refused(std::string("\x00\x00\x08", 3), "", "", "abc", 0);                       // seek past the end
  expect_refused(std::string("\x00\x00\xfe\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12), "", "", "abc", 0);  // huge seek
  expect_refused(std::string("\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12), "", "", "abc", 0);  // huge back seek
  expect_refused(std::string("\x80", 1), "", "", "abc", 0);                               // truncated number
  expect_refused(std::string("\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f\x00\x00", 12), "", "", "abc", 0);  // > 64 bits
  expect_refused(std::string("\x01\x00\x00", 3), std::string(1, '\0'), "", "abc", 2);     // new bytes left over
  expect_refused(std::string("\x01\x00\x00", 3), std::string(2, '\0'), "", "abc", 1);     // diff left over
  expect_refused(std::string("\x00\x01\x00", 3), "", "ab", "abc", 1);                     // extra left over
}

TEST(SuffixDelta, FlippedBytesNeverCrash) {
  const std::string old = manifest(1, 400), nw = manifest(2, 380) + "tail";
  const auto patch = encode(old, nw);
  ASSERT_TRUE(patch);
  std::string out(nw.size(), '\0');
  for (std::string Patch::*stream : {&Patch::controls, &Patch::diff, &Patch::extra}) {
    const std::string& original = (*patch).*stream;
    for (std::size_t at = 0; at < original.size(); at += 1 + original.size() / 300) {
      Patch damaged = *patch;
      (damaged.*stream)[at] ^= 0x5a;
      try {
        apply(damaged.controls, damaged.diff, damaged.extra, old, nw.size(), out.data(), "test");
      } catch (const Error& e) {
        EXPECT_EQ(e.code(), Errc::bad_input);
      }
    }
  }
}

}  // namespace
}  // namespace dd::suffix
