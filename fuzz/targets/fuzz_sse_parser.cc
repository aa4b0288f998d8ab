// Fuzzes the incremental SSE parser with the input fed in random splits, and checks that the
// events do not depend on where the reads were split (the parser's core promise).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "api/sse.h"
#include "split.h"

using hybridgate::api::SseEvent;
using hybridgate::api::SseParser;

namespace {

struct Collected {
  std::vector<SseEvent> events;
  bool failed = false;
};

bool Same(const SseEvent& a, const SseEvent& b) {
  return a.event == b.event && a.data == b.data && a.id == b.id;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Collected split, whole;
  SseParser split_parser, whole_parser;
  auto on_split = [&](const SseEvent& e) { split.events.push_back(e); };
  const std::string_view payload =
      hybridgate::fuzz::ForEachChunk(data, size, [&](std::string_view chunk) {
        if (!split.failed && !split_parser.Feed(chunk, on_split)) split.failed = true;
      });
  if (!whole_parser.Feed(payload, [&](const SseEvent& e) { whole.events.push_back(e); }))
    whole.failed = true;
  if (split.failed != whole.failed) {
    std::fprintf(stderr, "split/whole disagree on failure\n");
    std::abort();
  }
  if (split.failed) return 0;
  if (split.events.size() != whole.events.size() ||
      split_parser.Pending() != whole_parser.Pending()) {
    std::fprintf(stderr, "split: %zu events, whole: %zu events\n", split.events.size(),
                 whole.events.size());
    std::abort();
  }
  for (size_t i = 0; i < split.events.size(); ++i) {
    if (!Same(split.events[i], whole.events[i])) {
      std::fprintf(stderr, "event %zu differs between split and whole feeds\n", i);
      std::abort();
    }
  }
  return 0;
}
