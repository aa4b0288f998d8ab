// A shadowed request's two answers side by side (gateway/shadow.h makes them), and the scores
// the comparators give them. Plain values: the shadow job fills one, scores it and hands it to
// the comparison store.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hybridgate::quality {

// One answer: the client's (primary) or the shadow's.
struct AnswerFacts {
  std::string deployment;  // "provider/model"
  bool ok = false;
  std::string error_code;  // when !ok
  std::string text;        // the answer's content ("" for a tool-call-only answer)
  std::string finish_reason;
  int64_t latency_ms = 0;
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  double cost_usd = 0;
};

// What a comparator gave, in [0, 1] (1: as good as the primary / the same).
struct Score {
  std::string comparator;  // "exact", "json", ...
  double value = 0;
  std::string detail;   // why, in words
  double cost_usd = 0;  // what scoring cost (a judge's calls)
};

struct Comparison {
  std::string request_id;
  int64_t time_ms = 0;  // when the client's request arrived, unix ms
  std::string route;
  int data_class = 1;
  // What was asked: the last user message's text (what a judge reads; QuestionOf) and the whole
  // request as an OpenAI chat body (messages, tools, response_format: what an export or a
  // router's training reads). Kept like the answers' texts (store_text_max_class).
  std::string question;
  std::string request_json;
  bool wants_json = false;            // the request asked for JSON (response_format or kin)
  std::optional<std::string> schema;  // the JSON schema it asked for, as JSON text
  AnswerFacts primary;
  AnswerFacts shadow;
  std::vector<Score> scores;
};

// Fills `answer`'s text and finish reason from an OpenAI chat.completion body (the first
// choice; its content, else its refusal).
void ReadOpenAiAnswer(std::string_view body, AnswerFacts& answer);

}  // namespace hybridgate::quality
