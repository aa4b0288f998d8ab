#include "dashboard/ledger_reader.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <charconv>
#include <chrono>
#include <cstdlib>

#include "common/pg_session.h"
#include "ledger/sink.h"

namespace hybridgate::dashboard {
namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

std::string LedgerReader::Refusal() const {
  if (Stopped()) return "the gateway is stopping";
  if (Clock::now() >= deadline_) return "no answer within the call's time";
  return "";
}

namespace {

class SqliteReader final : public LedgerReader {
 public:
  SqliteReader(std::string path, int timeout_ms)
      : path_(std::move(path)), timeout_ms_(timeout_ms) {}
  ~SqliteReader() override { sqlite3_close(db_); }

  std::string_view backend() const override { return "sqlite"; }

  Result<std::vector<Cells>> Query(std::string_view sql, std::span<const int64_t> params,
                                   size_t max_rows) override {
    std::vector<Cells> rows;
    if (const std::string why = Refusal(); !why.empty()) {
      return Fail(MakeError(ErrorCode::kUnavailable, "dashboard: ledger: sqlite: " + why));
    }
    if (db_ == nullptr) {
      // Read-only: the dashboard never creates the file, and a missing one is an empty ledger.
      if (sqlite3_open_v2(path_.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
        sqlite3_close(db_);
        db_ = nullptr;
        return rows;
      }
      sqlite3_busy_timeout(db_, timeout_ms_);
      sqlite3_progress_handler(db_, 10000, &SqliteReader::Progress, this);
    }
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr) !=
        SQLITE_OK) {
      std::string why = sqlite3_errmsg(db_);
      sqlite3_close(db_);  // reopened next time: the file may have been created since
      db_ = nullptr;
      // Before the gateway's first row the table does not exist: an empty ledger.
      if (why.starts_with("no such table")) return rows;
      return Fail(MakeError(ErrorCode::kUnavailable, "dashboard: ledger: sqlite: " + why));
    }
    for (size_t i = 0; i < params.size(); ++i) {
      sqlite3_bind_int64(stmt, static_cast<int>(i + 1), params[i]);
    }
    statement_deadline_ =
        std::min(deadline_, Clock::now() + std::chrono::milliseconds(timeout_ms_));
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      if (rows.size() == max_rows) {
        sqlite3_finalize(stmt);
        return Fail(
            MakeError(ErrorCode::kInternal,
                      fmt::format("dashboard: a statement returned over {} rows", max_rows)));
      }
      Cells& cells = rows.emplace_back();
      const int n = sqlite3_column_count(stmt);
      for (int c = 0; c < n; ++c) {
        switch (sqlite3_column_type(stmt, c)) {
          case SQLITE_NULL:
            cells.emplace_back();
            break;
          case SQLITE_INTEGER:
            cells.push_back(std::to_string(sqlite3_column_int64(stmt, c)));
            break;
          case SQLITE_FLOAT:
            cells.push_back(fmt::format("{}", sqlite3_column_double(stmt, c)));
            break;
          default:
            cells.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(stmt, c)),
                               static_cast<size_t>(sqlite3_column_bytes(stmt, c)));
        }
      }
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) {
      const std::string why = rc != SQLITE_INTERRUPT ? std::string(sqlite3_errmsg(db_))
                              : Stopped()            ? std::string("the gateway is stopping")
                                          : fmt::format("no answer within {} ms", timeout_ms_);
      return Fail(MakeError(ErrorCode::kUnavailable, "dashboard: ledger: sqlite: " + why));
    }
    return rows;
  }

 private:
  static int Progress(void* self) {
    const auto* r = static_cast<SqliteReader*>(self);
    return Clock::now() > r->statement_deadline_ || r->Stopped() ? 1 : 0;
  }

  const std::string path_;
  const int timeout_ms_;
  sqlite3* db_ = nullptr;
  Clock::time_point statement_deadline_{};
};

class PostgresReader final : public LedgerReader {
 public:
  PostgresReader(std::string dsn, int timeout_ms)
      : session_(std::move(dsn), "dashboard: ledger: postgres", timeout_ms) {}

  std::string_view backend() const override { return "postgres"; }

  Result<std::vector<Cells>> Query(std::string_view sql, std::span<const int64_t> params,
                                   size_t max_rows) override {
    // "?N" -> "$N": the statements are written in SQLite's form.
    std::string text(sql);
    for (size_t i = 0; i + 1 < text.size(); ++i) {
      if (text[i] == '?' && text[i + 1] >= '1' && text[i + 1] <= '9') text[i] = '$';
    }
    if (const std::string why = Refusal(); !why.empty()) {
      return Fail(MakeError(ErrorCode::kUnavailable, "dashboard: ledger: postgres: " + why));
    }
    std::vector<PgParam> values;
    values.reserve(params.size());
    for (int64_t p : params) values.emplace_back(p);
    auto r = session_.Run("read", text.c_str(), values);
    std::vector<Cells> rows;
    if (!r) {
      // Before the gateway's first row the table does not exist: an empty ledger.
      if (r.error().message.find("does not exist") != std::string::npos) return rows;
      return Fail(r.error());
    }
    const int n = PQntuples(r->get());
    if (static_cast<size_t>(n) > max_rows) {
      return Fail(MakeError(ErrorCode::kInternal,
                            fmt::format("dashboard: a statement returned over {} rows", max_rows)));
    }
    const int cols = PQnfields(r->get());
    rows.resize(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
      for (int c = 0; c < cols; ++c)
        rows[static_cast<size_t>(i)].push_back(PgSession::Text(*r, i, c));
    }
    return rows;
  }

 private:
  PgSession session_;
};

}  // namespace

std::unique_ptr<LedgerReader> OpenLedgerReader(const std::string& source, int timeout_ms) {
  if (ledger::IsPostgresDsn(source)) return std::make_unique<PostgresReader>(source, timeout_ms);
  return std::make_unique<SqliteReader>(source, timeout_ms);
}

int64_t CellInt(const std::string& cell) {
  int64_t v = 0;
  const char* end = cell.data() + cell.size();
  auto [p, ec] = std::from_chars(cell.data(), end, v);
  if (ec == std::errc() && p != end && *p == '.') return static_cast<int64_t>(CellDouble(cell));
  return ec == std::errc() ? v : 0;
}

double CellDouble(const std::string& cell) {
  if (cell.empty()) return 0;
  char* end = nullptr;
  const double v = std::strtod(cell.c_str(), &end);
  return end == cell.c_str() ? 0 : v;
}

}  // namespace hybridgate::dashboard
