// The dashboard's data API on a large ledger: generates N rows (default 1,000,000, spread evenly
// over 30 days, the ledger test's varied row shapes) into a SQLite file — or a PostgreSQL DSN —
// through the ledger's own sink, then times GET /admin/api/overview and /protection's documents
// (dashboard/data_api.h) for windows of 1h, 24h, 7d and 30d, as the dashboard serves them: from
// the rows it holds in memory (row_cache.h; each call first reads what was committed since the
// last, as the dashboard does), and, for comparison, straight from the ledger's SQL. p50 and p95
// of R runs each (S for the SQL, which takes seconds on the long windows). The same-run baseline
// is the cheapest statement that still reads the window, a COUNT(*) over it.
//
// usage: dashboard_bench [--rows N] [--runs R] [--sql-runs S] [--ledger FILE|DSN]
//   (a FILE that already holds N rows is reused, not regenerated)
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "dashboard/data_api.h"
#include "dashboard/ledger_reader.h"
#include "dashboard/row_cache.h"
#include "ledger/sink.h"
#include "ledger/test_util.h"

namespace {

using namespace hybridgate;
using Clock = std::chrono::steady_clock;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

struct Stats {
  double p50 = 0, p95 = 0;
};

template <class F>
Stats Time(int runs, F&& f) {
  std::vector<double> ms;
  if (runs <= 0) return {};
  for (int i = 0; i < runs; ++i) {
    const auto start = Clock::now();
    f();
    ms.push_back(Ms(Clock::now() - start));
  }
  std::sort(ms.begin(), ms.end());
  auto at = [&](int p) {
    const size_t rank = std::max<size_t>(1, (p * ms.size() + 99) / 100);
    return ms[std::min(rank, ms.size()) - 1];
  };
  return {at(50), at(95)};
}

}  // namespace

int main(int argc, char** argv) {
  int64_t rows = 1'000'000;
  int runs = 50, sql_runs = 3;
  std::string ledger = "/tmp/hybridgate-dashboard-bench.db";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--rows")) rows = std::atoll(argv[i + 1]);
    if (!std::strcmp(argv[i], "--runs")) runs = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--sql-runs")) sql_runs = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--ledger")) ledger = argv[i + 1];
  }
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  constexpr int64_t k30Days = 30LL * 86'400'000;
  auto reader = dashboard::OpenLedgerReader(ledger, 60'000);
  const std::array<int64_t, 2> all = {0, INT64_MAX};
  auto have =
      reader->Query("SELECT COUNT(*) FROM requests WHERE time_ms >= ?1 AND time_ms < ?2", all, 1);
  const int64_t present = have && !have->empty() ? dashboard::CellInt((*have)[0][0]) : 0;
  if (present != rows) {
    if (!ledger::IsPostgresDsn(ledger)) {
      for (const char* s : {"", "-wal", "-shm"}) std::filesystem::remove(ledger + s);
    }
    std::fprintf(stderr, "generating %lld rows into %s ...\n", static_cast<long long>(rows),
                 ledger.c_str());
    auto sink = ledger::IsPostgresDsn(ledger) ? ledger::OpenPostgresSink(ledger)
                                              : ledger::OpenSqliteSink(ledger);
    if (!sink) {
      std::fprintf(stderr, "%s\n", sink.error().message.c_str());
      return 1;
    }
    std::mt19937_64 rng(42);
    std::vector<ledger::Row> batch;
    for (int64_t i = 0; i < rows; ++i) {
      ledger::Row r = ledger::testing::MakeRow(i, &rng);
      r.time_ms = now - k30Days + i * (k30Days / rows);  // oldest first, as a ledger grows
      batch.push_back(std::move(r));
      if (batch.size() == 10'000 || i + 1 == rows) {
        if (auto st = (*sink)->Write(batch); !st) {
          std::fprintf(stderr, "%s\n", st.error().message.c_str());
          return 1;
        }
        batch.clear();
      }
    }
    reader = dashboard::OpenLedgerReader(ledger, 60'000);
  }
  dashboard::RowCache cache;
  const auto load_start = Clock::now();
  if (auto st = cache.Refresh(*reader, now); !st) {
    std::fprintf(stderr, "%s\n", st.error().message.c_str());
    return 1;
  }
  const double load_ms = Ms(Clock::now() - load_start);
  std::printf(
      "ledger: %s, %lld rows over 30 days (%lld a day); first read into memory: %.0f ms "
      "(%zu rows); %d runs a cell from memory, %d from SQL\n",
      reader->backend().data(), static_cast<long long>(rows), static_cast<long long>(rows / 30),
      load_ms, cache.rows(), runs, sql_runs);
  std::printf("%-6s %8s %16s %18s %18s %18s %18s\n", "window", "rows", "COUNT(*) p50/p95",
              "overview mem", "protection mem", "overview SQL", "protection SQL");
  for (const char* label : {"1h", "24h", "7d", "30d"}) {
    auto w = dashboard::ParseWindow(label, now);
    const std::array<int64_t, 2> span = {w->since_ms, w->until_ms};
    int64_t n = 0;
    const Stats base = Time(runs, [&] {
      auto r = reader->Query("SELECT COUNT(*) FROM requests WHERE time_ms >= ?1 AND time_ms < ?2",
                             span, 1);
      n = r && !r->empty() ? dashboard::CellInt((*r)[0][0]) : -1;
    });
    bool ok = cache.Covers(w->since_ms);
    const Stats mem_overview = Time(runs, [&] {
      ok = ok && cache.Refresh(*reader, now).has_value();
      std::string doc =
          dashboard::RenderOverview(cache.MakeOverview(*w, now), *w, "sqlite", "memory");
      ok = ok && !doc.empty();
    });
    const Stats mem_protection = Time(runs, [&] {
      ok = ok && cache.Refresh(*reader, now).has_value();
      std::string doc =
          dashboard::RenderProtection(cache.MakeProtection(*w), *w, "sqlite", "memory");
      ok = ok && !doc.empty();
    });
    const Stats sql_overview =
        Time(sql_runs, [&] { ok = ok && dashboard::OverviewJson(*reader, *w, now).has_value(); });
    const Stats sql_protection =
        Time(sql_runs, [&] { ok = ok && dashboard::ProtectionJson(*reader, *w).has_value(); });
    auto cell = [](const Stats& s) { return fmt::format("{:.1f}/{:.1f}", s.p50, s.p95); };
    std::printf("%-6s %8lld %16s %18s %18s %18s %18s%s\n", label, static_cast<long long>(n),
                cell(base).c_str(), cell(mem_overview).c_str(), cell(mem_protection).c_str(),
                cell(sql_overview).c_str(), cell(sql_protection).c_str(),
                ok ? "" : "  (a call FAILED)");
  }
  return 0;
}
