#include "engine/utf8.h"

#include <gtest/gtest.h>

namespace hybridgate::engine {
namespace {

TEST(Utf8, CompletePrefixHoldsBackAnUnfinishedCharacter) {
  EXPECT_EQ(CompleteUtf8Prefix("abc"), 3u);
  EXPECT_EQ(CompleteUtf8Prefix("ab\xE2\x82"), 2u);      // € cut after two bytes
  EXPECT_EQ(CompleteUtf8Prefix("ab\xE2\x82\xAC"), 5u);  // € complete
  EXPECT_EQ(CompleteUtf8Prefix("\xF0\x9F\x98"), 0u);    // emoji cut
  EXPECT_EQ(CompleteUtf8Prefix("a\xFF"), 2u);           // invalid: nothing to wait for
}

TEST(Utf8, InvalidBytesBecomeReplacementCharacters) {
  std::string out;
  AppendValidUtf8("ok \xE2\x82\xAC", out);
  EXPECT_EQ(out, "ok \xE2\x82\xAC");
  out.clear();
  AppendValidUtf8("a\xE2z", out);
  EXPECT_EQ(out, "a\xEF\xBF\xBDz");
  out.clear();
  AppendValidUtf8("\xC0\xAF", out);  // overlong
  EXPECT_EQ(out, "\xEF\xBF\xBD");
  out.clear();
  AppendValidUtf8("\xED\xA0\x80", out);  // surrogate
  EXPECT_EQ(out, "\xEF\xBF\xBD");
}

}  // namespace
}  // namespace hybridgate::engine
