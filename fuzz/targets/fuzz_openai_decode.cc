// Fuzzes the OpenAI chat ingress decoder; whatever it accepts must also survive the egress
// encoder (a decoded request is re-encoded for every OpenAI-compatible upstream).
#include <cstddef>
#include <cstdint>
#include <string>

#include "api/openai_chat.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string body(reinterpret_cast<const char*>(data), size);
  auto req = hybridgate::api::DecodeOpenAiChat(body);
  if (!req) return 0;
  std::string out;
  hybridgate::api::EncodeOpenAiChat(*req, {.model = "fuzz-model"}, out);
  return 0;
}
