// Fuzzes the OpenAI chunk -> Anthropic SSE translator (an Anthropic client served by an
// OpenAI-compatible upstream): each input line is one chunk's JSON ("[DONE]" included).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "api/anthropic/anthropic.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  hybridgate::api::anthropic::StreamFromOpenAi translator("fuzz-model");
  std::string out;
  while (!in.empty()) {
    const size_t nl = in.find('\n');
    const std::string_view line = in.substr(0, nl);
    in.remove_prefix(nl == std::string_view::npos ? in.size() : nl + 1);
    if (line.empty()) continue;
    if (!translator.Feed(line, out)) break;
    out.clear();
  }
  translator.Finish(out);
  translator.Finish(out);  // idempotent by contract
  return 0;
}
