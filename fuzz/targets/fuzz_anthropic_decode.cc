// Fuzzes the Anthropic /v1/messages ingress decoder; an accepted request is re-encoded both for
// an Anthropic upstream (extra fields forwarded) and for an OpenAI-compatible one.
#include <cstddef>
#include <cstdint>
#include <string>

#include "api/anthropic/anthropic.h"
#include "api/openai_chat.h"

namespace anthropic = hybridgate::api::anthropic;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string body(reinterpret_cast<const char*>(data), size);
  auto req = anthropic::DecodeRequest(body);
  if (!req) return 0;
  std::string out;
  (void)anthropic::EncodeRequest(*req, {.model = "fuzz-model", .forward_extra = true}, out);
  out.clear();
  hybridgate::api::EncodeOpenAiChat(*req, {.model = "fuzz-model"}, out);
  return 0;
}
