// Fuzzes the Anthropic SSE -> OpenAI chunk translator behind the SSE parser, as the gateway runs
// it for an Anthropic upstream: bytes in random splits -> events -> chat.completion.chunk JSON.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "api/anthropic/anthropic.h"
#include "api/sse.h"
#include "split.h"

using hybridgate::api::SseEvent;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  hybridgate::api::SseParser parser;
  hybridgate::api::anthropic::StreamToOpenAi translator(1700000000);
  std::vector<std::string> out;
  bool stopped = false;  // the gateway abandons a stream after the first error
  hybridgate::fuzz::ForEachChunk(data, size, [&](std::string_view chunk) {
    if (stopped) return;
    auto st = parser.Feed(chunk, [&](const SseEvent& e) {
      if (!stopped && !translator.Feed(e, out)) stopped = true;
    });
    if (!st) stopped = true;
    out.clear();
  });
  (void)translator.Done();
  return 0;
}
