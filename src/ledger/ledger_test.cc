#include "ledger/ledger.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "ledger/sink.h"
#include "ledger/test_util.h"

namespace hybridgate::ledger {
namespace {

using testing::FreshPath;
using testing::MakeRow;

// Runs a one-value query on its own connection (as another process would).
std::string QueryText(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::string out = "<error>";
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      const auto* t = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
      out = t ? t : "";
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return out;
}

LedgerConfig SqliteConfig(const std::string& path) {
  LedgerConfig c;
  c.path = path;
  return c;
}

TEST(LedgerTest, FourThreadsThenFlushWritesEveryRowExactly) {
  const std::string path = FreshPath("threads.db");
  LedgerConfig config = SqliteConfig(path);
  config.max_batch = 128;  // several batches and a partial one
  auto ledger = Ledger::Open(config);
  ASSERT_TRUE(ledger) << ledger.error().message;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 2500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) (*ledger)->Record(MakeRow(t * kPerThread + i));
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_TRUE((*ledger)->Flush());
  const LedgerStats stats = (*ledger)->Stats();
  EXPECT_EQ(stats.recorded, kThreads * kPerThread);
  EXPECT_EQ(stats.written, kThreads * kPerThread);
  EXPECT_EQ(stats.pending, 0);
  EXPECT_EQ(stats.dropped_queue_full + stats.dropped_write_failed, 0);

  auto rows = LoadSqliteRows(path, 0);
  ASSERT_TRUE(rows) << rows.error().message;
  ASSERT_EQ(rows->size(), static_cast<size_t>(kThreads * kPerThread));
  std::sort(rows->begin(), rows->end(), [](const Row& a, const Row& b) {
    return a.time_ms < b.time_ms;  // MakeRow times are unique and increasing in i
  });
  for (int i = 0; i < kThreads * kPerThread; ++i) {
    // Every field round-trips exactly; the sink added the chain.
    ASSERT_EQ(testing::Unchained((*rows)[i]), MakeRow(i)) << "row " << i;
  }
}

// The SQLite sink inserts 16 rows per statement and the rest one by one: batches around that
// size must all land exactly, in order.
TEST(LedgerTest, SqliteSinkWritesBatchesOfEverySizeExactly) {
  const std::string path = FreshPath("batches.db");
  auto sink = OpenSqliteSink(path);
  ASSERT_TRUE(sink) << sink.error().message;
  std::vector<Row> all;
  for (size_t size : {0, 1, 15, 16, 17, 32, 40}) {
    std::vector<Row> batch;
    for (size_t i = 0; i < size; ++i)
      batch.push_back(MakeRow(static_cast<int64_t>(all.size() + i)));
    ASSERT_TRUE((*sink)->Write(batch)) << "batch of " << size;
    all.insert(all.end(), batch.begin(), batch.end());
  }
  auto rows = LoadSqliteRows(path, 0);
  ASSERT_TRUE(rows) << rows.error().message;
  EXPECT_EQ(*rows, all);
}

TEST(LedgerTest, FlushesWithinTheIntervalWithoutBeingAsked) {
  const std::string path = FreshPath("interval.db");
  LedgerConfig config = SqliteConfig(path);
  config.flush_interval_ms = 100;
  auto ledger = Ledger::Open(config);
  ASSERT_TRUE(ledger) << ledger.error().message;
  const auto start = std::chrono::steady_clock::now();
  (*ledger)->Record(MakeRow(1));
  // The bound in the acceptance criteria is the interval; the deadline here is generous because
  // sanitizer builds on a loaded machine are slow. The observed delay is printed.
  const auto deadline = start + std::chrono::seconds(5);
  std::string count;
  while (std::chrono::steady_clock::now() < deadline) {
    count = QueryText(path, "SELECT count(*) FROM requests");
    if (count == "1") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  ASSERT_EQ(count, "1");
  std::printf("row visible to another connection after %lld ms (interval 100 ms)\n",
              static_cast<long long>(waited.count()));
  EXPECT_LT(waited.count(), 1000);
}

TEST(LedgerTest, DatabaseIsInWalModeWithAVersionedSchema) {
  const std::string path = FreshPath("wal.db");
  auto ledger = Ledger::Open(SqliteConfig(path));
  ASSERT_TRUE(ledger) << ledger.error().message;
  EXPECT_EQ(QueryText(path, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(QueryText(path, "SELECT version FROM schema_version"), "2");
  EXPECT_EQ(QueryText(path,
                      "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND "
                      "name = 'requests_time_ms'"),
            "1");
  ledger->reset();
  // Reopening an existing ledger keeps its rows and its single version row.
  auto again = Ledger::Open(SqliteConfig(path));
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(QueryText(path, "SELECT count(*) FROM schema_version"), "1");
}

TEST(LedgerTest, DestructorFlushes) {
  const std::string path = FreshPath("dtor.db");
  {
    LedgerConfig config = SqliteConfig(path);
    config.flush_interval_ms = 200;
    auto ledger = Ledger::Open(config);
    ASSERT_TRUE(ledger) << ledger.error().message;
    for (int i = 0; i < 321; ++i) (*ledger)->Record(MakeRow(i));
  }
  EXPECT_EQ(QueryText(path, "SELECT count(*) FROM requests"), "321");
}

TEST(LedgerTest, PricesRowsFromTheCatalogAndSelfHostedGpus) {
  const std::string path = FreshPath("prices.db");
  LedgerConfig config = SqliteConfig(path);
  config.prices["my-finetune"] = Price{4, 8, 2};
  config.self_hosted["llama-fixed"] = SelfHostedPrice{2.0, 4, 3'600'000};
  config.self_hosted["llama-measured"] = SelfHostedPrice{3.6, 1, 0};
  auto ledger = Ledger::Open(config);
  ASSERT_TRUE(ledger) << ledger.error().message;
  auto row = [](std::string model, int64_t in, int64_t cached, int64_t out) {
    Row r = MakeRow(0);
    r.model = std::move(model);
    r.input_tokens = in;
    r.cached_input_tokens = cached;
    r.output_tokens = out;
    r.cost_usd = kCostFromCatalog;
    r.latency_ms = 1000;
    return r;
  };
  Ledger& l = **ledger;
  const Price gpt4o = *PriceCatalog::WithDefaults().Find("gpt-4o");
  EXPECT_EQ(l.PriceRow(row("gpt-4o-2024-08-06", 1000, 100, 50)), Cost(gpt4o, 1000, 100, 50));
  EXPECT_EQ(l.PriceRow(row("my-finetune", 1000, 500, 100)), Cost(Price{4, 8, 2}, 1000, 500, 100));
  EXPECT_DOUBLE_EQ(l.PriceRow(row("llama-fixed", 600, 0, 400)), 1000 * 8.0 / 3'600'000);
  // Measured: 1000 tokens in 1 s of busy time = 3.6M tokens/hour at $3.60/hour = $1 per 1M.
  EXPECT_DOUBLE_EQ(l.PriceRow(row("llama-measured", 500, 0, 500)), 1000 / 1e6);
  EXPECT_EQ(l.PriceRow(row("mystery-model", 1000, 0, 1000)), 0.0);
}

// A sink the test controls: it can block, fail, and counts what it sees.
struct FakeState {
  std::mutex mu;
  std::condition_variable cv;
  bool blocked = false;
  int fail_next = 0;
  int calls = 0;
  int64_t rows = 0;
};

class FakeSink : public Sink {
 public:
  explicit FakeSink(std::shared_ptr<FakeState> s) : s_(std::move(s)) {}
  Status Write(std::span<Row> rows) override {
    std::unique_lock lock(s_->mu);
    ++s_->calls;
    s_->cv.notify_all();
    s_->cv.wait(lock, [&] { return !s_->blocked; });
    if (s_->fail_next != 0) {
      if (s_->fail_next > 0) --s_->fail_next;
      return Fail(MakeError(ErrorCode::kUpstreamUnavailable, "database went away"));
    }
    s_->rows += static_cast<int64_t>(rows.size());
    return {};
  }
  std::string_view Name() const override { return "fake"; }

 private:
  std::shared_ptr<FakeState> s_;
};

TEST(LedgerTest, DropsAndCountsWhenTheWriterFallsBehind) {
  auto state = std::make_shared<FakeState>();
  state->blocked = true;
  LedgerConfig config;
  config.max_queue = 10;
  config.flush_interval_ms = 1;
  auto ledger = Ledger::Open(config, std::make_unique<FakeSink>(state));
  ASSERT_TRUE(ledger) << ledger.error().message;
  (*ledger)->Record(MakeRow(0));
  {
    std::unique_lock lock(state->mu);  // the writer is now stuck inside Write
    state->cv.wait(lock, [&] { return state->calls == 1; });
  }
  for (int i = 1; i <= 15; ++i) (*ledger)->Record(MakeRow(i));  // must not block
  LedgerStats stats = (*ledger)->Stats();
  EXPECT_EQ(stats.recorded, 11);
  EXPECT_EQ(stats.dropped_queue_full, 5);
  {
    std::lock_guard lock(state->mu);
    state->blocked = false;
  }
  state->cv.notify_all();
  EXPECT_TRUE((*ledger)->Flush());
  stats = (*ledger)->Stats();
  EXPECT_EQ(stats.written, 11);
  EXPECT_EQ(state->rows, 11);
}

TEST(LedgerTest, RetriesAFailedBatch) {
  auto state = std::make_shared<FakeState>();
  state->fail_next = 2;
  auto ledger = Ledger::Open(LedgerConfig{}, std::make_unique<FakeSink>(state));
  ASSERT_TRUE(ledger) << ledger.error().message;
  for (int i = 0; i < 7; ++i) (*ledger)->Record(MakeRow(i));
  EXPECT_TRUE((*ledger)->Flush());
  EXPECT_EQ(state->rows, 7);
  EXPECT_EQ((*ledger)->Stats().written, 7);
}

TEST(LedgerTest, ShutdownGivesUpOnADeadSinkQuickly) {
  auto state = std::make_shared<FakeState>();
  state->fail_next = -1;  // fails forever
  state->blocked = true;
  {
    auto ledger = Ledger::Open(LedgerConfig{}, std::make_unique<FakeSink>(state));
    ASSERT_TRUE(ledger) << ledger.error().message;
    (*ledger)->Record(MakeRow(0));
    {
      std::unique_lock lock(state->mu);
      state->cv.wait(lock, [&] { return state->calls == 1; });
      state->blocked = false;
    }
    state->cv.notify_all();
    const auto start = std::chrono::steady_clock::now();
    ledger->reset();
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  }
  EXPECT_EQ(state->rows, 0);
  EXPECT_GE(state->calls, 1);
}

TEST(LedgerTest, DisabledLedgerIgnoresRows) {
  LedgerConfig config;
  config.enabled = false;
  config.path = FreshPath("disabled.db");
  auto ledger = Ledger::Open(config);
  ASSERT_TRUE(ledger) << ledger.error().message;
  (*ledger)->Record(MakeRow(0));
  EXPECT_TRUE((*ledger)->Flush());
  EXPECT_EQ((*ledger)->Stats().recorded, 0);
  EXPECT_FALSE(std::filesystem::exists(config.path));
}

TEST(LedgerTest, OpenFailsCleanly) {
  LedgerConfig config = SqliteConfig("/nonexistent-dir/ledger.db");
  auto ledger = Ledger::Open(config);
  ASSERT_FALSE(ledger);
  EXPECT_NE(ledger.error().message.find("/nonexistent-dir/ledger.db"), std::string::npos)
      << ledger.error().message;
  config = SqliteConfig(FreshPath("bad_interval.db"));
  config.flush_interval_ms = 201;
  EXPECT_FALSE(Ledger::Open(config));
}

}  // namespace
}  // namespace hybridgate::ledger
