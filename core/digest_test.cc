#include "core/digest.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace dd {
namespace {

TEST(Digest, ParsesOnlyWellFormedDigests) {
  const Digest d = Digest::sha256_of("hello");
  EXPECT_EQ(d.str(), "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
  EXPECT_EQ(Digest::parse(d.str()), d);
  for (const char* bad : {"", "sha256", "sha256:", "sha256:xyz", "md5:d41d8cd98f00b204e9800998ecf8427e",
                          "sha256:2CF24DBA5FB0A30E26E83B2AC5B9E29E1B161E5C1FA7425E73043362938B9824"})
    EXPECT_THROW(Digest::parse(bad), Error) << bad;
}

TEST(Digest, RawBytesRoundTrip) {
  const Digest d = Digest::sha256_of("abc");
  EXPECT_EQ(d.str(), "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string raw = d.raw();
  ASSERT_EQ(raw.size(), 32u);
  EXPECT_EQ(static_cast<unsigned char>(raw[0]), 0xba);
  EXPECT_EQ(static_cast<unsigned char>(raw[31]), 0xad);
  EXPECT_EQ(Digest::from_raw("sha256", raw), d);
}

TEST(Digest, FromRawChecksTheLength) {
  EXPECT_THROW(Digest::from_raw("sha256", std::string(31, 'x')), Error);
  EXPECT_THROW(Digest::from_raw("md5", std::string(16, 'x')), Error);
  EXPECT_EQ(Digest::from_raw("sha512", std::string(64, '\0')).hex(), std::string(128, '0'));
}

}  // namespace
}  // namespace dd
