#include "gateway/accounting.h"

#include <algorithm>
#include <string>
#include <vector>

#include "ledger/audit.h"

namespace hybridgate::gateway {

Accounting::Accounting(const config::Config& config, ledger::Ledger* ledger,
                       metrics::Metrics& metrics, quality::FeedbackStore* feedback)
    : config_(config),
      ledger_(ledger),
      metrics_(metrics),
      feedback_(feedback),
      catalog_(ledger::PriceCatalog::WithDefaults(config.ledger.prices)) {}

double Accounting::Cost(const routing::Deployment& d, const api::Usage& usage) const {
  if (!d.model) return 0;
  const config::ModelConfig& m = *d.model;
  ledger::Price price;
  if (m.input_per_mtok > 0 || m.output_per_mtok > 0) {
    price = {m.input_per_mtok, m.output_per_mtok,
             m.cached_input_per_mtok >= 0 ? m.cached_input_per_mtok : m.input_per_mtok};
  } else if (auto p = catalog_.Find(m.id)) {
    price = *p;
  } else if (auto q = catalog_.Find(m.name)) {
    price = *q;
  } else if (auto s = config_.ledger.self_hosted.find(m.name);
             s != config_.ledger.self_hosted.end()) {
    // GPU cost per token: configured throughput, or (-1) the ledger's measured one.
    if (s->second.tokens_per_hour <= 0) return -1;
    price = ledger::SelfHostedAsPrice(s->second, s->second.tokens_per_hour);
  } else {
    return 0;
  }
  return ledger::Cost(price, usage.input_tokens, usage.cached_input_tokens, usage.output_tokens);
}

std::string EgressTrail(std::span<const routing::AttemptRecord> trail) {
  std::vector<ledger::EgressHop> hops;
  hops.reserve(trail.size());
  for (const routing::AttemptRecord& a : trail) {
    ledger::EgressHop& hop = hops.emplace_back();
    if (a.provider) {
      const config::ProviderConfig& pc = a.provider->config();
      hop.provider = pc.name;
      hop.zone = config::ZoneName(pc.zone);
      hop.max_data_class = pc.max_data_class;
    } else {
      hop.provider = a.deployment.substr(0, a.deployment.find('/'));  // zone unknown
    }
    hop.result = a.result.empty() ? "unfinished" : a.result;
  }
  return ledger::FormatEgress(hops);
}

namespace {

// An upstream's usage is believed only when it is plausible: every count from 0 to a billion
// (a context window is far smaller). Anything else —
// INT64_MAX, negatives — counts as no usage, so the row is an estimate: a number an upstream
// sends can never overflow a sum, a budget or a metric.
constexpr int64_t kMaxTokens = 1'000'000'000;

api::Usage Believable(api::Usage u) {
  auto ok = [](int64_t n) { return n >= 0 && n <= kMaxTokens; };
  if (u.reported && (!ok(u.input_tokens) || !ok(u.output_tokens) || !ok(u.cached_input_tokens))) {
    return {};
  }
  return u;
}

}  // namespace

Accounting::Charge Accounting::Record(const RequestFacts& f, const routing::Outcome& out) {
  api::Usage usage = Believable(out.usage);
  bool estimated = false;
  // No usage from the upstream: an answer, or a stream cut short (client gone, upstream broke,
  // timeout), is charged by estimate — what reached the client, not nothing.
  if (!usage.reported && (out.ok || out.streamed)) {
    usage.input_tokens = f.estimated_input_tokens;
    usage.output_tokens = ledger::EstimateTokensFromBytes(out.text_bytes);
    estimated = true;
  } else if (!usage.reported && !out.ok && out.cancelled_in_flight) {
    // Cancelled while the upstream had the request (a client that hung up before a non-stream
    // answer, a shadow call cut at shutdown): the prompt was read and the answer may be made
    // and billed anyway; the prompt and what reached the client are charged by estimate.
    usage.input_tokens = f.estimated_input_tokens;
    usage.output_tokens = ledger::EstimateTokensFromBytes(out.text_bytes);
    estimated = true;
  } else if (usage.reported && !out.ok && out.streamed) {
    // Usage said early (an Anthropic upstream's message_start) and the stream cut before the
    // final one: what reached the client still counts.
    const int64_t seen = ledger::EstimateTokensFromBytes(out.text_bytes);
    if (seen > usage.output_tokens) {
      usage.output_tokens = seen;
      estimated = true;
    }
  }
  double cost = out.ok || usage.reported || estimated ? Cost(out.deployment, usage) : 0;
  // Escalation made weak answers too, and they were paid for: the row costs them all (its
  // tokens stay the served answer's; attempts and escalated say there was more). A cost the
  // ledger prices itself (< 0: measured self-hosted throughput) cannot be added to here.
  for (const routing::UnservedAnswer& weak : out.unserved) {
    const double extra = Cost(weak.deployment, Believable(weak.usage));
    if (cost >= 0 && extra > 0) cost += extra;
  }
  const std::string_view provider = out.deployment.provider
                                        ? std::string_view(out.deployment.provider->name())
                                        : std::string_view();
  const std::string_view model =
      out.deployment.model ? std::string_view(out.deployment.model->name) : std::string_view();
  const int data_class =
      f.sensitivity && f.sensitivity->data_class > 0 ? f.sensitivity->data_class : 1;
  if (ledger_) {
    ledger::Row row;
    row.id = f.id;
    row.time_ms = f.arrival_unix_ms;
    if (f.key) {
      row.key = f.key->name.empty() ? f.key->id : f.key->name;
      row.team = f.key->team;
    }
    row.endpoint = f.endpoint;
    row.route = f.route;
    row.tier = f.tier;
    row.provider = provider;
    row.model = out.deployment.model ? out.deployment.model->id : "";
    row.attempts = out.attempts;
    row.fallback = out.attempts > 1 && out.ok;
    row.escalated = out.escalated;
    row.stream = f.stream;
    row.status = f.status;
    if (!out.ok) row.error_code = out.error.CodeName();
    row.input_tokens = usage.input_tokens;
    row.cached_input_tokens = usage.cached_input_tokens;
    row.output_tokens = usage.output_tokens;
    row.usage_estimated = estimated;
    row.cost_usd = cost;
    row.latency_ms = static_cast<int64_t>(f.latency_ms);
    row.ttft_ms = out.ttft.count() >= 0 ? out.ttft.count() : -1;
    row.data_class = data_class;
    if (f.sensitivity) {
      std::vector<std::string> types;
      types.reserve(f.sensitivity->findings.size());
      for (const auto& finding : f.sensitivity->findings) types.push_back(finding.type);
      row.finding_types = ledger::JoinFindingTypes(std::move(types));
    }
    if (out.deployment.provider) {
      const config::ProviderConfig& pc = out.deployment.provider->config();
      row.provider_zone = config::ZoneName(pc.zone);
      row.provider_max_class = pc.max_data_class;
    }
    row.residency_action = f.residency_action;
    row.egress = EgressTrail(out.trail);
    ledger_->Record(std::move(row));
  }
  // Shadow calls are the gateway's own: nobody rates them.
  // Clients rate the answers they got, never the gateway's own calls (shadow, judge).
  if (feedback_ && out.ok && f.endpoint != "shadow" && f.endpoint != "judge") {
    feedback_->Remember({.request_id = std::string(f.id),
                         .time_ms = f.arrival_unix_ms,
                         .route = std::string(f.route),
                         .key_id = f.key ? f.key->id : std::string(),
                         .data_class = data_class,
                         .rollout = std::string(f.rollout),
                         .rollout_arm = std::string(f.rollout_arm),
                         .rollout_epoch = f.rollout_epoch});
  }
  metrics::RequestLabels labels{
      .route = f.route, .tier = "", .provider = provider, .model = model, .endpoint = f.endpoint};
  metrics_.RecordRequest(labels, f.status, f.latency_ms / 1000.0,
                         out.ttft.count() >= 0 ? out.ttft.count() / 1000.0 : -1.0,
                         usage.input_tokens, usage.output_tokens, usage.cached_input_tokens,
                         std::max(cost, 0.0));
  if (out.attempts > 1 && out.ok) metrics_.RecordFallback(f.route, provider);
  if (f.sensitivity) {
    for (const auto& finding : f.sensitivity->findings) metrics_.RecordFinding(finding.type);
  }
  // What budgets are charged now.
  return {.tokens = usage.input_tokens + usage.output_tokens, .cost_usd = std::max(cost, 0.0)};
}

}  // namespace hybridgate::gateway
