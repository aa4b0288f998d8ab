#include "metrics/metrics.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <map>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "metrics/text_format_parser.h"

// Counts heap allocations made by the current thread while `counting` is set (for the
// allocation-free steady-state test). Forwarding to malloc/free keeps ASan's checks intact.
namespace {
thread_local bool counting = false;
thread_local int64_t allocations = 0;
}  // namespace

void* operator new(size_t n) {
  if (counting) ++allocations;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace hybridgate::metrics {
namespace {

using testing::Exposition;
using testing::LabelMap;
using testing::ParseTextFormat;

Exposition Scrape(Metrics& m) {
  std::string text = m.Serialize();
  auto parsed = ParseTextFormat(text);
  EXPECT_TRUE(parsed.has_value()) << (parsed ? "" : parsed.error().message) << "\n" << text;
  return parsed ? *parsed : Exposition{};
}

const RequestLabels kChat{.route = "default",
                          .tier = "frontier",
                          .provider = "openai",
                          .model = "gpt-4o",
                          .endpoint = "chat_completions"};
const RequestLabels kLocal{.route = "private",
                           .tier = "local",
                           .provider = "llama",
                           .model = "qwen2.5-0.5b",
                           .endpoint = "messages"};

LabelMap Req(const RequestLabels& l) {
  return {{"route", std::string(l.route)},
          {"tier", std::string(l.tier)},
          {"provider", std::string(l.provider)},
          {"model", std::string(l.model)},
          {"endpoint", std::string(l.endpoint)}};
}
LabelMap With(LabelMap m, std::string k, std::string v) {
  m[std::move(k)] = std::move(v);
  return m;
}
LabelMap GenAi(const RequestLabels& l) {
  return {{"gen_ai_operation_name", "chat"},
          {"gen_ai_provider_name", std::string(l.provider)},
          {"gen_ai_request_model", std::string(l.model)}};
}

// prometheus-cpp renders a labelled family only once it has a series; the unlabelled ones (and
// the fold counters) are there from the start.
TEST(MetricsTest, EveryFamilyRendersWithHelpAndType) {
  Metrics m;
  Exposition empty = Scrape(m);
  EXPECT_EQ(empty.Value("hybridgate_redis_errors_total"), 0);
  EXPECT_EQ(empty.Value("hybridgate_inflight_requests"), 0);
  EXPECT_FALSE(empty.families.contains("hybridgate_requests_total"));

  m.RecordRequest(kChat, 200, 0.5, 0.1, 1, 1, 1, 0.01);
  m.RecordFallback("default", "openai");
  m.RecordEscalation("default", "local", "frontier");
  m.SetBreakerState("openai", BreakerState::kClosed);
  m.RecordFinding("email");
  m.RecordResidencyAction("blocked");
  m.RecordRejection("auth");
  m.RecordShadow("default", "openai/gpt-4o", "submitted");
  m.SetBackgroundJobs(1, 2);
  m.AddBackgroundJobs("shed", 3);
  Exposition e = Scrape(m);
  const std::map<std::string, std::string> kFamilies = {
      {"hybridgate_requests_total", "counter"},
      {"hybridgate_request_duration_seconds", "histogram"},
      {"hybridgate_time_to_first_token_seconds", "histogram"},
      {"hybridgate_tokens_total", "counter"},
      {"hybridgate_cost_usd_total", "counter"},
      {"gen_ai_client_operation_duration_seconds", "histogram"},
      {"gen_ai_server_time_to_first_token_seconds", "histogram"},
      {"gen_ai_client_token_usage", "histogram"},
      {"hybridgate_fallbacks_total", "counter"},
      {"hybridgate_escalations_total", "counter"},
      {"hybridgate_circuit_breaker_state", "gauge"},
      {"hybridgate_sensitive_findings_total", "counter"},
      {"hybridgate_residency_actions_total", "counter"},
      {"hybridgate_limit_rejections_total", "counter"},
      {"hybridgate_redis_errors_total", "counter"},
      {"hybridgate_ledger_dropped_rows_total", "counter"},
      {"hybridgate_engine_active_slots", "gauge"},
      {"hybridgate_engine_queued_requests", "gauge"},
      {"hybridgate_inflight_requests", "gauge"},
      {"hybridgate_metrics_series_folded_total", "counter"},
      {"hybridgate_accept_errors_total", "counter"},
      {"hybridgate_internal_errors_total", "counter"},
      {"hybridgate_shadow_requests_total", "counter"},
      {"hybridgate_background_jobs", "gauge"},
      {"hybridgate_background_jobs_total", "counter"}};
  for (const auto& [name, type] : kFamilies) {
    ASSERT_TRUE(e.families.contains(name)) << name;
    EXPECT_EQ(e.families.at(name).type, type) << name;
    EXPECT_FALSE(e.families.at(name).help.empty()) << name;
  }
  EXPECT_EQ(e.families.size(), kFamilies.size());
  EXPECT_EQ(e.Value("hybridgate_background_jobs_total", {{"result", "shed"}}), 3);
  EXPECT_EQ(e.Value("hybridgate_background_jobs", {{"state", "queued"}}), 2);
  EXPECT_EQ(
      e.Value("hybridgate_shadow_requests_total",
              {{"route", "default"}, {"deployment", "openai/gpt-4o"}, {"outcome", "submitted"}}),
      1);
}

TEST(MetricsTest, ConcurrentRecordingIsCountedExactly) {
  Metrics m;
  constexpr int kThreads = 8, kPerThread = 500;
  std::atomic<bool> stop_scraping{false};
  std::thread scraper([&] {  // scrapes race with recording
    while (!stop_scraping) (void)m.Serialize();
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&m, t] {
      for (int i = 0; i < kPerThread; ++i) {
        InflightGuard inflight(m);
        if ((i + t) % 2 == 0) {
          m.RecordRequest(kChat, 200, 0.5, 0.05, 100, 20, 40, 0.25);
        } else {
          m.RecordRequest(kLocal, i % 10 == 0 ? 503 : 200, 3.0, -1, 10, 5, 0, 0);
        }
        m.RecordFallback("default", "anthropic");
        m.RecordEscalation("default", "local", "frontier");
        m.RecordFinding("email", 2);
        m.RecordResidencyAction("rerouted_local");
        m.RecordRejection(i % 2 ? "rpm" : "budget");
        m.AddRedisErrors();
        m.AddLedgerDroppedRows(3);
      }
    });
  }
  for (auto& th : threads) th.join();
  stop_scraping = true;
  scraper.join();

  Exposition e = Scrape(m);
  constexpr double kTotal = kThreads * kPerThread, kHalf = kTotal / 2;
  // The local requests that got a 503, counted the way the threads produced them.
  double local_503 = 0;
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) local_503 += (i + t) % 2 != 0 && i % 10 == 0;
  }
  EXPECT_EQ(e.Value("hybridgate_requests_total", With(Req(kChat), "status", "200")), kHalf);
  EXPECT_EQ(e.Value("hybridgate_requests_total", With(Req(kLocal), "status", "200")),
            kHalf - local_503);
  EXPECT_EQ(e.Value("hybridgate_requests_total", With(Req(kLocal), "status", "503")), local_503);

  EXPECT_EQ(e.Value("hybridgate_request_duration_seconds_count", Req(kChat)), kHalf);
  EXPECT_DOUBLE_EQ(e.Value("hybridgate_request_duration_seconds_sum", Req(kChat)), kHalf * 0.5);
  EXPECT_EQ(e.Value("hybridgate_request_duration_seconds_bucket", With(Req(kChat), "le", "0.32")),
            0);
  EXPECT_EQ(e.Value("hybridgate_request_duration_seconds_bucket", With(Req(kChat), "le", "0.64")),
            kHalf);
  EXPECT_EQ(e.Value("hybridgate_time_to_first_token_seconds_count", Req(kChat)), kHalf);
  EXPECT_EQ(e.Value("hybridgate_time_to_first_token_seconds_count", Req(kLocal)), 0);
  EXPECT_EQ(e.Value("gen_ai_client_operation_duration_seconds_count", GenAi(kLocal)), kHalf);
  EXPECT_EQ(e.Value("gen_ai_server_time_to_first_token_seconds_count", GenAi(kChat)), kHalf);

  LabelMap chat_tokens = {{"provider", "openai"}, {"model", "gpt-4o"}};
  EXPECT_EQ(e.Value("hybridgate_tokens_total", With(chat_tokens, "type", "input")), kHalf * 100);
  EXPECT_EQ(e.Value("hybridgate_tokens_total", With(chat_tokens, "type", "output")), kHalf * 20);
  EXPECT_EQ(e.Value("hybridgate_tokens_total", With(chat_tokens, "type", "cached_input")),
            kHalf * 40);
  EXPECT_DOUBLE_EQ(e.Value("hybridgate_cost_usd_total",
                           {{"route", "default"}, {"provider", "openai"}, {"model", "gpt-4o"}}),
                   kHalf * 0.25);
  // Token distribution: successful requests only (the local 503s are left out).
  EXPECT_EQ(
      e.Value("gen_ai_client_token_usage_count", With(GenAi(kLocal), "gen_ai_token_type", "input")),
      kHalf - local_503);
  EXPECT_EQ(e.Value("gen_ai_client_token_usage_bucket",
                    With(With(GenAi(kChat), "gen_ai_token_type", "input"), "le", "64")),
            0);
  EXPECT_EQ(e.Value("gen_ai_client_token_usage_bucket",
                    With(With(GenAi(kChat), "gen_ai_token_type", "input"), "le", "256")),
            kHalf);

  EXPECT_EQ(
      e.Value("hybridgate_fallbacks_total", {{"route", "default"}, {"from_provider", "anthropic"}}),
      kTotal);
  EXPECT_EQ(e.Value("hybridgate_escalations_total",
                    {{"route", "default"}, {"from_tier", "local"}, {"to_tier", "frontier"}}),
            kTotal);
  EXPECT_EQ(e.Value("hybridgate_sensitive_findings_total", {{"type", "email"}}), 2 * kTotal);
  EXPECT_EQ(e.Value("hybridgate_residency_actions_total", {{"action", "rerouted_local"}}), kTotal);
  EXPECT_EQ(e.Value("hybridgate_limit_rejections_total", {{"reason", "rpm"}}), kHalf);
  EXPECT_EQ(e.Value("hybridgate_limit_rejections_total", {{"reason", "budget"}}), kHalf);
  EXPECT_EQ(e.Value("hybridgate_redis_errors_total"), kTotal);
  EXPECT_EQ(e.Value("hybridgate_ledger_dropped_rows_total"), 3 * kTotal);
  EXPECT_EQ(e.Value("hybridgate_inflight_requests"), 0);
}

// Requests are tallied per thread and merged at scrape time: each must show up exactly once, with
// its histogram sum, however scrapes interleave, after its thread has exited, and when one thread
// records into more Metrics objects than it keeps shards for.
TEST(MetricsTest, EveryScrapeShowsEachRequestOnce) {
  constexpr int kObjects = 20, kRounds = 3;
  std::vector<std::unique_ptr<Metrics>> objects;
  for (int i = 0; i < kObjects; ++i) objects.push_back(std::make_unique<Metrics>());
  for (int round = 1; round <= kRounds; ++round) {
    std::thread([&] {
      for (int i = 0; i < kObjects; ++i) {
        for (int k = 0; k <= i; ++k) objects[i]->RecordRequest(kChat, 200, 0.25, 0.002, 3, 5, 0, 0);
      }
    }).join();
    for (int i = 0; i < kObjects; ++i) {
      for (int k = 0; k <= i % 3; ++k) objects[i]->RecordRequest(kLocal, 503, 1, -1, 0, 0, 0, 0);
      if (i % 2) (void)objects[i]->Serialize();  // half of them scraped mid-round as well
      Exposition e = Scrape(*objects[i]);
      const double chat = round * (i + 1.0), local = round * (i % 3 + 1.0);
      ASSERT_EQ(e.Value("hybridgate_requests_total", With(Req(kChat), "status", "200")), chat)
          << "object " << i << ", round " << round;
      EXPECT_EQ(e.Value("hybridgate_requests_total", With(Req(kLocal), "status", "503")), local);
      EXPECT_DOUBLE_EQ(e.Value("hybridgate_request_duration_seconds_sum", Req(kChat)), chat * 0.25);
      EXPECT_EQ(e.Value("gen_ai_server_time_to_first_token_seconds_bucket",
                        With(GenAi(kChat), "le", "0.005")),
                chat);
      EXPECT_EQ(e.Value("gen_ai_server_time_to_first_token_seconds_bucket",
                        With(GenAi(kChat), "le", "0.001")),
                0);
      EXPECT_EQ(e.Value("hybridgate_tokens_total",
                        {{"provider", "openai"}, {"model", "gpt-4o"}, {"type", "output"}}),
                chat * 5);
      EXPECT_EQ(e.Value("gen_ai_client_token_usage_count",
                        With(GenAi(kLocal), "gen_ai_token_type", "input")),
                0)
          << "a 503 is not a token usage observation";
    }
  }
}

TEST(MetricsTest, StatusIsTheExactCodeOrOther) {
  Metrics m;
  m.RecordRequest(kChat, 429, 0.01, -1, 0, 0, 0, 0);
  m.RecordRequest(kChat, 0, 0.01, -1, 0, 0, 0, 0);
  m.RecordRequest(kChat, 1000, 0.01, -1, 0, 0, 0, 0);
  Exposition e = Scrape(m);
  EXPECT_EQ(e.Value("hybridgate_requests_total", With(Req(kChat), "status", "429")), 1);
  EXPECT_EQ(e.Value("hybridgate_requests_total", With(Req(kChat), "status", "other")), 2);
}

TEST(MetricsTest, UnknownValuesAreNotObserved) {
  Metrics m;
  m.RecordRequest(kChat, 200, -1, -1, -1, -1, -1, NAN);
  m.RecordRequest(kChat, 200, NAN, INFINITY, 0, 0, 0, -5);
  Exposition e = Scrape(m);
  EXPECT_EQ(e.Value("hybridgate_requests_total", With(Req(kChat), "status", "200")), 2);
  EXPECT_EQ(e.Value("hybridgate_request_duration_seconds_count", Req(kChat)), 0);
  EXPECT_EQ(e.Value("hybridgate_time_to_first_token_seconds_count", Req(kChat)), 0);
  // A known zero is a real observation; -1 is not.
  EXPECT_EQ(
      e.Value("gen_ai_client_token_usage_count", With(GenAi(kChat), "gen_ai_token_type", "output")),
      1);
  EXPECT_EQ(e.Value("hybridgate_cost_usd_total",
                    {{"route", "default"}, {"provider", "openai"}, {"model", "gpt-4o"}}),
            0);
}

TEST(MetricsTest, LabelSetsPastTheCapFoldIntoOther) {
  Metrics m(Options{.max_request_label_sets = 2, .max_small_label_sets = 1});
  m.RecordRequest(kChat, 200, 0.1, -1, 1, 1, 0, 0);
  m.RecordRequest(kLocal, 200, 0.1, -1, 1, 1, 0, 0);
  RequestLabels third = kChat;
  third.model = "gpt-4o-mini";
  m.RecordRequest(third, 200, 0.1, -1, 1, 1, 0, 0);
  m.RecordRequest(third, 200, 0.1, -1, 1, 1, 0, 0);
  m.RecordRejection("rpm");
  m.RecordRejection("tpm");
  Exposition e = Scrape(m);
  LabelMap other = {{"route", "other"},
                    {"tier", "other"},
                    {"provider", "other"},
                    {"model", "other"},
                    {"endpoint", "other"}};
  EXPECT_EQ(e.Value("hybridgate_requests_total", With(other, "status", "200")), 2);
  EXPECT_EQ(e.Value("hybridgate_requests_total", With(Req(kChat), "status", "200")), 1);
  EXPECT_TRUE(std::isnan(e.Value("hybridgate_requests_total", With(Req(third), "status", "200"))));
  EXPECT_EQ(
      e.Value("hybridgate_metrics_series_folded_total", {{"family", "hybridgate_requests_total"}}),
      2);
  EXPECT_EQ(e.Value("hybridgate_limit_rejections_total", {{"reason", "other"}}), 1);
  EXPECT_EQ(e.Value("hybridgate_metrics_series_folded_total",
                    {{"family", "hybridgate_limit_rejections_total"}}),
            1);
}

TEST(MetricsTest, AwkwardLabelValuesAreEscapedAndSanitised) {
  Metrics m;
  const std::string long_model(300, 'm');
  RequestLabels l = kChat;
  l.route = "a\"quoted\\route\nwith newline";
  l.model = long_model;
  l.provider = "bad\xff\xfeutf8";
  m.RecordRequest(l, 200, 1, -1, 1, 1, 0, 0.5);
  m.RecordFinding("credit card \"pan\"");
  Exposition e = Scrape(m);
  LabelMap want = {{"route", "a\"quoted\\route\nwith newline"},
                   {"tier", "frontier"},
                   {"provider", "bad\xEF\xBF\xBD\xEF\xBF\xBDutf8"},
                   {"model", std::string(64, 'm')},
                   {"endpoint", "chat_completions"},
                   {"status", "200"}};
  EXPECT_EQ(e.Value("hybridgate_requests_total", want), 1);
  EXPECT_EQ(e.Value("hybridgate_sensitive_findings_total", {{"type", "credit card \"pan\""}}), 1);
}

// What a client writes never becomes a label value: with the config's names set, anything else
// in a config-name label is "unknown" — here a card number asked for as a model, as a route, and
// by a request that never got further than 401.
TEST(MetricsTest, LabelsOutsideTheConfigsNamesAreUnknown) {
  Metrics m;
  m.SetLabelVocabulary({"default", "frontier", "openai", "gpt-4o", "openai/gpt-4o"});
  const std::string card = "4111111111111111";
  RequestLabels made_up{.route = card, .provider = "", .model = "", .endpoint = "chat_completions"};
  m.RecordRequest(made_up, 404, 0.01, -1, 0, 0, 0, 0);
  m.RecordRequest(made_up, 404, 0.01, -1, 0, 0, 0, 0);  // the same made-up name, again
  made_up.route = "4111 1111 1111 1112";
  m.RecordRequest(made_up, 401, 0.01, -1, 0, 0, 0, 0);
  RequestLabels mixed = kChat;
  mixed.model = card;
  m.RecordRequest(mixed, 200, 0.5, -1, 10, 5, 0, 0.01);
  m.RecordRequest(kChat, 200, 0.5, -1, 10, 5, 0, 0.01);
  m.RecordFallback(card, "openai");
  m.RecordEscalation("default", card, "frontier");
  m.SetBreakerState(card + "/x", BreakerState::kOpen);
  m.SetBreakerState("openai/gpt-4o", BreakerState::kHalfOpen);
  const std::string text = m.Serialize();
  EXPECT_EQ(text.find("4111"), std::string::npos) << text;
  Exposition e = *ParseTextFormat(text);
  const LabelMap unknown_route = {{"route", "unknown"},
                                  {"tier", ""},
                                  {"provider", ""},
                                  {"model", ""},
                                  {"endpoint", "chat_completions"}};
  EXPECT_EQ(e.Value("hybridgate_requests_total", With(unknown_route, "status", "404")), 2);
  EXPECT_EQ(e.Value("hybridgate_requests_total", With(unknown_route, "status", "401")), 1);
  EXPECT_EQ(e.Value("hybridgate_requests_total",
                    With(With(Req(kChat), "model", "unknown"), "status", "200")),
            1);
  EXPECT_EQ(e.Value("hybridgate_requests_total", With(Req(kChat), "status", "200")), 1);
  EXPECT_EQ(
      e.Value("hybridgate_fallbacks_total", {{"route", "unknown"}, {"from_provider", "openai"}}),
      1);
  EXPECT_EQ(e.Value("hybridgate_escalations_total",
                    {{"route", "default"}, {"from_tier", "unknown"}, {"to_tier", "frontier"}}),
            1);
  EXPECT_EQ(e.Value("hybridgate_circuit_breaker_state", {{"provider", "unknown"}}), 2);
  EXPECT_EQ(e.Value("hybridgate_circuit_breaker_state", {{"provider", "openai/gpt-4o"}}), 1);
  // A new config: its names are shown from now on, names it no longer has are not.
  m.SetLabelVocabulary({"other-route", "openai", "gpt-4o"});
  RequestLabels next = kChat;
  next.route = "other-route";
  next.tier = "frontier";
  m.RecordRequest(next, 200, 0.5, -1, 10, 5, 0, 0.01);
  e = Scrape(m);
  EXPECT_EQ(e.Value("hybridgate_requests_total",
                    With(With(With(Req(kChat), "route", "other-route"), "tier", "unknown"),
                         "status", "200")),
            1);
}

TEST(MetricsTest, AcceptAndInternalErrorsAreCounted) {
  Metrics m;
  EXPECT_EQ(Scrape(m).Value("hybridgate_accept_errors_total"), 0);
  m.AddAcceptErrors(3);
  m.AddInternalErrors(1);
  m.AddAcceptErrors(0);
  const Exposition e = Scrape(m);
  EXPECT_EQ(e.Value("hybridgate_accept_errors_total"), 3);
  EXPECT_EQ(e.Value("hybridgate_internal_errors_total"), 1);
}

TEST(MetricsTest, GaugesAndScrapeHooks) {
  Metrics m;
  int scrapes = 0;
  m.OnScrape([&](Metrics& self) {
    ++scrapes;
    self.SetEngine(3, 7);
    self.SetBreakerState("openai", BreakerState::kOpen);
    if (scrapes == 1) self.OnScrape([](Metrics& s) { s.SetBreakerState("llama", {}); });
  });
  Exposition e = Scrape(m);
  EXPECT_EQ(scrapes, 1);
  EXPECT_EQ(e.Value("hybridgate_engine_active_slots"), 3);
  EXPECT_EQ(e.Value("hybridgate_engine_queued_requests"), 7);
  EXPECT_EQ(e.Value("hybridgate_circuit_breaker_state", {{"provider", "openai"}}), 2);
  EXPECT_TRUE(std::isnan(e.Value("hybridgate_circuit_breaker_state", {{"provider", "llama"}})));
  e = Scrape(m);  // the hook added during the first scrape runs from the second on
  EXPECT_EQ(e.Value("hybridgate_circuit_breaker_state", {{"provider", "llama"}}), 0);
  m.SetBreakerState("openai", BreakerState::kHalfOpen);
  m.InflightInc();
  m.InflightInc();
  m.InflightDec();
  e = Scrape(m);
  EXPECT_EQ(e.Value("hybridgate_circuit_breaker_state", {{"provider", "openai"}}), 2)
      << "the hook sets it back to open at every scrape";
  EXPECT_EQ(e.Value("hybridgate_inflight_requests"), 1);
}

TEST(MetricsTest, RecordingAWarmLabelSetDoesNotAllocate) {
  counting = true;  // the counter itself works
  allocations = 0;
  int* volatile probe = new int(1);  // volatile: an optimiser may not elide the pair
  delete probe;
  counting = false;
  ASSERT_EQ(allocations, 1);

  Metrics m;
  m.RecordRequest(kChat, 200, 0.5, 0.1, 10, 10, 1, 0.01);  // first use: builds the series
  m.RecordFallback("default", "openai");
  m.RecordRejection("rpm");
  counting = true;
  allocations = 0;
  for (int i = 0; i < 100; ++i) {
    m.RecordRequest(kChat, 200, 0.5, 0.1, 10, 10, 1, 0.01);
    m.RecordFallback("default", "openai");
    m.RecordRejection("rpm");
    m.InflightInc();
    m.InflightDec();
  }
  counting = false;
  EXPECT_EQ(allocations, 0);
}

// The parser itself must reject what Prometheus would reject.
TEST(TextFormatParserTest, RejectsMalformedExpositions) {
  const char* kBad[] = {
      "# TYPE x counter\nx 1",                         // no final newline
      "# TYPE x counter\nx{a=\"1} 1\n",                // unterminated value
      "# TYPE x counter\nx{a=\"\\t\"} 1\n",            // bad escape
      "# TYPE x counter\nx{1a=\"v\"} 1\n",             // bad label name
      "# TYPE x counter\nx{a=\"v\",a=\"w\"} 1\n",      // duplicate label
      "# TYPE x counter\nx one\n",                     // bad value
      "# TYPE 1x counter\n",                           // bad metric name
      "# TYPE x counter\n# TYPE y gauge\ny 1\nx 2\n",  // x not contiguous
      "x 1\n",                                         // no TYPE
      "# TYPE x counter\nx -1\n",                      // negative counter
      "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
      "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n",
      "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 1\n",
      "# TYPE h histogram\nh 1\n",
  };
  for (const char* text : kBad) EXPECT_FALSE(ParseTextFormat(text).has_value()) << text;
  auto ok = ParseTextFormat(
      "# HELP h a \\\\ help\\n\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\n"
      "h_bucket{le=\"+Inf\"} 2\nh_sum 3.5e0\nh_count 2\n# TYPE g gauge\ng{a=\"\\\"\"} NaN 123\n");
  ASSERT_TRUE(ok.has_value()) << ok.error().message;
  EXPECT_EQ(ok->families.at("h").help, "a \\ help\n");
  EXPECT_EQ(ok->Value("h_count"), 2);
}

}  // namespace
}  // namespace hybridgate::metrics
