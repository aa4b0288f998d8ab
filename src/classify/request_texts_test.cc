#include "classify/request_texts.h"

#include <gtest/gtest.h>

#include <list>
#include <string>
#include <string_view>
#include <vector>

namespace hybridgate::classify {
namespace {

// The scan texts line up with CollectTexts (same order, same lengths); only JSON texts with
// whitespace escapes are copied, plain texts and non-JSON tool results are read as they are.
TEST(CollectScanTexts, SameOrderAndLengthsOnlyJsonEscapesRewritten) {
  api::ChatRequest req;
  req.messages.resize(3);
  req.messages[0].role = "user";
  req.messages[0].text = R"(plain \n stays)";
  req.messages[1].role = "assistant";
  req.messages[1].tool_calls.resize(2);
  req.messages[1].tool_calls[0].arguments = R"({"a":"x\nkey","b":"c\\nd"})";
  req.messages[1].tool_calls[1].arguments = R"({"a":"no escape \"q\""})";
  req.messages[2].role = "tool";
  req.messages[2].text = R"(not json \t here)";
  std::vector<std::string_view> raw, scan;
  std::list<std::string> storage;
  CollectTexts(req, raw);
  CollectScanTexts(req, scan, storage);
  ASSERT_EQ(raw.size(), 4u);
  ASSERT_EQ(scan.size(), raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) EXPECT_EQ(scan[i].size(), raw[i].size()) << i;
  EXPECT_EQ(scan[0].data(), raw[0].data());
  EXPECT_EQ(scan[1], R"({"a":"x  key","b":"c\\nd"})");
  EXPECT_EQ(scan[2].data(), raw[2].data());
  EXPECT_EQ(scan[3].data(), raw[3].data());
  EXPECT_EQ(storage.size(), 1u);

  req.messages[2].text = R"({"out":"a\tb"})";  // a JSON tool result is read through its view
  scan.clear();
  storage.clear();
  CollectScanTexts(req, scan, storage);
  EXPECT_EQ(scan[3], R"({"out":"a  b"})");
  EXPECT_EQ(storage.size(), 2u);
}

}  // namespace
}  // namespace hybridgate::classify
