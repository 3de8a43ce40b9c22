#include "core/printable.h"

#include <gtest/gtest.h>

namespace dd {
namespace {

TEST(Printable, KeepsPlainTextAndWellFormedUtf8) {
  EXPECT_EQ(printable("app:v2"), "app:v2");
  EXPECT_EQ(printable("caf\xc3\xa9 \xe2\x86\x92 \xf0\x9f\x90\xb3"), "caf\xc3\xa9 \xe2\x86\x92 \xf0\x9f\x90\xb3");
}

TEST(Printable, EscapesControlCharactersAndBackslash) {
  EXPECT_EQ(printable("a\nb\tc\x1b[2J"), "a\\x0ab\\x09c\\x1b[2J");
  EXPECT_EQ(printable(std::string("nul\0x", 5)), "nul\\x00x");
  EXPECT_EQ(printable("\x7f"), "\\x7f");
  EXPECT_EQ(printable("a\\x41"), "a\\\\x41");
  EXPECT_EQ(printable("\xc2\x9b" "31m"), "\\xc2\\x9b31m");  // C1 CSI
}

TEST(Printable, EscapesEveryByteOfIllFormedUtf8) {
  EXPECT_EQ(printable("\xff"), "\\xff");
  EXPECT_EQ(printable("\xc0\xaf"), "\\xc0\\xaf");          // overlong '/'
  EXPECT_EQ(printable("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // a surrogate
  EXPECT_EQ(printable("\xe2\x86"), "\\xe2\\x86");          // truncated
  EXPECT_EQ(printable("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // past U+10FFFF
}

}  // namespace
}  // namespace dd
