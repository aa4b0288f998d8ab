#include "learned/comparisons.h"

#include <fmt/format.h>

#include "api/openai_chat.h"
#include "classify/complexity/classifier.h"
#include "config/config.h"
#include "quality/cli.h"

namespace hybridgate::learned {

std::optional<bool> WeakSuffices(const quality::Comparison& c) {
  if (!c.primary.ok || !c.shadow.ok) return std::nullopt;
  std::optional<bool> exact;
  for (const quality::Score& s : c.scores) {
    if (s.comparator == "judge") return s.value >= 0.5;
    if (s.comparator == "exact") exact = s.value == 1;
  }
  return exact;
}

namespace {

// What the learned classifier would score for the stored request: PromptText of the decoded
// body, else the stored question.
std::string PromptOf(const quality::Comparison& c) {
  std::string body = c.request_json;
  if (auto req = api::DecodeOpenAiChat(body)) {
    std::string text = complexity::PromptText(*req);
    if (!text.empty()) return text;
  }
  return c.question;
}

}  // namespace

ComparisonExamples ExamplesFromComparisons(std::span<const quality::StoredComparison> rows,
                                           std::string_view route, std::string_view shadow) {
  ComparisonExamples out;
  for (const quality::StoredComparison& row : rows) {
    const quality::Comparison& c = row.comparison;
    if (!route.empty() && c.route != route) continue;
    if (!shadow.empty() && c.shadow.deployment != shadow) continue;
    if (quality::Withheld(c.request_json, row.request_sha256) ||
        quality::Withheld(c.question, row.question_sha256)) {
      ++out.hashed;
      continue;
    }
    if (c.request_json.empty() && c.question.empty()) {
      ++out.no_request;
      continue;
    }
    const std::optional<bool> suffices = WeakSuffices(c);
    if (!suffices) {
      ++out.unscored;
      continue;
    }
    std::string prompt = PromptOf(c);
    if (prompt.empty()) {
      ++out.no_request;
      continue;
    }
    Example& e = out.data.examples.emplace_back();
    e.id = c.request_id + "/" + c.shadow.deployment;
    e.benchmark = c.route;
    e.prompt = std::move(prompt);
    e.strong = 1;
    e.weak = *suffices ? 1 : 0;
    ++(*suffices ? out.weak_suffices : out.strong_needed);
  }
  return out;
}

Result<ComparisonExamples> LoadComparisonExamples(const ComparisonQuery& q) {
  if (q.config.empty()) {
    return Fail(MakeError(ErrorCode::kInvalidRequest, "--comparisons needs --config FILE"));
  }
  auto since_ms = quality::WindowStartMs(q.since, q.now_ms);
  if (!since_ms) return Fail(since_ms.error());
  auto config = config::LoadConfig(q.config);
  if (!config) return Fail(config.error());
  std::string route;
  if (!q.route.empty()) {
    const routing::Route* r = config->routes.Find(q.route);
    if (r == nullptr) {
      return Fail(MakeError(ErrorCode::kInvalidRequest,
                            fmt::format("--route: {} has no route '{}'", q.config, q.route)));
    }
    route = r->name;
  }
  auto rows = quality::LoadConfiguredComparisons(*config, *since_ms);
  if (!rows) return Fail(rows.error());
  ComparisonExamples out = ExamplesFromComparisons(*rows, route, q.shadow);
  out.data.source = fmt::format("the comparison store of {}{}{}", q.config,
                                route.empty() ? "" : ", route " + route,
                                q.shadow.empty() ? "" : ", shadow " + q.shadow);
  return out;
}

std::string DescribeComparisonExamples(const ComparisonExamples& e) {
  return fmt::format(
      "{} examples from {}: {} weak suffices, {} strong needed; skipped {} kept only as hashes, "
      "{} without a stored request, {} unscored",
      e.data.examples.size(), e.data.source, e.weak_suffices, e.strong_needed, e.hashed,
      e.no_request, e.unscored);
}

}  // namespace hybridgate::learned
