#include "quality/comparison.h"

#include <boost/json.hpp>

namespace hybridgate::quality {

void ReadOpenAiAnswer(std::string_view body, AnswerFacts& answer) {
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(body, ec);
  if (ec) return;
  const auto* choices = v.is_object() ? v.as_object().if_contains("choices") : nullptr;
  if (!choices || !choices->is_array() || choices->as_array().empty()) return;
  const auto& choice = choices->as_array().front();
  if (!choice.is_object()) return;
  if (const auto* f = choice.as_object().if_contains("finish_reason"); f && f->is_string()) {
    answer.finish_reason = std::string(f->as_string());
  }
  const auto* m = choice.as_object().if_contains("message");
  if (!m || !m->is_object()) return;
  for (const char* field : {"content", "refusal"}) {
    if (const auto* t = m->as_object().if_contains(field); t && t->is_string()) {
      answer.text = std::string(t->as_string());
      return;
    }
  }
}

}  // namespace hybridgate::quality
