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

}  // namespace hybridgate::api
