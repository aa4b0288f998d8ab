#include "routing/escalation.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "api/json.h"
#include "common/json_writer.h"

namespace hybridgate::routing {

namespace {

// choices[0] of a parsed answer, if any.
std::optional<simdjson::dom::element> FirstChoice(simdjson::dom::element root) {
  simdjson::dom::array choices;
  simdjson::dom::element first;
  if (root["choices"].get_array().get(choices) || choices.at(0).get(first)) return std::nullopt;
  return first;
}

bool Wants(const EscalationConfig& config, EscalationTrigger t) {
  return std::find(config.on.begin(), config.on.end(), t) != config.on.end();
}

}  // namespace

std::optional<double> AnswerConfidence(std::string_view body) {
  auto root = api::ParseJsonView(body);
  if (!root) return std::nullopt;
  const auto choice = FirstChoice(*root);
  if (!choice) return std::nullopt;
  simdjson::dom::array content;
  if ((*choice)["logprobs"]["content"].get_array().get(content)) return std::nullopt;
  double sum = 0;
  size_t n = 0;
  for (simdjson::dom::element token : content) {
    double lp = 0;
    if (token["logprob"].get_double().get(lp)) {
      int64_t i = 0;  // an integral logprob (0) may be written without a fraction
      if (token["logprob"].get_int64().get(i)) continue;
      lp = static_cast<double>(i);
    }
    sum += lp;
    ++n;
  }
  if (n == 0) return std::nullopt;
  return std::exp(sum / static_cast<double>(n));
}

bool AnswerIsJsonObject(std::string_view body) {
  std::string text;
  {
    auto root = api::ParseJsonView(body);
    if (!root) return false;
    const auto choice = FirstChoice(*root);
    if (!choice) return false;
    std::string_view content;
    if ((*choice)["message"]["content"].get_string().get(content)) return true;  // tool calls
    text.assign(content);
  }
  simdjson::dom::element v;
  if (api::NestedParser().parse(text).get(v)) return false;
  return v.is_object();
}

EscalationVerdict CheckAnswer(const EscalationConfig& config, const api::ChatRequest& req,
                              std::string_view body) {
  using Kind = api::ResponseFormat::Kind;
  const Kind format = req.response_format.kind;
  if (Wants(config, EscalationTrigger::kInvalidJson) &&
      (format == Kind::kJsonObject || format == Kind::kJsonSchema) && !AnswerIsJsonObject(body)) {
    return {true, "answer is not the JSON object the request asked for"};
  }
  if (Wants(config, EscalationTrigger::kLowLogprob)) {
    if (const auto c = AnswerConfidence(body); c && *c < config.min_confidence) {
      return {true, fmt::format("confidence {:.2f} < {:.2f}", *c, config.min_confidence)};
    }
  }
  return {};
}

std::string StripLogprobs(std::string_view body) {
  auto root = api::ParseJsonView(body);
  simdjson::dom::object obj;
  if (!root || root->get_object().get(obj)) return std::string(body);
  std::string out;
  out.reserve(body.size());
  JsonWriter w(out);
  w.BeginObject();
  for (auto [key, value] : obj) {
    simdjson::dom::array choices;
    if (key != "choices" || value.get_array().get(choices)) {
      w.RawField(key, simdjson::minify(value));
      continue;
    }
    w.Key(key).BeginArray();
    for (simdjson::dom::element choice : choices) {
      simdjson::dom::object c;
      if (choice.get_object().get(c)) {
        w.Raw(simdjson::minify(choice));
        continue;
      }
      w.BeginObject();
      for (auto [k, v] : c) {
        if (k == "logprobs") {
          w.Key(k).Null();
        } else {
          w.RawField(k, simdjson::minify(v));
        }
      }
      w.EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
  return out;
}

}  // namespace hybridgate::routing
