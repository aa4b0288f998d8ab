#include "quality/comparison.h"

#include <boost/json.hpp>
#include <cctype>

namespace hybridgate::quality {
namespace {

// Lower case, whitespace runs folded to one space, trimmed.
std::string Normalize(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  bool space = false;
  for (const unsigned char c : text) {
    if (std::isspace(c)) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += static_cast<char>(std::tolower(c));
  }
  return out;
}

bool ParsesAsJson(const std::string& text) {
  boost::system::error_code ec;
  (void)boost::json::parse(text, ec);
  return !ec;
}

}  // namespace

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

void ScoreLocally(Comparison& c) {
  if (!c.primary.ok || !c.shadow.ok) return;  // nothing to compare
  const bool same = Normalize(c.primary.text) == Normalize(c.shadow.text);
  c.scores.push_back({"exact", same ? 1.0 : 0.0, same ? "same text" : "different text"});
  if (c.wants_json) {
    const bool primary = ParsesAsJson(c.primary.text);
    const bool shadow = ParsesAsJson(c.shadow.text);
    const double value = shadow ? 1.0 : primary ? 0.0 : 1.0;
    c.scores.push_back({"json", value,
                        shadow    ? "the shadow's answer is JSON"
                        : primary ? "the shadow's answer is not JSON; the primary's is"
                                  : "neither answer is JSON"});
  }
}

}  // namespace hybridgate::quality
