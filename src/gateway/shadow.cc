#include "gateway/shadow.h"

#include <fmt/format.h>

#include <chrono>
#include <random>
#include <utility>

#include "api/openai_chat.h"
#include "common/clock.h"
#include "common/json_writer.h"
#include "gateway/accounting.h"
#include "quality/comparators/embedding/embedding.h"
#include "quality/comparators/judge/judge.h"
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
        store_(offer.store),
        on_scored_(offer.on_scored) {
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
    for (const quality::ComparatorSpec& spec : ShadowComparators(target)) {
      // Checked when the config was loaded (RoutePlanner): cannot fail.
      if (auto made = quality::MakeComparator(spec)) comparators_.push_back(std::move(*made));
    }
  }
  // How each call of this job goes out: the request's egress gate (its class; no key ceiling,
  // as no key pays), no breakers, cancelled with the job.
  routing::ExecuteOptions Options(std::string_view id, http::CancelToken& cancel,
                                  int data_class) const {
    const Runtime& rt = *runtime_;
    return {.request_id = id,
            .cancel = &cancel,
            .egress = {.data_class = data_class,
                       .findings = &cls_,
                       .key_max_class = sensitivity::kMaxClass,
                       .scanner = &*rt.scanner,
                       .residency = &rt.config.residency}};
  }

  // Writes the ledger row of one call this job made (`endpoint` "shadow" or "judge", no key:
  // the target's budget pays) and returns its cost.
  double Meter(const std::string& id, std::string_view endpoint, const routing::Outcome& out,
               double latency_ms, int64_t estimated_input_tokens) {
    RequestFacts facts;
    facts.id = id;
    facts.arrival_unix_ms = UnixMs();
    facts.endpoint = endpoint;
    facts.route = route_;
    facts.sensitivity = &cls_;
    facts.estimated_input_tokens = estimated_input_tokens;
    facts.status = out.ok ? out.status : out.error.HttpStatus();
    facts.latency_ms = latency_ms;
    return std::max(runtime_->accounting->Record(facts, out).cost_usd, 0.0);
  }

  // The model calls one comparator makes (a judge's chat, an embedding model's vectors): each
  // resolved in the catalog, held to residency with the class of the request and of both
  // answers, its worst case reserved from the target's daily budget, sent through the egress
  // gate and metered as a ledger row of its own (endpoint: the comparator's name, no key).
  class Calls final : public quality::ModelCalls {
   public:
    Calls(ShadowJob& job, routing::Executor& executor, http::CancelToken& cancel,
          std::string_view purpose)
        : job_(job), executor_(executor), cancel_(cancel), purpose_(purpose) {}

    asio::awaitable<Result<std::string>> Chat(std::string_view model,
                                              const api::ChatRequest& request) override {
      int64_t bytes = 16;
      for (const api::Message& m : request.messages) bytes += static_cast<int64_t>(m.text.size());
      api::Usage worst;
      worst.input_tokens = bytes;  // at most a token per byte
      worst.output_tokens = request.MaxOutputTokens().value_or(kDefaultOutputReserve);
      auto d = Admit(model, worst);
      if (!d) co_return Fail(std::move(d.error()));
      routing::RoutePlan plan;
      plan.candidates.push_back({.deployment = *d});
      const std::string id = NextId();
      const auto start = std::chrono::steady_clock::now();
      routing::Outcome out =
          co_await executor_.Chat(request, plan, job_.Options(id, cancel_, DataClass()));
      if (!Settle(id, out, start, bytes / 4)) co_return Fail(std::move(out.error));
      co_return std::move(out.body);
    }

    asio::awaitable<Result<std::vector<std::vector<double>>>> Embed(
        std::string_view model, std::span<const std::string> texts) override {
      int64_t bytes = 16;
      for (const std::string& t : texts) bytes += static_cast<int64_t>(t.size());
      api::Usage worst;
      worst.input_tokens = bytes;
      auto d = Admit(model, worst);
      if (!d) co_return Fail(std::move(d.error()));
      routing::RoutePlan plan;
      plan.candidates.push_back({.deployment = *d});
      std::string body;
      {
        JsonWriter w(body);
        w.BeginObject().Field("model", model).Key("input").BeginArray();
        for (const std::string& t : texts) w.String(t);
        w.EndArray().EndObject();
      }
      const std::string id = NextId();
      const auto start = std::chrono::steady_clock::now();
      routing::Outcome out = co_await executor_.Raw(
          "/embeddings", body, model, false, plan, job_.Options(id, cancel_, DataClass()), nullptr);
      if (!Settle(id, out, start, bytes / 4)) co_return Fail(std::move(out.error));
      co_return quality::ReadOpenAiEmbeddings(out.native_body.empty() ? out.body : out.native_body,
                                              texts.size());
    }

    double spent_usd() const override { return spent_; }
    bool made() const { return calls_ > 0; }

   private:
    // The class every comparator call carries: the request's and what the answers hold.
    int DataClass() const { return std::max(job_.egress_class_, job_.comparison_.data_class); }

    Result<routing::Deployment> Admit(std::string_view model, const api::Usage& worst) {
      const Runtime& rt = *job_.runtime_;
      const auto found = rt.catalog->Find(model);
      if (found.empty()) {
        return Fail(MakeError(ErrorCode::kModelNotFound, fmt::format("no model '{}'", model)));
      }
      const routing::Deployment& d = found.front();
      if (DataClass() > d.provider->config().max_data_class) {
        Count("residency");
        return Fail(MakeError(ErrorCode::kPolicyBlocked,
                              fmt::format("{} may not receive data class {}", d.key, DataClass())));
      }
      const double reserve = std::max(rt.accounting->Cost(d, worst), 0.0);
      if (!job_.book_.Extend(job_.route_, job_.deployment_.key, job_.max_usd_, reserve,
                             job_.day_)) {
        Count("spend_cap");
        return Fail(MakeError(ErrorCode::kBudgetExceeded, "the shadow's daily budget is spent"));
      }
      job_.reserved_ += reserve;
      return d;
    }

    bool Settle(const std::string& id, const routing::Outcome& out,
                std::chrono::steady_clock::time_point start, int64_t estimated_input_tokens) {
      ++calls_;
      const double latency_ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
              .count();
      spent_ += job_.Meter(id, purpose_, out, latency_ms, estimated_input_tokens);
      if (!out.ok) Count("failed");
      return out.ok;
    }

    std::string NextId() {
      return fmt::format("{}/{}/{}", job_.comparison_.request_id, purpose_, ++ids_);
    }
    void Count(std::string_view what) {
      job_.metrics_.RecordShadow(job_.route_, job_.deployment_.key,
                                 fmt::format("{}_{}", purpose_, what));
    }

    ShadowJob& job_;
    routing::Executor& executor_;
    http::CancelToken& cancel_;
    std::string_view purpose_;
    double spent_ = 0;
    int calls_ = 0;
    int ids_ = 0;
  };

  ~ShadowJob() override {
    // Shed or dropped before it ran: the slot and the reservation go back unspent.
    if (!released_) book_.Release(route_, deployment_.key, reserved_, 0, day_);
  }

  asio::awaitable<void> Run(http::CancelToken& cancel) override {
    const auto start = std::chrono::steady_clock::now();
    routing::RoutePlan plan;
    plan.candidates.push_back({.deployment = deployment_});
    routing::Executor executor(pool_);
    const routing::ExecuteOptions options = Options(id_, cancel, egress_class_);
    routing::Outcome out = co_await executor.Chat(request_, plan, options);
    const double latency_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    const double cost = Meter(id_, "shadow", out, latency_ms, estimated_input_tokens_);
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
    double spent = cost;
    for (const auto& comparator : comparators_) {
      if (cancel.cancelled()) break;
      Calls calls(*this, executor, cancel, comparator->name());
      std::optional<quality::Score> score = co_await comparator->Compare(comparison_, calls);
      spent += calls.spent_usd();
      if (score) {
        comparison_.scores.push_back(std::move(*score));
      } else if (calls.made()) {
        metrics_.RecordShadow(route_, deployment_.key,
                              fmt::format("{}_no_score", comparator->name()));
      }
    }
    book_.Release(route_, deployment_.key, reserved_, spent, day_);
    released_ = true;
    if (on_scored_ && !comparison_.scores.empty()) on_scored_(comparison_);
    if (store_ && !store_->Save(std::move(comparison_))) {
      metrics_.RecordShadow(route_, deployment_.key, "comparison_dropped");
    }
  }

 private:
  std::shared_ptr<const Runtime> runtime_;
  std::string route_;
  double max_usd_;
  routing::Deployment deployment_;
  std::vector<std::unique_ptr<quality::Comparator>> comparators_;
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
  std::function<void(const quality::Comparison&)> on_scored_;
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
    if (d.key == offer.primary.deployment) {
      // It answered the client itself (a fallback, or a rollout's candidate arm): nothing to
      // compare.
      metrics.RecordShadow(offer.route->name, d.key, "answered_primary");
      continue;
    }
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

std::vector<quality::ComparatorSpec> ShadowComparators(const routing::ShadowTarget& target) {
  std::vector<std::string> names = target.compare;
  if (names.empty()) {
    names = {"exact", "json", "json_schema"};
    if (!target.embedding.empty()) names.push_back("embedding");
    if (!target.judge.empty()) names.push_back("judge");
  }
  std::vector<quality::ComparatorSpec> specs;
  for (std::string& name : names) {
    std::string model = name == "judge"       ? target.judge
                        : name == "embedding" ? target.embedding
                                              : "";
    specs.push_back({std::move(name), std::move(model)});
  }
  return specs;
}

}  // namespace hybridgate::gateway
