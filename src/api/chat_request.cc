#include "api/chat_request.h"

namespace hybridgate::api {

bool ChatRequest::HasImages() const {
  for (const Message& m : messages) {
    for (const ContentPart& p : m.parts) {
      if (p.kind == ContentPart::Kind::kImage) return true;
    }
  }
  return false;
}

std::optional<int64_t> ChatRequest::MaxOutputTokens() const {
  return max_completion_tokens ? max_completion_tokens : max_tokens;
}

std::string_view ChatRequest::DialectHeader(std::string_view name) const {
  for (const auto& [k, v] : dialect_headers) {
    if (k == name) return v;
  }
  return {};
}

std::optional<int64_t> ReasoningBudget(std::string_view effort) {
  if (effort == "none") return 0;
  if (effort == "minimal") return 1024;
  if (effort == "low") return 2048;
  if (effort == "medium") return 8192;
  if (effort == "high") return 24576;
  if (effort == "xhigh") return 32768;
  return std::nullopt;
}

}  // namespace hybridgate::api
