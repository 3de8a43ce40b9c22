#include "core/base64.h"

#include <gtest/gtest.h>

namespace dd {
namespace {

TEST(Base64, RoundTripsEveryLengthAndByte) {
  std::string bytes;
  for (int i = 0; i < 300; ++i) {
    const auto text = base64_encode(bytes);
    EXPECT_EQ(text.size() % 4, 0u);
    EXPECT_EQ(base64_decode(text), bytes) << i;
    bytes.push_back(static_cast<char>(i * 37));
  }
  EXPECT_EQ(base64_encode("hello"), "aGVsbG8=");
}

TEST(Base64, RefusesWhatIsNotCanonical) {
  EXPECT_FALSE(base64_decode("aGVsbG8"));    // no padding
  EXPECT_FALSE(base64_decode("aGVs bG8="));  // a space
  EXPECT_FALSE(base64_decode("aGVsbG9="));   // stray bits in the last character
  EXPECT_FALSE(base64_decode("a@==").has_value());
  EXPECT_EQ(base64_decode(""), std::string());
}

}  // namespace
}  // namespace dd
