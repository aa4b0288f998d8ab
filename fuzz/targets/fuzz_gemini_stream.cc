// Fuzzes the Gemini stream -> OpenAI chunk translator behind the SSE parser, as the gateway runs
// it for streamGenerateContent?alt=sse: bytes in random splits -> data: JSON -> chunks.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "api/gemini/gemini.h"
#include "api/sse.h"
#include "split.h"

using hybridgate::api::SseEvent;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  hybridgate::api::SseParser parser;
  hybridgate::api::gemini::StreamToOpenAi translator("fuzz-model", 1700000000);
  std::vector<std::string> out;
  bool stopped = false;
  hybridgate::fuzz::ForEachChunk(data, size, [&](std::string_view chunk) {
    if (stopped) return;
    auto st = parser.Feed(chunk, [&](const SseEvent& e) {
      if (!stopped && !translator.Feed(e.data, out)) stopped = true;
    });
    if (!st) stopped = true;
    out.clear();
  });
  if (!stopped) {
    translator.Finish(out);
    translator.Finish(out);  // idempotent by contract
  }
  (void)translator.Finished();
  return 0;
}
