// The PostgreSQL backend (the shared sink for multi-replica deployments): each batch is one
// transaction of multi-row INSERTs with text parameters, so no value is ever spliced into SQL.
// Replicas sharing the table take a transaction-scoped advisory lock before they read the chain's
// tail, so their batches chain one after another rather than fork.
#include <fmt/format.h>
#include <libpq-fe.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <set>
#include <type_traits>

#include "ledger/chain.h"
#include "ledger/schema.h"
#include "ledger/sink.h"

namespace hybridgate::ledger {
namespace {

// 31 columns x 2000 rows = 62,000 parameters, under libpq's limit of 65,535 per statement.
constexpr size_t kRowsPerStatement = 2000;
static_assert(kColumnCount * kRowsPerStatement <= 65'535);
// Serialises schema creation between replicas starting at once ("HGLEDGER" as an integer).
constexpr int64_t kSchemaLockId = 0x48474c4544474552;
// Serialises the replicas' batches, so that each chains after the last committed one ("HGCHAIN").
constexpr int64_t kChainLockId = 0x484743484149;

struct ConnCloser {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct ResultClearer {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ConnPtr = std::unique_ptr<PGconn, ConnCloser>;
using PgResult = std::unique_ptr<PGresult, ResultClearer>;

Error PgError(PGconn* conn, std::string_view what) {
  std::string msg = conn ? PQerrorMessage(conn) : "out of memory";
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  std::replace(msg.begin(), msg.end(), '\n', ' ');  // libpq's messages span lines; logs do not
  return MakeError(ErrorCode::kUpstreamUnavailable, fmt::format("postgres: {}: {}", what, msg));
}

// Connects with a 5 s connect timeout unless the DSN sets its own.
Result<ConnPtr> Connect(const std::string& dsn) {
  const char* keys[] = {"connect_timeout", "dbname", nullptr};
  const char* values[] = {"5", dsn.c_str(), nullptr};
  ConnPtr conn(PQconnectdbParams(keys, values, /*expand_dbname=*/1));
  if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
    return Fail(PgError(conn.get(), "cannot connect"));
  }
  // Server notices ("relation ... already exists, skipping") go to the log, not raw to stderr.
  PQsetNoticeProcessor(
      conn.get(),
      [](void*, const char* message) {
        std::string_view m(message);
        while (!m.empty() && m.back() == '\n') m.remove_suffix(1);
        spdlog::debug("postgres: {}", m);
      },
      nullptr);
  return conn;
}

Status Exec(PGconn* conn, const std::string& sql) {
  PgResult r(PQexec(conn, sql.c_str()));
  const ExecStatusType st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    return Fail(PgError(conn, sql.substr(0, sql.find_first_of("(\n"))));
  }
  return {};
}

// The requests table's column names (in the connection's current schema); empty when absent.
Result<std::set<std::string, std::less<>>> TableColumns(PGconn* conn) {
  const std::string table(kTable);
  const char* params[] = {table.c_str()};
  PgResult r(PQexecParams(conn,
                          "SELECT column_name FROM information_schema.columns WHERE "
                          "table_schema = current_schema() AND table_name = $1",
                          1, nullptr, params, nullptr, nullptr, 0));
  if (!r || PQresultStatus(r.get()) != PGRES_TUPLES_OK) return Fail(PgError(conn, "columns"));
  std::set<std::string, std::less<>> names;
  for (int i = 0; i < PQntuples(r.get()); ++i) names.emplace(PQgetvalue(r.get(), i, 0));
  return names;
}

Status CreateSchema(PGconn* conn) {
  HG_TRY(Exec(conn, "BEGIN"));
  auto body = [&]() -> Status {
    HG_TRY(Exec(conn, fmt::format("SELECT pg_advisory_xact_lock({})", kSchemaLockId)));
    HG_TRY(Exec(conn, CreateTableSql(Dialect::kPostgres)));
    PgResult r(PQexec(conn, "SELECT coalesce(max(version), 0) FROM schema_version"));
    if (!r || PQresultStatus(r.get()) != PGRES_TUPLES_OK) return Fail(PgError(conn, "version"));
    const int version = std::atoi(PQgetvalue(r.get(), 0, 0));
    if (version > kSchemaVersion) {
      return Fail(MakeError(ErrorCode::kInternal,
                            fmt::format("ledger schema version {} is newer than this build's {}",
                                        version, kSchemaVersion)));
    }
    // Version 1 -> 2: the residency and hash-chain columns; old rows are numbered by time.
    auto columns = TableColumns(conn);
    if (!columns) return Fail(columns.error());
    for (const std::string& sql : AddMissingColumnsSql(Dialect::kPostgres, *columns)) {
      HG_TRY(Exec(conn, sql));
    }
    if (!columns->contains("seq")) {
      HG_TRY(Exec(conn, fmt::format("UPDATE {0} SET seq = o.n FROM (SELECT ctid AS c, "
                                    "row_number() OVER (ORDER BY time_ms) AS n FROM {0}) o "
                                    "WHERE {0}.ctid = o.c",
                                    kTable)));
    }
    HG_TRY(Exec(conn, IndexSql()));
    if (version < kSchemaVersion) {
      HG_TRY(Exec(conn,
                  fmt::format("DELETE FROM schema_version; INSERT INTO schema_version VALUES ({})",
                              kSchemaVersion)));
    }
    return {};
  };
  if (Status s = body(); !s) {
    Exec(conn, "ROLLBACK");
    return s;
  }
  return Exec(conn, "COMMIT");
}

class PostgresSink final : public Sink {
 public:
  PostgresSink(std::string dsn, ConnPtr conn) : dsn_(std::move(dsn)), conn_(std::move(conn)) {}

  Status Write(std::span<Row> rows) override {
    if (!conn_ || PQstatus(conn_.get()) != CONNECTION_OK) {
      conn_.reset();
      auto conn = Connect(dsn_);
      if (!conn) return Fail(conn.error());
      conn_ = std::move(*conn);
    }
    PGconn* conn = conn_.get();
    HG_TRY(Exec(conn, "BEGIN"));
    Result<ChainTail> tail = LockAndReadTail(conn);
    if (!tail) {
      Exec(conn, "ROLLBACK");
      return Fail(tail.error());
    }
    ChainRows(rows, *tail);
    for (size_t at = 0; at < rows.size(); at += kRowsPerStatement) {
      const auto chunk = rows.subspan(at, std::min(kRowsPerStatement, rows.size() - at));
      if (Status s = InsertChunk(chunk); !s) {
        Exec(conn, "ROLLBACK");
        return s;
      }
    }
    return Exec(conn, "COMMIT");
  }

  std::string_view Name() const override { return "postgres"; }

  Result<HeadRead> ReadHead(int64_t seq) override {
    if (!conn_ || PQstatus(conn_.get()) != CONNECTION_OK) {
      conn_.reset();
      auto conn = Connect(dsn_);
      if (!conn) return Fail(conn.error());
      conn_ = std::move(*conn);
    }
    PGconn* conn = conn_.get();
    const std::string sql = fmt::format(
        "SELECT (SELECT hash FROM {0} WHERE seq = {1}), (SELECT coalesce(max(seq), 0) FROM {0})",
        kTable, seq);
    PgResult r(PQexec(conn, sql.c_str()));
    if (!r || PQresultStatus(r.get()) != PGRES_TUPLES_OK || PQntuples(r.get()) != 1) {
      return Fail(PgError(conn, "anchor row"));
    }
    HeadRead out;
    if (!PQgetisnull(r.get(), 0, 0)) out.hash_at_seq = PQgetvalue(r.get(), 0, 0);
    out.head_seq = std::strtoll(PQgetvalue(r.get(), 0, 1), nullptr, 10);
    return out;
  }

 private:
  // Read committed: once the lock is held, the SELECT sees every batch committed before it.
  static Result<ChainTail> LockAndReadTail(PGconn* conn) {
    HG_TRY(Exec(conn, fmt::format("SELECT pg_advisory_xact_lock({})", kChainLockId)));
    PgResult r(PQexec(
        conn, fmt::format("SELECT seq, hash FROM {} ORDER BY seq DESC LIMIT 1", kTable).c_str()));
    if (!r || PQresultStatus(r.get()) != PGRES_TUPLES_OK) return Fail(PgError(conn, "chain tail"));
    ChainTail tail;
    if (PQntuples(r.get()) == 1) {
      tail.seq = std::strtoll(PQgetvalue(r.get(), 0, 0), nullptr, 10);
      tail.hash = PQgetvalue(r.get(), 0, 1);
    }
    return tail;
  }

  Status InsertChunk(std::span<const Row> rows) {
    if (rows.size() != statement_rows_) {
      insert_sql_ = InsertSql(Dialect::kPostgres, rows.size());
      statement_rows_ = rows.size();
    }
    // Text values; strings point into `rows`, numbers into `numbers_`.
    numbers_.clear();
    numbers_.reserve(rows.size() * kColumnCount);
    values_.clear();
    for (const Row& row : rows) {
      ForEachField(row, [&](std::string_view, const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>) {
          values_.push_back(v.c_str());
        } else {
          if constexpr (std::is_same_v<T, double>) {
            numbers_.push_back(fmt::format("{}", v));  // shortest text that reads back exactly
          } else {
            numbers_.push_back(std::to_string(static_cast<int64_t>(v)));
          }
          values_.push_back(nullptr);  // patched below: numbers_ may still reallocate
        }
      });
    }
    size_t n = 0;
    for (size_t i = 0; i < values_.size(); ++i) {
      if (values_[i] == nullptr) values_[i] = numbers_[n++].c_str();
    }
    PgResult r(PQexecParams(conn_.get(), insert_sql_.c_str(), static_cast<int>(values_.size()),
                            nullptr, values_.data(), nullptr, nullptr, 0));
    if (!r || PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
      return Fail(PgError(conn_.get(), "insert"));
    }
    return {};
  }

  std::string dsn_;
  ConnPtr conn_;
  std::string insert_sql_;
  size_t statement_rows_ = 0;
  std::vector<std::string> numbers_;
  std::vector<const char*> values_;
};

template <class T>
bool ParseNumber(const char* text, T& out) {
  const char* end = text + std::strlen(text);
  auto [p, ec] = std::from_chars(text, end, out);
  return ec == std::errc() && p == end;
}

}  // namespace

Result<std::unique_ptr<Sink>> OpenPostgresSink(const std::string& dsn) {
  auto conn = Connect(dsn);
  if (!conn) return Fail(conn.error());
  if (Status s = CreateSchema(conn->get()); !s) return Fail(s.error());
  return std::unique_ptr<Sink>(new PostgresSink(dsn, std::move(*conn)));
}

Status ScanPostgresRows(const std::string& dsn, const RowQuery& query, const RowVisitor& visit) {
  auto conn = Connect(dsn);
  if (!conn) return Fail(conn.error());
  PGconn* c = conn->get();
  auto columns = TableColumns(c);
  if (!columns) return Fail(columns.error());
  if (columns->empty()) {
    return Fail(MakeError(
        ErrorCode::kInvalidRequest,
        fmt::format("postgres: not a readable HybridGate ledger: no such table: {}", kTable)));
  }
  const bool has_seq = columns->contains("seq");
  const std::string_view order = query.order == RowOrder::kSeq
                                     ? (has_seq ? "seq" : "time_ms")
                                     : (has_seq ? "time_ms, seq" : "time_ms");
  const std::string sql = fmt::format("SELECT {} FROM {} WHERE time_ms >= $1 ORDER BY {}",
                                      SelectList(*columns), kTable, order);
  const std::string since = std::to_string(query.since_ms);
  const char* params[] = {since.c_str()};
  // Single-row mode: one row in memory at a time, however large the table.
  if (PQsendQueryParams(c, sql.c_str(), 1, nullptr, params, nullptr, nullptr, 0) != 1 ||
      PQsetSingleRowMode(c) != 1) {
    return Fail(PgError(c, "not a readable HybridGate ledger"));
  }
  Status status;
  int64_t index = 0;
  Row row;
  while (PgResult r{PQgetResult(c)}) {
    const ExecStatusType st = PQresultStatus(r.get());
    if (st == PGRES_TUPLES_OK) continue;  // the end of the rows
    if (st != PGRES_SINGLE_TUPLE) {
      if (status) status = Fail(PgError(c, "not a readable HybridGate ledger"));
      continue;  // libpq wants every result consumed
    }
    if (!status) continue;
    ++index;
    int col = 0;
    bool ok = true;
    ForEachField(row, [&](std::string_view, auto& v) {
      using T = std::decay_t<decltype(v)>;
      const char* text = PQgetvalue(r.get(), 0, col++);
      if constexpr (std::is_same_v<T, std::string>) {
        v = text;
      } else if constexpr (std::is_same_v<T, bool>) {
        int64_t x = 0;
        ok = ParseNumber(text, x) && ok;
        v = x != 0;
      } else {
        ok = ParseNumber(text, v) && ok;
      }
    });
    if (!ok) {
      status =
          Fail(MakeError(ErrorCode::kInvalidRequest,
                         fmt::format("postgres: row {} has a value of the wrong type", index)));
      continue;
    }
    status = visit(row);
  }
  return status;
}

Result<std::vector<Row>> LoadPostgresRows(const std::string& dsn, int64_t since_ms) {
  std::vector<Row> rows;
  Status s = ScanPostgresRows(dsn, {.since_ms = since_ms}, [&](const Row& row) -> Status {
    rows.push_back(row);
    return {};
  });
  if (!s) return Fail(s.error());
  return rows;
}

}  // namespace hybridgate::ledger
