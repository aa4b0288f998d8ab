#include "gateway/shadow.h"

#include <fmt/format.h>

#include <chrono>
#include <random>
#include <utility>

#include "api/openai_chat.h"
#include "gateway/accounting.h"
#include "quality/judge.h"
#include "routing/executor.h"

namespace hybridgate::gateway {

namespace asio = boost::asio;

namespace {

constexpr int64_t kDefaultOutputReserve = 4096;  // as a client request without max_tokens

std::string BookKey(std::string_view route, std::string_view deployment) {
  std::string key(route);
  key += '\x1f';
  key += deployment;
  return key;
}

int64_t UnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool Sampled(double share) {
  if (share >= 1) return true;
  if (share <= 0) return false;
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0, 1)(rng) < share;
}

// One shadow call: sent, metered, compared. Owns copies of everything it reads, and the runtime
// it was planned on, so it outlives the client's request and a reload.
class ShadowJob : public background::Job {
 public:
  ShadowJob(const ShadowOffer& offer, const routing::ShadowTarget& target, routing::Deployment d,
            double reserved, int64_t day, http::ClientPool& pool, ShadowBook& book,
            metrics::Metrics& metrics)
      : runtime_(offer.runtime),
        route_(offer.route->name),
        max_usd_(target.max_usd_per_day),
        deployment_(d),
        request_(*offer.request),
        cls_(*offer.classification),
        egress_class_(offer.egress_class),
        estimated_input_tokens_(offer.estimated_input_tokens),
        reserved_(reserved),
        day_(day),
        pool_(pool),
        book_(book),
        metrics_(metrics),
        store_(offer.store) {
    id_ = fmt::format("{}/shadow/{}", offer.request_id, deployment_.key);
    comparison_.request_id = std::string(offer.request_id);
    comparison_.time_ms = offer.arrival_unix_ms;
    comparison_.route = route_;
    comparison_.data_class = cls_.data_class;
    comparison_.primary = offer.primary;
    comparison_.question = quality::QuestionOf(request_);
    api::EncodeOpenAiChat(request_, {}, comparison_.request_json);
    const api::ResponseFormat& f = request_.response_format;
    comparison_.wants_json = f.kind == api::ResponseFormat::Kind::kJsonObject ||
                             f.kind == api::ResponseFormat::Kind::kJsonSchema;
    if (f.kind == api::ResponseFormat::Kind::kJsonSchema && !f.schema_json.empty()) {
      comparison_.schema = f.schema_json;
    }
    request_.stream = false;  // streams are shadowed as one answer
    request_.include_usage.reset();
    request_.native_body.clear();  // the shadow's own encoding, never the client's stream body
    if (!target.judge.empty()) {
      if (const auto found = runtime_->catalog->Find(target.judge); !found.empty()) {
        judge_ = found.front();
      }
    }
  }
  // How each call of this job goes out: the request's egress gate (its class; no key ceiling,
  // as no key pays), no breakers, cancelled with the job.
  routing::ExecuteOptions Options(std::string_view id, http::CancelToken& cancel) const {
    const Runtime& rt = *runtime_;
    return {.request_id = id,
            .cancel = &cancel,
            .egress = {.data_class = egress_class_,
                       .findings = &cls_,
                       .key_max_class = sensitivity::kMaxClass,
                       .scanner = &*rt.scanner,
                       .residency = &rt.config.residency}};
  }

  // Writes the ledger row of one call this job made (`endpoint` "shadow" or "judge", no key:
  // the target's budget pays) and returns its cost.
  double Meter(const std::string& id, std::string_view endpoint, const routing::Outcome& out,
               double latency_ms) {
    RequestFacts facts;
    facts.id = id;
    facts.arrival_unix_ms = UnixMs();
    facts.endpoint = endpoint;
    facts.route = route_;
    facts.sensitivity = &cls_;
    facts.estimated_input_tokens = estimated_input_tokens_;
    facts.status = out.ok ? out.status : out.error.HttpStatus();
    facts.latency_ms = latency_ms;
    return std::max(runtime_->accounting->Record(facts, out).cost_usd, 0.0);
  }

  // Asks the judge in both orders (each call gated and metered like the shadow's) and adds its
  // score; returns what the calls cost.
  asio::awaitable<double> Judge(routing::Executor& executor, http::CancelToken& cancel) {
    const config::ProviderConfig& pc = judge_.provider->config();
    // The judge reads the answers too: their class counts (comparison_.data_class).
    if (std::max(egress_class_, comparison_.data_class) > pc.max_data_class) {
      metrics_.RecordShadow(route_, deployment_.key, "judge_residency");
      co_return 0.0;
    }
    const std::string& question = comparison_.question;
    const std::string& p = comparison_.primary.text;
    const std::string& q = comparison_.shadow.text;
    const api::ChatRequest asks[2] = {quality::JudgeRequest(judge_.model->id, question, p, q),
                                      quality::JudgeRequest(judge_.model->id, question, q, p)};
    // Both calls' worst case, now that their size is known: a token per byte in, 512 out.
    api::Usage worst;
    worst.input_tokens =
        static_cast<int64_t>(asks[0].messages[0].text.size() + asks[0].messages[1].text.size()) +
        16;
    worst.output_tokens = *asks[0].max_tokens;
    const double reserve = 2 * std::max(runtime_->accounting->Cost(judge_, worst), 0.0);
    if (!book_.Extend(route_, deployment_.key, max_usd_, reserve, day_)) {
      metrics_.RecordShadow(route_, deployment_.key, "judge_spend_cap");
      co_return 0.0;
    }
    reserved_ += reserve;
    routing::RoutePlan plan;
    plan.candidates.push_back({.deployment = judge_});
    double cost = 0;
    quality::Verdict verdicts[2];
    for (int order = 0; order < 2; ++order) {
      const api::ChatRequest& ask = asks[order];
      const std::string id = fmt::format("{}/judge/{}", comparison_.request_id, order + 1);
      const auto start = std::chrono::steady_clock::now();
      const routing::ExecuteOptions options = Options(id, cancel);
      routing::Outcome out = co_await executor.Chat(ask, plan, options);
      cost +=
          Meter(id, "judge", out,
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                    .count());
      if (!out.ok) {
        metrics_.RecordShadow(route_, deployment_.key, "judge_failed");
        co_return cost;
      }
      quality::AnswerFacts said;
      quality::ReadOpenAiAnswer(out.body, said);
      verdicts[order] = quality::ParseVerdict(said.text);
    }
    if (auto score = quality::CombineVerdicts(verdicts[0], verdicts[1], cost)) {
      comparison_.scores.push_back(std::move(*score));
    } else {
      metrics_.RecordShadow(route_, deployment_.key, "judge_unreadable");
    }
    co_return cost;
  }

  ~ShadowJob() override {
    // Shed or dropped before it ran: the slot and the reservation go back unspent.
    if (!released_) book_.Release(route_, deployment_.key, reserved_, 0, day_);
  }

  asio::awaitable<void> Run(http::CancelToken& cancel) override {
    const auto start = std::chrono::steady_clock::now();
    routing::RoutePlan plan;
    plan.candidates.push_back({.deployment = deployment_});
    routing::Executor executor(pool_);
    const routing::ExecuteOptions options = Options(id_, cancel);
    routing::Outcome out = co_await executor.Chat(request_, plan, options);
    const double latency_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    const double cost = Meter(id_, "shadow", out, latency_ms);
    metrics_.RecordShadow(route_, deployment_.key, out.ok ? "answered" : "failed");

    quality::AnswerFacts& a = comparison_.shadow;
    a.deployment = std::string(deployment_.key);
    a.ok = out.ok;
    if (out.ok) {
      quality::ReadOpenAiAnswer(out.body, a);
    } else {
      a.error_code = out.error.CodeName();
    }
    a.latency_ms = static_cast<int64_t>(latency_ms);
    a.input_tokens = out.usage.input_tokens;
    a.output_tokens = out.usage.output_tokens;
    a.cost_usd = cost;
    // What the answers say counts too: a card in an answer keeps both texts out of the store
    // (store_text_max_class) and away from a judge that may not see it.
    const int answers_class =
        runtime_->scanner->Classify({comparison_.primary.text, comparison_.shadow.text}).data_class;
    comparison_.data_class = std::max(comparison_.data_class, answers_class);
    quality::ScoreLocally(comparison_);
    double spent = cost;
    if (judge_.provider && comparison_.primary.ok && comparison_.shadow.ok && !cancel.cancelled()) {
      spent += co_await Judge(executor, cancel);
    }
    book_.Release(route_, deployment_.key, reserved_, spent, day_);
    released_ = true;
    if (store_ && !store_->Save(std::move(comparison_))) {
      metrics_.RecordShadow(route_, deployment_.key, "comparison_dropped");
    }
  }

 private:
  std::shared_ptr<const Runtime> runtime_;
  std::string route_;
  double max_usd_;
  routing::Deployment deployment_;
  routing::Deployment judge_;  // provider null: no judge
  api::ChatRequest request_;
  sensitivity::Classification cls_;
  int egress_class_;
  int64_t estimated_input_tokens_;
  double reserved_;
  int64_t day_;
  http::ClientPool& pool_;
  ShadowBook& book_;
  metrics::Metrics& metrics_;
  std::string id_;
  quality::ComparisonStore* store_;
  quality::Comparison comparison_;
  bool released_ = false;
};

}  // namespace

ShadowBook::Entry& ShadowBook::At(std::string_view route, std::string_view deployment,
                                  int64_t day) {
  const std::string key = BookKey(route, deployment);
  auto it = entries_.find(key);
  if (it == entries_.end()) it = entries_.emplace(key, Entry{}).first;
  Entry& e = it->second;
  if (e.day != day) {
    e.day = day;
    e.spent = 0;
  }
  return e;
}

ShadowBook::Verdict ShadowBook::Acquire(std::string_view route, std::string_view deployment,
                                        int64_t max_concurrency, double max_usd, double usd,
                                        int64_t day) {
  std::lock_guard lock(mu_);
  Entry& e = At(route, deployment, day);
  if (e.in_flight >= max_concurrency) return Verdict::kConcurrency;
  if (e.spent + usd > max_usd) return Verdict::kSpendCap;
  ++e.in_flight;
  e.spent += usd;
  return Verdict::kGo;
}

bool ShadowBook::Extend(std::string_view route, std::string_view deployment, double max_usd,
                        double usd, int64_t day) {
  std::lock_guard lock(mu_);
  const auto it = entries_.find(BookKey(route, deployment));
  if (it == entries_.end() || it->second.day != day || it->second.spent + usd > max_usd) {
    return false;
  }
  it->second.spent += usd;
  return true;
}

void ShadowBook::Release(std::string_view route, std::string_view deployment, double reserved,
                         double spent, int64_t day) {
  std::lock_guard lock(mu_);
  const auto it = entries_.find(BookKey(route, deployment));
  if (it == entries_.end()) return;
  Entry& e = it->second;
  --e.in_flight;
  if (e.day == day) e.spent = std::max(0.0, e.spent - reserved + spent);
}

void ShadowBook::Seed(std::string_view route, std::string_view deployment, double spent,
                      int64_t day) {
  std::lock_guard lock(mu_);
  At(route, deployment, day).spent += spent;
}

double ShadowBook::Spent(std::string_view route, std::string_view deployment, int64_t day) const {
  std::lock_guard lock(mu_);
  const auto it = entries_.find(BookKey(route, deployment));
  return it == entries_.end() || it->second.day != day ? 0 : it->second.spent;
}

int64_t UtcDay(int64_t unix_ms) { return unix_ms / 86'400'000; }

Status SeedShadowBook(ShadowBook& book, const std::string& source) {
  const int64_t day = UtcDay(UnixMs());
  auto rows = quality::ComparisonStore::Load(source, day * 86'400'000);
  if (!rows) return Fail(std::move(rows.error()));
  for (const quality::StoredComparison& row : *rows) {
    const quality::Comparison& c = row.comparison;
    double spent = c.shadow.cost_usd;
    for (const quality::Score& score : c.scores) spent += score.cost_usd;
    book.Seed(c.route, c.shadow.deployment, spent, day);
  }
  return {};
}

uint64_t SampleShadows(const routing::Route& route) {
  uint64_t sampled = 0;
  for (size_t i = 0; i < route.shadow.size() && i < 64; ++i) {
    if (Sampled(route.shadow[i].sample)) sampled |= uint64_t{1} << i;
  }
  return sampled;
}

void OfferShadows(ShadowOffer offer, background::Runner& runner, http::ClientPool& pool,
                  ShadowBook& book, metrics::Metrics& metrics) {
  const Runtime& rt = *offer.runtime;
  const auto& targets = offer.route->shadow;
  for (size_t i = 0; i < targets.size() && i < 64; ++i) {
    const routing::ShadowTarget& t = targets[i];
    if (!(offer.sampled >> i & 1)) continue;
    const auto found = rt.catalog->Find(t.deployment);
    if (found.empty()) continue;  // checked at load: cannot happen
    const routing::Deployment& d = found.front();
    const config::ProviderConfig& pc = d.provider->config();
    if (!pc.disabled_reason.empty() || offer.egress_class > pc.max_data_class) {
      metrics.RecordShadow(offer.route->name, d.key, "residency");
      continue;
    }
    // The worst case: at most a token per byte of input (the estimate is a quarter of that),
    // and the whole output allowance. A judge's calls are reserved once the answers are known.
    api::Usage worst;
    worst.input_tokens = 4 * offer.estimated_input_tokens + 64;
    worst.output_tokens = offer.request->MaxOutputTokens().value_or(kDefaultOutputReserve);
    const double reserve = std::max(rt.accounting->Cost(d, worst), 0.0);
    const int64_t day = UtcDay(UnixMs());
    switch (book.Acquire(offer.route->name, d.key, t.max_concurrency, t.max_usd_per_day, reserve,
                         day)) {
      case ShadowBook::Verdict::kConcurrency:
        metrics.RecordShadow(offer.route->name, d.key, "concurrency");
        continue;
      case ShadowBook::Verdict::kSpendCap:
        metrics.RecordShadow(offer.route->name, d.key, "spend_cap");
        continue;
      case ShadowBook::Verdict::kGo:
        break;
    }
    const bool taken =
        runner.Submit(std::make_unique<ShadowJob>(offer, t, d, reserve, day, pool, book, metrics));
    metrics.RecordShadow(offer.route->name, d.key, taken ? "submitted" : "shed");
  }
}

}  // namespace hybridgate::gateway
