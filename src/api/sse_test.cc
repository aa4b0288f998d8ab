#include "api/sse.h"

#include <gtest/gtest.h>

#include <vector>

namespace hybridgate::api {
namespace {

std::vector<SseEvent> FeedAll(SseParser& p, const std::vector<std::string>& pieces) {
  std::vector<SseEvent> events;
  for (const auto& piece : pieces) {
    EXPECT_TRUE(p.Feed(piece, [&](const SseEvent& e) { events.push_back(e); }));
  }
  return events;
}

TEST(SseParser, ParsesEventsDataAndComments) {
  SseParser p;
  auto ev = FeedAll(p, {": ping\n\nevent: message_start\ndata: {\"a\":1}\n\ndata: x\ndata: y\n\n"});
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].event, "message_start");
  EXPECT_EQ(ev[0].data, "{\"a\":1}");
  EXPECT_EQ(ev[1].event, "");
  EXPECT_EQ(ev[1].data, "x\ny");
}

TEST(SseParser, BlankLineWithoutDataResetsTheEventType) {
  // WHATWG: an event name followed by a blank line but no data is dropped, name included.
  SseParser p;
  auto ev = FeedAll(p, {"event: ping\n\ndata: x\n\n"});
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].event, "");
  EXPECT_EQ(ev[0].data, "x");
}

TEST(SseParser, SameEventsWhateverTheSplitPointAndLineEnding) {
  for (const std::string eol : {"\n", "\r\n", "\r"}) {
    const std::string stream = "event: a" + eol + "data: 1" + eol + eol + "data:2" + eol + eol +
                               "data: [DONE]" + eol + eol;
    for (size_t cut1 = 0; cut1 <= stream.size(); ++cut1) {
      for (size_t cut2 = cut1; cut2 <= stream.size(); ++cut2) {
        SseParser p;
        auto ev = FeedAll(
            p, {stream.substr(0, cut1), stream.substr(cut1, cut2 - cut1), stream.substr(cut2)});
        ASSERT_EQ(ev.size(), 3u) << "cuts " << cut1 << "," << cut2;
        EXPECT_EQ(ev[0].event, "a");
        EXPECT_EQ(ev[0].data, "1");
        EXPECT_EQ(ev[1].data, "2");
        EXPECT_EQ(ev[2].data, "[DONE]");
      }
    }
  }
}

TEST(SseParser, IncompleteEventIsHeldNotEmitted) {
  SseParser p;
  auto ev = FeedAll(p, {"data: partial"});
  EXPECT_TRUE(ev.empty());
  EXPECT_EQ(p.Pending(), 13u);
}

}  // namespace
}  // namespace hybridgate::api
