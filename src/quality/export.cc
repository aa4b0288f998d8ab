#include "quality/export.h"

#include <fmt/format.h>

#include <boost/json.hpp>

#include "quality/report.h"

namespace hybridgate::quality {

namespace json = boost::json;

ExportSide ChooseExportAnswer(const Comparison& c) {
  return c.shadow.ok && PairwiseOf(c) == Pairwise::kWin ? ExportSide::kShadow
                                                        : ExportSide::kPrimary;
}

TrainableCheck TrainableFromConfig(const config::Config& config) {
  return [&config](std::string_view deployment) -> std::string {
    const size_t slash = deployment.find('/');
    const std::string_view provider = deployment.substr(0, slash);
    const std::string_view model =
        slash == std::string_view::npos ? std::string_view() : deployment.substr(slash + 1);
    for (const config::ProviderConfig& p : config.providers) {
      if (p.name != provider) continue;
      for (const config::ModelConfig& m : p.models) {
        if (m.name != model) continue;
        return m.outputs_trainable ? std::string() : m.outputs_trainable_why;
      }
    }
    return fmt::format(
        "the config ({}) has no such deployment, so whether its outputs may be "
        "used for training is unknown",
        config.source);
  };
}

int64_t ExportSummary::refused_answers() const {
  int64_t n = 0;
  for (const auto& [deployment, r] : refused) n += r.answers;
  return n;
}

void ExportRow(const StoredComparison& row, const TrainableCheck& trainable, std::string& out,
               ExportSummary& summary) {
  const Comparison& c = row.comparison;
  if (Withheld(c.request_json, row.request_sha256)) {
    ++summary.hashed;
    return;
  }
  json::error_code ec;
  const json::value request = json::parse(c.request_json, ec);
  const json::array* messages = nullptr;
  if (!ec && request.is_object()) {
    if (const json::value* m = request.as_object().if_contains("messages")) {
      messages = m->if_array();
    }
  }
  if (messages == nullptr || messages->empty()) {
    ++summary.no_request;
    return;
  }
  const ExportSide side = ChooseExportAnswer(c);
  const AnswerFacts& answer = side == ExportSide::kShadow ? c.shadow : c.primary;
  const std::string& sha = side == ExportSide::kShadow ? row.shadow_sha256 : row.primary_sha256;
  if (Withheld(answer.text, sha)) {
    ++summary.hashed;
    return;
  }
  if (!answer.ok || answer.text.empty()) {
    ++summary.no_answer;
    return;
  }
  if (std::string why = trainable(answer.deployment); !why.empty()) {
    auto [it, added] = summary.refused.try_emplace(answer.deployment);
    if (added) it->second.why = std::move(why);
    ++it->second.answers;
    return;
  }
  json::object line;
  json::array& turns = line["messages"].emplace_array();
  turns = *messages;
  turns.push_back(json::object{{"role", "assistant"}, {"content", answer.text}});
  if (const json::value* tools = request.as_object().if_contains("tools")) {
    if (tools->is_array() && !tools->as_array().empty()) line["tools"] = *tools;
  }
  out += json::serialize(line);
  out += '\n';
  ++summary.written;
  if (side == ExportSide::kShadow) ++summary.written_shadow;
}

std::string DescribeExport(const ExportSummary& s, std::string_view route) {
  std::string text = fmt::format(
      "quality export: route {}: wrote {} examples ({} with the shadow's answer, a judge "
      "preferred it); skipped {} kept only as hashes (data class above "
      "quality.store_text_max_class), {} without a stored request, {} without an answer text; "
      "refused {}\n",
      route, s.written, s.written_shadow, s.hashed, s.no_request, s.no_answer, s.refused_answers());
  for (const auto& [deployment, r] : s.refused) {
    text += fmt::format(
        "quality export: refused {} answers from {}: its outputs may not be used for training: "
        "{}\n",
        r.answers, deployment, r.why);
  }
  return text;
}

}  // namespace hybridgate::quality
