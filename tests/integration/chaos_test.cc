// Fault injection under load (issue #9): concurrent clients while the first tier's upstream fails
// in turn with 500, 503, 429 + Retry-After, connection resets, stalls, streams closed before
// their first event and streams cut after two events; the second tier stays healthy. Every
// request must get a complete, correct answer within the route's deadline — except a stream cut
// after bytes reached the client, which must end with an error event and no [DONE] — the gateway
// must exit cleanly, and the ledger must hold exactly one row per request.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <boost/json.hpp>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include "tests/support/fake_upstream.h"
#include "tests/support/gateway_process.h"

namespace hybridgate::testing {
namespace {

namespace json = boost::json;
using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr int kThreads = 8;
constexpr int kPerThread = 16;
constexpr int kTotalMs = 4000;  // the route's total deadline

enum Mode : int {
  kOk,
  k500,
  k503,
  k429,
  kReset,
  kStall,
  kClosedBeforeFirstEvent,
  kCutAfterTwoEvents,
  kModes
};

bool Streaming(const Recorded& r) {
  const json::value body = json::parse(r.body);
  const auto* s = body.as_object().if_contains("stream");
  return s && s->is_bool() && s->as_bool();
}

// The flaky upstream: request n gets mode n % kModes (all of them, many times over); counts
// what it did.
struct Flaky {
  std::atomic<int> next{0};
  std::atomic<int> cut_streams{0};  // kCutAfterTwoEvents actually served to a stream

  Action Next(const Recorded& r) {
    if (!r.target.ends_with("/chat/completions")) return Action{.body = R"({"data":[]})"};
    const bool stream = Streaming(r);
    switch (static_cast<Mode>(next.fetch_add(1) % kModes)) {
      case kOk:
        break;
      case k500:
        return Action{.status = 500, .body = R"({"error":{"message":"boom"}})"};
      case k503:
        return Action{.status = 503, .body = R"({"error":{"message":"overloaded"}})"};
      case k429:
        return Action{.status = 429,
                      .body = R"({"error":{"message":"slow down"}})",
                      .headers = {{"retry-after", "1"}}};
      case kReset:
        return Action{.reset = true};
      case kStall:
        return Action{.stall = true};
      case kClosedBeforeFirstEvent:
        if (!stream) return Action{.reset = true};
        return Action{.content_type = "text/event-stream",
                      .chunks = ChatStreamChunks({"from ", "flaky"}, "m"),
                      .cut_after = 0};
      case kCutAfterTwoEvents:
        if (!stream) return Action{.reset = true};
        cut_streams.fetch_add(1);
        return Action{.content_type = "text/event-stream",
                      .chunks = ChatStreamChunks({"from ", "flaky"}, "m"),
                      .cut_after = 2};
      case kModes:
        break;
    }
    if (stream) {
      return Action{.content_type = "text/event-stream",
                    .chunks = ChatStreamChunks({"from ", "flaky"}, "m")};
    }
    return Action{.body = ChatCompletionJson("from flaky")};
  }
};

// The content a stream carried (its delta.content pieces, in order), and whether it ended with
// [DONE] or with an error event.
struct StreamRead {
  std::string content;
  bool done = false;
  bool error_event = false;
};

StreamRead ReadStream(const std::string& body) {
  StreamRead out;
  size_t at = 0;
  while ((at = body.find("data: ", at)) != std::string::npos) {
    const size_t end = body.find("\n\n", at);
    const std::string data =
        body.substr(at + 6, end == std::string::npos ? std::string::npos : end - at - 6);
    at = end == std::string::npos ? body.size() : end;
    if (data == "[DONE]") {
      out.done = true;
      continue;
    }
    json::value v = json::parse(data);
    if (v.as_object().contains("error")) {
      out.error_event = true;
      continue;
    }
    for (const auto& c : v.at("choices").as_array()) {
      const auto* piece = c.at("delta").as_object().if_contains("content");
      if (piece && piece->is_string()) out.content += piece->as_string();
    }
  }
  return out;
}

std::set<std::string> LedgerIds(const std::string& path) {
  std::set<std::string> ids;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) return ids;
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "SELECT id FROM requests", -1, &st, nullptr);
  while (st && sqlite3_step(st) == SQLITE_ROW) {
    ids.insert(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return ids;
}

TEST(Chaos, EveryRequestIsAnsweredCorrectlyWhileTheFirstTierFailsAtRandom) {
  Flaky flaky;
  FakeUpstream a([&flaky](const Recorded& r) { return flaky.Next(r); });
  FakeUpstream b([](const Recorded& r) {
    if (r.target.ends_with("/chat/completions") && Streaming(r)) {
      return Action{.content_type = "text/event-stream",
                    .chunks = ChatStreamChunks({"from ", "steady"}, "m")};
    }
    return Action{.body = ChatCompletionJson("from steady")};
  });
  const std::string dir =
      std::filesystem::temp_directory_path() / ("hybridgate-chaos-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string ledger = dir + "/ledger.db";
  GatewayProcess gw(
      "providers:\n"
      "  - {name: flaky, type: openai, base_url: '" +
      a.base_url() +
      "', zone: self_hosted, models: [{name: model-a}]}\n"
      "  - {name: steady, type: openai, base_url: '" +
      b.base_url() +
      "', zone: self_hosted, models: [{name: model-b}]}\n"
      "routes:\n"
      "  r:\n"
      "    tiers:\n"
      "      - {name: first, deployments: [model-a]}\n"
      "      - {name: second, deployments: [model-b]}\n"
      "    retries: {attempts: 2, backoff_ms: 10, max_retry_after_ms: 1000}\n"
      // Breakers off, so every failure mode keeps reaching the gateway for the whole run (a
      // breaker would rightly stop sending to the flaky tier); they have their own tests.
      "    breaker: {consecutive_failures: 0, error_rate: 0}\n"
      "    deadlines: {attempt_ms: 400, ttft_ms: 400, total_ms: " +
      std::to_string(kTotalMs) +
      "}\n"
      "ledger: {path: '" +
      ledger + "', flush_interval_ms: 20}\n");
  ASSERT_TRUE(gw.started()) << gw.Log();

  std::mutex mu;
  std::vector<std::string> failures;
  std::set<std::string> request_ids;
  std::atomic<int> answered{0}, error_terminated{0};
  double slowest_ms = 0;
  auto fail = [&](std::string what) {
    std::lock_guard lock(mu);
    failures.push_back(std::move(what));
  };
  std::vector<std::thread> clients;
  for (int t = 0; t < kThreads; ++t) {
    clients.emplace_back([&, t] {
      TestClient c(gw.port());
      for (int i = 0; i < kPerThread; ++i) {
        const bool stream = (t + i) % 2 == 0;
        const std::string body = std::string(R"({"model":"r","stream":)") +
                                 (stream ? "true" : "false") +
                                 R"(,"messages":[{"role":"user","content":"hi"}]})";
        const auto start = SteadyClock::now();
        HttpResult r;
        StreamRead s;
        if (stream) {
          r = c.StartStream("/v1/chat/completions", body);
          if (r.status == 200) s = ReadStream(r.body + c.ReadAll(milliseconds(kTotalMs + 5000)));
        } else {
          r = c.Post("/v1/chat/completions", body);
        }
        const double ms =
            std::chrono::duration<double, std::milli>(SteadyClock::now() - start).count();
        {
          std::lock_guard lock(mu);
          slowest_ms = std::max(slowest_ms, ms);
          request_ids.insert(r.headers["x-hybridgate-request-id"]);
        }
        const std::string who = "request " + std::to_string(t) + "/" + std::to_string(i);
        if (r.status != 200) {
          fail(who + ": status " + std::to_string(r.status) + " " + r.body + r.error);
          continue;
        }
        if (!stream) {
          const auto content = json::parse(r.body).at("choices").at(0).at("message").at("content");
          if (content != "from steady" && content != "from flaky") {
            fail(who + ": wrong answer " + r.body);
          }
          ++answered;
        } else if (s.done && !s.error_event &&
                   (s.content == "from steady" || s.content == "from flaky")) {
          ++answered;
        } else if (s.error_event && !s.done && std::string("from flaky").starts_with(s.content)) {
          ++error_terminated;  // cut after bytes were sent: terminated, never passed off as whole
        } else {
          fail(who + ": broken stream, content '" + s.content + "' done " + std::to_string(s.done) +
               " error " + std::to_string(s.error_event));
        }
      }
    });
  }
  for (auto& t : clients) t.join();
  ASSERT_EQ(gw.Stop(), 0) << gw.Log();

  std::printf(
      "chaos: %d requests, %d to the flaky tier (%d streams cut after two events), %zu "
      "to the healthy one, slowest answer %.0f ms\n",
      kThreads * kPerThread, flaky.next.load(), flaky.cut_streams.load(), b.request_count(),
      slowest_ms);
  for (const auto& f : failures) ADD_FAILURE() << f;
  constexpr int kRequests = kThreads * kPerThread;
  EXPECT_EQ(answered + error_terminated, kRequests);
  // Exactly the streams the upstream cut after two events ended in an error event.
  EXPECT_EQ(error_terminated.load(), flaky.cut_streams.load());
  EXPECT_GE(flaky.next.load(), kModes * 4) << "every failure mode was served several times";
  EXPECT_LT(slowest_ms, kTotalMs + 2000.0) << "a client waited past the route's deadline";
  request_ids.erase("");
  EXPECT_EQ(request_ids.size(), static_cast<size_t>(kRequests));
  EXPECT_EQ(LedgerIds(ledger), request_ids) << "one ledger row per request";
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace hybridgate::testing
