#include "routing/route_config.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <initializer_list>

#include "common/duration.h"

namespace hybridgate::routing {
namespace {

// Reads typed values and reports "file:line: 'key.path': message". yaml-cpp reports bad
// conversions by throwing; they are caught here, at the call site.
class Reader {
 public:
  explicit Reader(std::string_view file) : file_(file) {}

  Error At(const YAML::Node& node, std::string_view path, std::string_view message) const {
    std::string text(file_);
    if (node.IsDefined() && node.Mark().line >= 0) text += fmt::format(":{}", node.Mark().line + 1);
    text += fmt::format(": '{}': {}", path, message);
    return MakeError(ErrorCode::kInvalidRequest, std::move(text), std::string(path));
  }

  Status OnlyKeys(const YAML::Node& map, std::string_view path,
                  std::initializer_list<std::string_view> keys) const {
    if (!map.IsMap()) return Fail(At(map, path, "expected a mapping"));
    for (const auto& kv : map) {
      const std::string key = kv.first.Scalar();
      if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
        std::string expected;
        for (std::string_view k : keys) expected += (expected.empty() ? "" : ", ") + std::string(k);
        return Fail(At(kv.first, Join(path, key), "unknown key (expected " + expected + ")"));
      }
    }
    return {};
  }

  Result<double> Number(const YAML::Node& n, std::string_view path, double lo, double hi) const {
    double v = 0;
    try {
      if (!n.IsScalar()) return Fail(At(n, path, "expected a number"));
      v = n.as<double>();
    } catch (const YAML::Exception&) {
      return Fail(At(n, path, "expected a number"));
    }
    if (!(v >= lo && v <= hi)) return Fail(At(n, path, fmt::format("must be {} to {}", lo, hi)));
    return v;
  }
  Result<int64_t> Int(const YAML::Node& n, std::string_view path, int64_t lo, int64_t hi) const {
    int64_t v = 0;
    try {
      if (!n.IsScalar()) return Fail(At(n, path, "expected an integer"));
      v = n.as<int64_t>();
    } catch (const YAML::Exception&) {
      return Fail(At(n, path, "expected an integer"));
    }
    if (v < lo || v > hi) return Fail(At(n, path, fmt::format("must be {} to {}", lo, hi)));
    return v;
  }
  Result<std::string> String(const YAML::Node& n, std::string_view path) const {
    if (!n.IsScalar() || n.Scalar().empty())
      return Fail(At(n, path, "expected a non-empty string"));
    return n.Scalar();
  }
  Result<std::vector<std::string>> Strings(const YAML::Node& n, std::string_view path) const {
    if (n.IsScalar()) {
      auto s = String(n, path);
      if (!s) return Fail(s.error());
      return std::vector<std::string>{*s};
    }
    if (!n.IsSequence()) return Fail(At(n, path, "expected a list of strings"));
    std::vector<std::string> out;
    for (size_t i = 0; i < n.size(); ++i) {
      auto s = String(n[i], fmt::format("{}[{}]", path, i));
      if (!s) return Fail(s.error());
      out.push_back(std::move(*s));
    }
    return out;
  }
  // One of `names` (index into it).
  Result<size_t> Enum(const YAML::Node& n, std::string_view path,
                      std::initializer_list<std::string_view> names) const {
    std::string list;
    for (std::string_view k : names) list += (list.empty() ? "" : " | ") + std::string(k);
    if (!n.IsScalar()) return Fail(At(n, path, "expected one of " + list));
    size_t i = 0;
    for (std::string_view k : names) {
      if (n.Scalar() == k) return i;
      ++i;
    }
    return Fail(At(n, path, fmt::format("'{}' is not one of {}", n.Scalar(), list)));
  }

  static std::string Join(std::string_view path, std::string_view key) {
    return fmt::format("{}.{}", path, key);
  }

 private:
  std::string_view file_;
};

// Assigns a parsed value or returns its error from the enclosing function.
#define HG_ASSIGN(lhs, expr)                     \
  do {                                           \
    auto v_ = (expr);                            \
    if (!v_) return Fail(std::move(v_.error())); \
    lhs = std::move(*v_);                        \
  } while (0)

Result<Tri> ParseTri(const Reader& r, const YAML::Node& n, std::string_view path) {
  if (n.IsScalar()) {
    const std::string& s = n.Scalar();
    if (s == "any") return Tri::kAny;
    if (s == "true" || s == "yes" || s == "required") return Tri::kYes;
    if (s == "false" || s == "no" || s == "none") return Tri::kNo;
  }
  return Fail(r.At(n, path, "expected true, false or any"));
}

Status ParseWhen(const Reader& r, const YAML::Node& n, const std::string& path, TierConditions& c) {
  HG_TRY(r.OnlyKeys(n, path,
                    {"min_complexity", "max_complexity", "max_data_class", "max_input_tokens",
                     "images", "tools", "json_schema", "max_cost_per_mtok"}));
  for (const auto& kv : n) {
    const std::string key = kv.first.Scalar();
    const std::string p = Reader::Join(path, key);
    const YAML::Node& v = kv.second;
    if (key == "min_complexity") HG_ASSIGN(c.min_complexity, r.Number(v, p, 0, 1));
    if (key == "max_complexity") HG_ASSIGN(c.max_complexity, r.Number(v, p, 0, 1));
    if (key == "max_data_class") HG_ASSIGN(c.max_data_class, r.Int(v, p, 1, 5));
    if (key == "max_input_tokens") HG_ASSIGN(c.max_input_tokens, r.Int(v, p, 1, int64_t{1} << 40));
    if (key == "images") HG_ASSIGN(c.images, ParseTri(r, v, p));
    if (key == "tools") HG_ASSIGN(c.tools, ParseTri(r, v, p));
    if (key == "json_schema") HG_ASSIGN(c.json_schema, ParseTri(r, v, p));
    if (key == "max_cost_per_mtok") HG_ASSIGN(c.max_cost_per_mtok, r.Number(v, p, 0, 1e6));
  }
  if (c.min_complexity && c.max_complexity && *c.min_complexity > *c.max_complexity) {
    return Fail(r.At(n, path, "min_complexity is above max_complexity"));
  }
  return {};
}

Status ParseDeployments(const Reader& r, const YAML::Node& n, const std::string& path, Tier& t) {
  if (!n.IsSequence() || n.size() == 0) {
    return Fail(r.At(n, path, "expected a non-empty list of {model, weight}"));
  }
  for (size_t i = 0; i < n.size(); ++i) {
    const std::string p = fmt::format("{}[{}]", path, i);
    TierDeployment d;
    if (n[i].IsScalar()) {
      HG_ASSIGN(d.model, r.String(n[i], p));
    } else {
      HG_TRY(r.OnlyKeys(n[i], p, {"model", "weight"}));
      if (!n[i]["model"]) return Fail(r.At(n[i], p + ".model", "required"));
      HG_ASSIGN(d.model, r.String(n[i]["model"], p + ".model"));
      if (n[i]["weight"]) HG_ASSIGN(d.weight, r.Int(n[i]["weight"], p + ".weight", 1, 1000));
    }
    for (const TierDeployment& o : t.deployments) {
      if (o.model == d.model) return Fail(r.At(n[i], p, "'" + d.model + "' is listed twice"));
    }
    t.deployments.push_back(std::move(d));
  }
  return {};
}

Status ParseTier(const Reader& r, const YAML::Node& n, const std::string& path, Tier& t) {
  HG_TRY(r.OnlyKeys(n, path, {"name", "deployments", "balance", "when"}));
  if (!n["name"]) return Fail(r.At(n, path + ".name", "required"));
  HG_ASSIGN(t.name, r.String(n["name"], path + ".name"));
  if (!n["deployments"]) return Fail(r.At(n, path + ".deployments", "required"));
  HG_TRY(ParseDeployments(r, n["deployments"], path + ".deployments", t));
  if (n["balance"]) {
    size_t b = 0;
    HG_ASSIGN(b, r.Enum(n["balance"], path + ".balance",
                        {"weighted", "least_outstanding", "latency_ewma"}));
    t.balance = static_cast<BalanceStrategy>(b);
  }
  if (n["when"]) HG_TRY(ParseWhen(r, n["when"], path + ".when", t.when));
  return {};
}

Status ParseEscalation(const Reader& r, const YAML::Node& n, const std::string& path,
                       EscalationConfig& e) {
  if (n.IsScalar()) {  // `escalation: false`
    if (n.Scalar() == "false" || n.Scalar() == "off") return {};
    return Fail(r.At(n, path, "expected a mapping or false"));
  }
  HG_TRY(r.OnlyKeys(n, path, {"min_confidence", "on", "to"}));
  e.enabled = true;
  if (n["min_confidence"]) {
    HG_ASSIGN(e.min_confidence, r.Number(n["min_confidence"], path + ".min_confidence", 0, 1));
  }
  if (n["on"]) {
    const YAML::Node& on = n["on"];
    if (!on.IsSequence()) return Fail(r.At(on, path + ".on", "expected a list"));
    for (size_t i = 0; i < on.size(); ++i) {
      size_t t = 0;
      HG_ASSIGN(t,
                r.Enum(on[i], fmt::format("{}.on[{}]", path, i), {"low_logprob", "invalid_json"}));
      e.on.push_back(static_cast<EscalationTrigger>(t));
    }
  }
  if (e.on.empty()) e.on.push_back(EscalationTrigger::kLowLogprob);
  if (n["to"]) {
    size_t to = 0;  // next_tier is the only target so far
    HG_ASSIGN(to, r.Enum(n["to"], path + ".to", {"next_tier"}));
    static_cast<void>(to);
  }
  return {};
}

Status ParseRetries(const Reader& r, const YAML::Node& n, const std::string& path, RetryConfig& c) {
  HG_TRY(r.OnlyKeys(n, path,
                    {"attempts", "backoff_ms", "max_backoff_ms", "jitter", "max_retry_after_ms"}));
  if (n["attempts"]) HG_ASSIGN(c.attempts, r.Int(n["attempts"], path + ".attempts", 1, 10));
  if (n["backoff_ms"]) {
    HG_ASSIGN(c.backoff_ms, r.Int(n["backoff_ms"], path + ".backoff_ms", 0, 600'000));
  }
  if (n["max_backoff_ms"]) {
    HG_ASSIGN(c.max_backoff_ms, r.Int(n["max_backoff_ms"], path + ".max_backoff_ms", 0, 600'000));
  }
  if (n["max_retry_after_ms"]) {
    HG_ASSIGN(c.max_retry_after_ms,
              r.Int(n["max_retry_after_ms"], path + ".max_retry_after_ms", 0, 3'600'000));
  }
  if (n["jitter"]) {
    size_t j = 0;
    HG_ASSIGN(j, r.Enum(n["jitter"], path + ".jitter", {"none", "full", "equal"}));
    c.jitter = static_cast<Jitter>(j);
  }
  if (c.max_backoff_ms < c.backoff_ms) {
    return Fail(r.At(n, path + ".max_backoff_ms", "must be at least backoff_ms"));
  }
  return {};
}

Status ParseDeadlines(const Reader& r, const YAML::Node& n, const std::string& path,
                      DeadlineConfig& d) {
  HG_TRY(r.OnlyKeys(n, path, {"total_ms", "attempt_ms", "ttft_ms"}));
  constexpr int64_t kMax = 24 * 3'600'000LL;
  if (n["total_ms"]) HG_ASSIGN(d.total_ms, r.Int(n["total_ms"], path + ".total_ms", 0, kMax));
  if (n["attempt_ms"]) {
    HG_ASSIGN(d.attempt_ms, r.Int(n["attempt_ms"], path + ".attempt_ms", 0, kMax));
  }
  if (n["ttft_ms"]) HG_ASSIGN(d.ttft_ms, r.Int(n["ttft_ms"], path + ".ttft_ms", 0, kMax));
  return {};
}

Status ParseBreaker(const Reader& r, const YAML::Node& n, const std::string& path,
                    BreakerConfig& b) {
  HG_TRY(r.OnlyKeys(
      n, path, {"consecutive_failures", "error_rate", "min_requests", "window_ms", "cooldown_ms"}));
  if (n["consecutive_failures"]) {
    HG_ASSIGN(b.consecutive_failures,
              r.Int(n["consecutive_failures"], path + ".consecutive_failures", 0, 10'000));
  }
  if (n["error_rate"])
    HG_ASSIGN(b.error_rate, r.Number(n["error_rate"], path + ".error_rate", 0, 1));
  if (n["min_requests"]) {
    HG_ASSIGN(b.min_requests, r.Int(n["min_requests"], path + ".min_requests", 1, 1'000'000));
  }
  if (n["window_ms"]) {
    HG_ASSIGN(b.window_ms, r.Int(n["window_ms"], path + ".window_ms", 10, 3'600'000));
  }
  if (n["cooldown_ms"]) {
    HG_ASSIGN(b.cooldown_ms, r.Int(n["cooldown_ms"], path + ".cooldown_ms", 1, 3'600'000));
  }
  return {};
}

Status ParseShadow(const Reader& r, const YAML::Node& n, const std::string& path,
                   std::vector<ShadowTarget>& out) {
  if (!n.IsSequence()) return Fail(r.At(n, path, "expected a list of shadow targets"));
  for (size_t i = 0; i < n.size(); ++i) {
    const std::string p = fmt::format("{}[{}]", path, i);
    HG_TRY(r.OnlyKeys(n[i], p,
                      {"deployment", "sample", "max_concurrency", "max_usd_per_day", "judge",
                       "embedding", "compare"}));
    ShadowTarget t;
    if (!n[i]["deployment"]) return Fail(r.At(n[i], p + ".deployment", "is required"));
    HG_ASSIGN(t.deployment, r.String(n[i]["deployment"], p + ".deployment"));
    if (!n[i]["sample"]) return Fail(r.At(n[i], p + ".sample", "is required (0 to 1)"));
    HG_ASSIGN(t.sample, r.Number(n[i]["sample"], p + ".sample", 0, 1));
    if (n[i]["max_concurrency"]) {
      HG_ASSIGN(t.max_concurrency,
                r.Int(n[i]["max_concurrency"], p + ".max_concurrency", 1, 10'000));
    }
    if (!n[i]["max_usd_per_day"]) {
      return Fail(r.At(n[i], p + ".max_usd_per_day",
                       "is required: shadow calls are paid for, and this caps them"));
    }
    HG_ASSIGN(t.max_usd_per_day,
              r.Number(n[i]["max_usd_per_day"], p + ".max_usd_per_day", 1e-6, 1e9));
    if (n[i]["judge"]) HG_ASSIGN(t.judge, r.String(n[i]["judge"], p + ".judge"));
    if (n[i]["embedding"]) HG_ASSIGN(t.embedding, r.String(n[i]["embedding"], p + ".embedding"));
    if (n[i]["compare"]) HG_ASSIGN(t.compare, r.Strings(n[i]["compare"], p + ".compare"));
    for (const ShadowTarget& o : out) {
      if (o.deployment == t.deployment) {
        return Fail(r.At(n[i], p + ".deployment", "'" + t.deployment + "' is shadowed twice"));
      }
    }
    out.push_back(std::move(t));
  }
  return {};
}

Status ParseRollout(const Reader& r, const YAML::Node& n, const std::string& path,
                    const Route& route, RolloutConfig& out) {
  HG_TRY(r.OnlyKeys(n, path,
                    {"candidate", "incumbent", "stages", "min_requests", "min_duration", "interval",
                     "gates", "sticky", "start"}));
  if (!n["candidate"]) return Fail(r.At(n, path + ".candidate", "is required"));
  HG_ASSIGN(out.candidate, r.String(n["candidate"], path + ".candidate"));
  if (n["incumbent"]) {
    HG_ASSIGN(out.incumbent, r.String(n["incumbent"], path + ".incumbent"));
  } else {
    std::vector<std::string> all;
    for (const Tier& t : route.tiers) {
      for (const TierDeployment& d : t.deployments) {
        if (std::find(all.begin(), all.end(), d.model) == all.end()) all.push_back(d.model);
      }
    }
    if (all.size() != 1) {
      return Fail(r.At(n, path + ".incumbent",
                       "is required: the route has several deployments; name the one the "
                       "candidate replaces"));
    }
    out.incumbent = all.front();
  }
  if (out.incumbent == out.candidate) {
    return Fail(r.At(n["candidate"], path + ".candidate", "is the incumbent itself"));
  }
  if (n["stages"]) {
    const YAML::Node& st = n["stages"];
    if (!st.IsSequence() || st.size() == 0) {
      return Fail(r.At(st, path + ".stages", "expected a non-empty list of percentages"));
    }
    out.stages.clear();
    for (size_t i = 0; i < st.size(); ++i) {
      int64_t v = 0;
      HG_ASSIGN(v, r.Int(st[i], fmt::format("{}.stages[{}]", path, i), 1, 100));
      if (!out.stages.empty() && v <= out.stages.back()) {
        return Fail(r.At(st[i], fmt::format("{}.stages[{}]", path, i),
                         "stages must increase (percent of eligible traffic)"));
      }
      out.stages.push_back(static_cast<int>(v));
    }
    if (out.stages.back() != 100) {
      return Fail(r.At(st[st.size() - 1], fmt::format("{}.stages[{}]", path, st.size() - 1),
                       "the last stage must be 100 (a complete rollout gives the candidate all "
                       "eligible traffic)"));
    }
  }
  if (n["min_requests"]) {
    HG_ASSIGN(out.min_requests, r.Int(n["min_requests"], path + ".min_requests", 1, 1'000'000'000));
  }
  auto duration = [&](const char* key, int64_t& ms) -> Status {
    std::string text;
    HG_ASSIGN(text, r.String(n[key], path + "." + key));
    auto v = ParseDurationMs(text);
    if (!v) return Fail(r.At(n[key], path + "." + key, v.error().message));
    if (*v > 366LL * 86'400'000) return Fail(r.At(n[key], path + "." + key, "at most 366d"));
    ms = *v;
    return {};
  };
  if (n["min_duration"]) HG_TRY(duration("min_duration", out.min_duration_ms));
  if (n["interval"]) HG_TRY(duration("interval", out.interval_ms));
  if (n["gates"]) {
    const YAML::Node& g = n["gates"];
    const std::string gp = path + ".gates";
    HG_TRY(r.OnlyKeys(
        g, gp,
        {"quality_drop_max", "error_rate_max", "p95_latency_ratio_max", "feedback_drop_max"}));
    if (g["feedback_drop_max"]) {
      HG_ASSIGN(out.gates.feedback_drop_max,
                r.Number(g["feedback_drop_max"], gp + ".feedback_drop_max", 0, 1));
    }
    if (g["quality_drop_max"]) {
      HG_ASSIGN(out.gates.quality_drop_max,
                r.Number(g["quality_drop_max"], gp + ".quality_drop_max", 0, 1));
    }
    if (g["error_rate_max"]) {
      HG_ASSIGN(out.gates.error_rate_max,
                r.Number(g["error_rate_max"], gp + ".error_rate_max", 0, 1));
    }
    if (g["p95_latency_ratio_max"]) {
      HG_ASSIGN(out.gates.p95_latency_ratio_max,
                r.Number(g["p95_latency_ratio_max"], gp + ".p95_latency_ratio_max", 1, 1000));
    }
  }
  if (!out.gates.quality_drop_max && !out.gates.error_rate_max &&
      !out.gates.p95_latency_ratio_max && !out.gates.feedback_drop_max) {
    return Fail(r.At(n, path + ".gates",
                     "at least one gate is required (quality_drop_max, error_rate_max, "
                     "p95_latency_ratio_max, feedback_drop_max): a rollout promotes on "
                     "evidence"));
  }
  if (out.gates.p95_latency_ratio_max && out.stages.front() == 100) {
    return Fail(r.At(n["gates"]["p95_latency_ratio_max"], path + ".gates.p95_latency_ratio_max",
                     "needs a first stage below 100: the incumbent's latency is measured on the "
                     "eligible traffic it still serves"));
  }
  if (out.gates.quality_drop_max) {
    bool shadowed = false;
    for (const ShadowTarget& t : route.shadow) shadowed |= t.deployment == out.candidate;
    if (!shadowed) {
      return Fail(r.At(n["gates"]["quality_drop_max"], path + ".gates.quality_drop_max",
                       fmt::format("needs shadow comparisons of the candidate: add "
                                   "'{{deployment: {}, ...}}' to routes.{}.shadow",
                                   out.candidate, route.name)));
    }
  }
  if (n["sticky"]) {
    size_t k = 0;
    HG_ASSIGN(k, r.Enum(n["sticky"], path + ".sticky", {"key", "user", "none"}));
    out.sticky = static_cast<Sticky>(k);
  }
  if (n["start"]) {
    size_t k = 0;
    HG_ASSIGN(k, r.Enum(n["start"], path + ".start", {"auto", "paused"}));
    out.start_paused = k == 1;
  }
  return {};
}

Status ParseRoute(const Reader& r, const YAML::Node& n, const std::string& path, Route& route) {
  HG_TRY(r.OnlyKeys(n, path,
                    {"aliases", "teams", "classifier", "learned_model", "tiers", "escalation",
                     "retries", "deadlines", "breaker", "shadow", "rollout"}));
  if (n["aliases"]) HG_ASSIGN(route.aliases, r.Strings(n["aliases"], path + ".aliases"));
  if (n["teams"]) HG_ASSIGN(route.teams, r.Strings(n["teams"], path + ".teams"));
  if (n["classifier"]) {
    size_t k = 0;
    HG_ASSIGN(k, r.Enum(n["classifier"], path + ".classifier", {"heuristic", "learned"}));
    route.classifier = static_cast<ClassifierKind>(k);
  }
  if (n["learned_model"]) {
    HG_ASSIGN(route.learned_model, r.String(n["learned_model"], path + ".learned_model"));
  }
  if (route.classifier == ClassifierKind::kLearned && route.learned_model.empty()) {
    return Fail(r.At(n, path + ".learned_model", "required when classifier is learned"));
  }
  if (route.classifier != ClassifierKind::kLearned && !route.learned_model.empty()) {
    return Fail(
        r.At(n["learned_model"], path + ".learned_model", "only used with classifier: learned"));
  }
  const YAML::Node& tiers = n["tiers"];
  if (!tiers || !tiers.IsSequence() || tiers.size() == 0) {
    return Fail(r.At(tiers ? tiers : n, path + ".tiers", "expected a non-empty list of tiers"));
  }
  for (size_t i = 0; i < tiers.size(); ++i) {
    Tier t;
    HG_TRY(ParseTier(r, tiers[i], fmt::format("{}.tiers[{}]", path, i), t));
    for (const Tier& o : route.tiers) {
      if (o.name == t.name) {
        return Fail(r.At(tiers[i], fmt::format("{}.tiers[{}].name", path, i),
                         "tier '" + t.name + "' is defined twice"));
      }
    }
    route.tiers.push_back(std::move(t));
  }
  if (n["escalation"])
    HG_TRY(ParseEscalation(r, n["escalation"], path + ".escalation", route.escalation));
  if (n["retries"]) HG_TRY(ParseRetries(r, n["retries"], path + ".retries", route.retries));
  if (n["deadlines"])
    HG_TRY(ParseDeadlines(r, n["deadlines"], path + ".deadlines", route.deadlines));
  if (n["breaker"]) {
    route.breaker.emplace();
    HG_TRY(ParseBreaker(r, n["breaker"], path + ".breaker", *route.breaker));
  }
  if (n["shadow"]) HG_TRY(ParseShadow(r, n["shadow"], path + ".shadow", route.shadow));
  if (n["rollout"]) {
    route.rollout.emplace();
    HG_TRY(ParseRollout(r, n["rollout"], path + ".rollout", route, *route.rollout));
  }
  return {};
}

}  // namespace

std::string_view BalanceName(BalanceStrategy b) {
  switch (b) {
    case BalanceStrategy::kWeighted:
      return "weighted";
    case BalanceStrategy::kLeastOutstanding:
      return "least_outstanding";
    case BalanceStrategy::kLatencyEwma:
      return "latency_ewma";
  }
  return "weighted";
}

std::string_view TriggerName(EscalationTrigger t) {
  return t == EscalationTrigger::kLowLogprob ? "low_logprob" : "invalid_json";
}

std::string_view StickyName(Sticky s) {
  return s == Sticky::kKey ? "key" : s == Sticky::kUser ? "user" : "none";
}

std::string_view JitterName(Jitter j) {
  switch (j) {
    case Jitter::kNone:
      return "none";
    case Jitter::kFull:
      return "full";
    case Jitter::kEqual:
      return "equal";
  }
  return "full";
}

std::string_view ClassifierName(ClassifierKind k) {
  return k == ClassifierKind::kLearned ? "learned" : "heuristic";
}

const Route* RoutesConfig::Find(std::string_view name) const {
  for (const Route& r : routes) {
    if (r.name == name) return &r;
    for (const std::string& a : r.aliases) {
      if (a == name) return &r;
    }
  }
  return nullptr;
}

const Route* RoutesConfig::ForTeam(std::string_view team) const {
  if (team.empty()) return nullptr;
  for (const Route& r : routes) {
    for (const std::string& t : r.teams) {
      if (t == team) return &r;
    }
  }
  return nullptr;
}

Result<RouteSelection> SelectRoute(const RoutesConfig& routes, std::string_view header,
                                   std::string_view model, std::string_view team) {
  using By = RouteSelection::By;
  if (!header.empty()) {
    if (const Route* r = routes.Find(header)) return RouteSelection{r, By::kHeader, header};
    std::string names;
    for (const Route& r : routes.routes) names += (names.empty() ? "" : ", ") + r.name;
    return Fail(MakeError(ErrorCode::kInvalidRequest,
                          fmt::format("x-hybridgate-route '{}' is not a configured route; "
                                      "available: {}",
                                      header, names.empty() ? "(none)" : names),
                          "x-hybridgate-route"));
  }
  if (const Route* r = routes.Find(model)) return RouteSelection{r, By::kModel, model};
  if (const Route* r = routes.ForTeam(team)) return RouteSelection{r, By::kTeam, team};
  return RouteSelection{};
}

std::string RouteSelection::Why() const {
  if (route == nullptr) return "";
  switch (by) {
    case By::kHeader:
      return fmt::format("header x-hybridgate-route: {}", name);
    case By::kModel:
      return route->name == name
                 ? fmt::format("model '{}' names the route", name)
                 : fmt::format("model '{}' is an alias of route '{}'", name, route->name);
    case By::kTeam:
      return fmt::format("team '{}' uses route '{}'", name, route->name);
    case By::kNone:
      break;
  }
  return "";
}

Result<RoutesConfig> ParseRoutesConfig(const YAML::Node& routes_node, std::string_view file) {
  const Reader r(file);
  YAML::Node node = routes_node;
  if (node.IsMap() && node["routes"] && node.size() == 1) node = node["routes"];
  RoutesConfig out;
  if (!node || node.IsNull()) return out;
  if (!node.IsMap()) return Fail(r.At(node, "routes", "expected a mapping of route names"));
  try {
    for (const auto& kv : node) {
      Route route;
      route.name = kv.first.Scalar();
      const std::string path = "routes." + route.name;
      if (route.name.empty()) return Fail(r.At(kv.first, path, "a route needs a name"));
      // Route names go into headers (x-hybridgate-route, x-hybridgate-rollout), metric labels
      // and admin paths as they are.
      for (unsigned char ch : route.name) {
        if (ch <= 0x20 || ch == 0x7f || ch == '/' || ch == '%' || ch == '"' || ch == '\\') {
          return Fail(r.At(kv.first, "routes",
                           fmt::format("route name '{}' may not hold spaces, control characters, "
                                       "'/', '%', '\"' or '\\'",
                                       route.name)));
        }
      }
      if (Status st = ParseRoute(r, kv.second, path, route); !st) return Fail(st.error());
      out.routes.push_back(std::move(route));
    }
  } catch (const YAML::Exception& e) {
    return Fail(r.At(node, "routes", e.what()));
  }
  // A name or alias must select one route only.
  std::vector<std::pair<std::string_view, std::string_view>> names;  // name -> route
  for (const Route& route : out.routes) {
    names.emplace_back(route.name, route.name);
    for (const std::string& a : route.aliases) names.emplace_back(a, route.name);
  }
  for (size_t i = 0; i < names.size(); ++i) {
    for (size_t j = i + 1; j < names.size(); ++j) {
      if (names[i].first == names[j].first) {
        return Fail(r.At(
            node, fmt::format("routes.{}", names[j].second),
            fmt::format("name '{}' already selects route '{}'", names[j].first, names[i].second)));
      }
    }
  }
  return out;
}

Result<RoutesConfig> ParseRoutesYaml(std::string_view yaml, std::string_view file) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return Fail(MakeError(ErrorCode::kInvalidRequest,
                          fmt::format("{}:{}: {}", file, e.mark.line + 1, e.msg)));
  }
  if (!root.IsMap() || !root["routes"]) return RoutesConfig{};
  return ParseRoutesConfig(root["routes"], file);
}

Status CheckRouteModels(const RoutesConfig& config, std::string_view file,
                        const std::function<bool(std::string_view)>& exists) {
  for (const Route& route : config.routes) {
    for (size_t t = 0; t < route.tiers.size(); ++t) {
      for (size_t d = 0; d < route.tiers[t].deployments.size(); ++d) {
        const std::string& model = route.tiers[t].deployments[d].model;
        if (exists(model)) continue;
        const std::string path =
            fmt::format("routes.{}.tiers[{}].deployments[{}].model", route.name, t, d);
        return Fail(MakeError(ErrorCode::kInvalidRequest,
                              fmt::format("{}: '{}': unknown model '{}'", file, path, model),
                              path));
      }
    }
    if (!route.rollout) continue;
    for (const auto& [field, model] :
         {std::pair<const char*, const std::string*>{"candidate", &route.rollout->candidate},
          {"incumbent", &route.rollout->incumbent}}) {
      if (exists(*model)) continue;
      const std::string path = fmt::format("routes.{}.rollout.{}", route.name, field);
      return Fail(MakeError(ErrorCode::kInvalidRequest,
                            fmt::format("{}: '{}': unknown model '{}'", file, path, *model), path));
    }
    bool in_tiers = false;
    for (const Tier& t : route.tiers) {
      for (const TierDeployment& d : t.deployments) in_tiers |= d.model == route.rollout->incumbent;
    }
    if (!in_tiers) {
      const std::string path = fmt::format("routes.{}.rollout.incumbent", route.name);
      return Fail(MakeError(ErrorCode::kInvalidRequest,
                            fmt::format("{}: '{}': '{}' is not a deployment of the route's tiers",
                                        file, path, route.rollout->incumbent),
                            path));
    }
  }
  return {};
}

}  // namespace hybridgate::routing
