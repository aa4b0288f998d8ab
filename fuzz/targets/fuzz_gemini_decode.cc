// Fuzzes the Gemini generateContent ingress decoder; an accepted request is re-encoded both for a
// Gemini upstream (signatures, kept generationConfig members and extra fields written back) and
// for an OpenAI-compatible one.
#include <cstddef>
#include <cstdint>
#include <string>

#include "api/gemini/gemini.h"
#include "api/openai_chat.h"

namespace gemini = hybridgate::api::gemini;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string body(reinterpret_cast<const char*>(data), size);
  auto req = gemini::DecodeRequest(body, "fuzz-model", size % 2 == 0);
  if (!req) {
    (void)gemini::EncodeError(req.error());
    return 0;
  }
  std::string out;
  (void)gemini::EncodeRequest(*req, out);
  out.clear();
  hybridgate::api::EncodeOpenAiChat(*req, {.model = "fuzz-model"}, out);
  return 0;
}
