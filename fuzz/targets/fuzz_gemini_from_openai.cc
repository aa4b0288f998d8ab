// Fuzzes the OpenAI chunk -> Gemini SSE translator (a Gemini client served by any upstream) and
// the non-stream response encoder: each input line is one chunk's JSON ("[DONE]" included) and is
// also encoded as if it were a whole chat.completion.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "api/gemini/gemini.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  hybridgate::api::gemini::StreamFromOpenAi translator(size % 2 == 0 ? "fuzz-model" : "");
  std::string out;
  while (!in.empty()) {
    const size_t nl = in.find('\n');
    const std::string_view line = in.substr(0, nl);
    in.remove_prefix(nl == std::string_view::npos ? in.size() : nl + 1);
    if (line.empty()) continue;
    (void)hybridgate::api::gemini::EncodeResponse(line);
    if (!translator.Feed(line, out)) break;
    out.clear();
  }
  translator.Finish(out);
  translator.Finish(out);  // idempotent by contract
  return 0;
}
