#include "classify/sensitivity/normalize.h"

#include <gtest/gtest.h>

#include <string>

namespace hybridgate::sensitivity {
namespace {

TEST(NormalizeTest, HasNonAscii) {
  EXPECT_FALSE(HasNonAscii(""));
  EXPECT_FALSE(HasNonAscii("plain ascii"));
  std::string long_ascii(1000, 'a');
  EXPECT_FALSE(HasNonAscii(long_ascii));
  for (std::size_t at : {0u, 7u, 63u, 64u, 100u, 999u}) {
    std::string s = long_ascii;
    s[at] = static_cast<char>(0xC3);
    EXPECT_TRUE(HasNonAscii(s)) << at;
  }
}

TEST(NormalizeTest, FoldCodePoint) {
  EXPECT_EQ(FoldCodePoint(U'a'), kKeep);
  EXPECT_EQ(FoldCodePoint(U'\u00E9'), kKeep);  // é
  EXPECT_EQ(FoldCodePoint(U'\u201C'), kKeep);  // curly quote
  EXPECT_EQ(FoldCodePoint(U'\u00A0'), ' ');
  EXPECT_EQ(FoldCodePoint(U'\u3000'), ' ');
  EXPECT_EQ(FoldCodePoint(U'\u00AD'), kDrop);
  EXPECT_EQ(FoldCodePoint(U'\u200B'), kDrop);
  EXPECT_EQ(FoldCodePoint(U'\u200F'), kDrop);
  EXPECT_EQ(FoldCodePoint(U'\u202E'), kDrop);
  EXPECT_EQ(FoldCodePoint(U'\u2064'), kDrop);
  EXPECT_EQ(FoldCodePoint(U'\u2069'), kDrop);
  EXPECT_EQ(FoldCodePoint(U'\uFEFF'), kDrop);
  EXPECT_EQ(FoldCodePoint(U'\u2010'), '-');
  EXPECT_EQ(FoldCodePoint(U'\u2015'), '-');
  EXPECT_EQ(FoldCodePoint(U'\u2212'), '-');
  EXPECT_EQ(FoldCodePoint(U'\u2016'), kKeep);
  EXPECT_EQ(FoldCodePoint(U'\uFF01'), '!');
  EXPECT_EQ(FoldCodePoint(U'\uFF10'), '0');
  EXPECT_EQ(FoldCodePoint(U'\uFF20'), '@');
  EXPECT_EQ(FoldCodePoint(U'\uFF5E'), '~');
  EXPECT_EQ(FoldCodePoint(U'\uFF5F'), kKeep);
  EXPECT_EQ(FoldCodePoint(U'\u0660'), '0');  // Arabic-Indic
  EXPECT_EQ(FoldCodePoint(U'\u0669'), '9');
  EXPECT_EQ(FoldCodePoint(U'\u066A'), kKeep);
  EXPECT_EQ(FoldCodePoint(U'\u06F4'), '4');      // Extended Arabic-Indic
  EXPECT_EQ(FoldCodePoint(U'\u0967'), '1');      // Devanagari
  EXPECT_EQ(FoldCodePoint(U'\u09EF'), '9');      // Bengali
  EXPECT_EQ(FoldCodePoint(U'\u0E52'), '2');      // Thai
  EXPECT_EQ(FoldCodePoint(U'\U0001D7CF'), '1');  // mathematical bold
  EXPECT_EQ(FoldCodePoint(U'\U0001D7FF'), '9');
}

TEST(NormalizeTest, NothingToFoldMakesNoCopy) {
  NormalizedText n;
  EXPECT_FALSE(n.Assign(""));
  EXPECT_FALSE(n.Assign("plain"));
  EXPECT_FALSE(n.Assign("caf\xc3\xa9 \xe2\x80\x9cquoted\xe2\x80\x9d \xf0\x9f\x98\x80"));
  EXPECT_TRUE(n.text().empty());
}

TEST(NormalizeTest, FoldsAndMapsBack) {
  // "a", NBSP, "b", ZWSP, "１", "2", "é", minus sign, "3"
  const std::string in =
      "a\xc2\xa0"
      "b\xe2\x80\x8b\xef\xbc\x91"
      "2\xc3\xa9\xe2\x88\x92"
      "3";
  NormalizedText n;
  ASSERT_TRUE(n.Assign(in));
  EXPECT_EQ(n.text(), "a b12\xc3\xa9-3");
  // Each folded byte maps to its whole character.
  EXPECT_EQ(n.OriginalStart(1), 1u);  // the space: NBSP at 1..3
  EXPECT_EQ(n.OriginalEnd(2), 3u);
  EXPECT_EQ(n.OriginalStart(3), 7u);  // '1': the ZWSP before it stays outside
  EXPECT_EQ(n.OriginalEnd(4), 10u);
  EXPECT_EQ(n.OriginalStart(4), 10u);  // '2'
  EXPECT_EQ(n.OriginalEnd(5), 11u);
  EXPECT_EQ(n.OriginalStart(6), 12u);  // second byte of é, copied one to one
  EXPECT_EQ(n.OriginalEnd(8), 16u);    // '-' is the minus sign at 13..16
  EXPECT_EQ(n.OriginalEnd(9), in.size());
  // A range over a dropped character covers it.
  EXPECT_EQ(n.OriginalStart(2), 3u);
  EXPECT_EQ(n.OriginalEnd(4), 10u);
  EXPECT_EQ(in.substr(3, 10 - 3), "b\xe2\x80\x8b\xef\xbc\x91");
}

TEST(NormalizeTest, DropsAtTheEdgesAndInvalidBytesAreKept) {
  // ZWSP first, then a truncated sequence, an overlong form and a lone continuation byte.
  const std::string in = "\xe2\x80\x8bx\xe2\x80 \xc0\xaf \x80y\xef\xbb\xbf";
  NormalizedText n;
  ASSERT_TRUE(n.Assign(in));
  EXPECT_EQ(n.text(), "x\xe2\x80 \xc0\xaf \x80y");
  EXPECT_EQ(n.OriginalStart(0), 3u);
  EXPECT_EQ(n.OriginalEnd(n.text().size()), in.size() - 3);  // the trailing BOM stays outside
  for (std::size_t i = 0; i < n.text().size(); ++i) {
    EXPECT_EQ(in[n.OriginalStart(i)], n.text()[i]) << i;  // all copied one to one
  }
}

}  // namespace
}  // namespace hybridgate::sensitivity
