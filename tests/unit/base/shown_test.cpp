// Values from input as messages show them: one line, nothing that drives or reorders a terminal.
#include "base/shown.h"

#include <gtest/gtest.h>

namespace mxs {
namespace {

TEST(Shown, EscapesEverythingThatDrivesATerminal) {
    EXPECT_EQ(printable("a\nb\r\t\x1b[31m\x7f"), "a\\nb\\r\\t\\x1b[31m\\x7f");
    // UTF-8 text stays; bytes that are not UTF-8 (a raw 8-bit CSI, a cut sequence) do not.
    EXPECT_EQ(printable("r\xc3\xa9sum\xc3\xa9 \xe2\x9c\x93"), "r\xc3\xa9sum\xc3\xa9 \xe2\x9c\x93");
    EXPECT_EQ(printable("\x9b"
                        "31m"),
              "\\x9b31m");
    EXPECT_EQ(printable("\xc3"), "\\xc3");
    EXPECT_EQ(printable("\xc0\xaf"), "\\xc0\\xaf");          // overlong '/'
    EXPECT_EQ(printable("\xed\xa0\x80"), "\\xed\\xa0\\x80"); // a surrogate
    // C1 controls encoded as UTF-8 (U+009B is CSI), bidirectional and invisible controls.
    EXPECT_EQ(printable("\xc2\x9b"
                        "31m"),
              "\\u009b31m");
    EXPECT_EQ(printable("mx1\xe2\x80\xae"
                        "tset"),
              "mx1\\u202etset");
    EXPECT_EQ(printable("\xe2\x81\xa6x\xe2\x81\xa9\xe2\x80\x8b\xef\xbb\xbf"),
              "\\u2066x\\u2069\\u200b\\ufeff");
    EXPECT_EQ(printable("\xf0\x9f\x93\xa7"), "\xf0\x9f\x93\xa7"); // U+1F4E7 stays
    EXPECT_EQ(printable("a\xe2\x80\xa8"
                        "b\xe2\x80\xa9"),
              "a\\u2028b\\u2029"); // separators
}

TEST(Shown, QuotesAndBounds) {
    EXPECT_EQ(shown("it's \\"), "'it\\'s \\\\'");
    EXPECT_EQ(shown("abcdef", 3), "'abc'... (6 bytes)");
    EXPECT_EQ(shown("\xe2\x80\xae", 80), "'\\u202e'");
    EXPECT_EQ(shown("\xe2\x80\xae", 2), "'\\xe2\\x80'... (3 bytes)"); // the bound cuts it
}

} // namespace
} // namespace mxs
