// The SQLite backend: prepared INSERTs of kRowsPerInsert rows (then one row at a time for the
// rest of a batch) inside BEGIN IMMEDIATE ... COMMIT, chained after the last committed row.
#include <fmt/format.h>
#include <sqlite3.h>

#include <filesystem>
#include <set>
#include <type_traits>

#include "ledger/chain.h"
#include "ledger/ledger_config.h"
#include "ledger/schema.h"
#include "ledger/sink.h"

namespace hybridgate::ledger {
namespace {

constexpr int kBusyTimeoutMs = 5000;
// Rows per multi-row INSERT. A statement's setup and halt were about a fifth of the writer's
// instructions per row when each row had its own; here they are shared by 16 rows (368
// parameters, far below SQLite's limit). Other sizes were not measured.
constexpr int kRowsPerInsert = 16;

Error SqliteError(sqlite3* db, std::string_view what) {
  return MakeError(ErrorCode::kInternal,
                   fmt::format("sqlite: {}: {}", what, db ? sqlite3_errmsg(db) : "out of memory"));
}

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

Status Exec(sqlite3* db, const std::string& sql) {
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
    return Fail(SqliteError(db, sql.substr(0, sql.find_first_of("(\n"))));
  }
  return {};
}

Result<StmtPtr> Prepare(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v3(db, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) !=
      SQLITE_OK) {
    return Fail(SqliteError(db, "prepare"));
  }
  return StmtPtr(stmt);
}

// Reads the one-row, one-column result of `sql`, or -1 when it returns no row.
Result<int64_t> QueryInt(sqlite3* db, const std::string& sql) {
  auto stmt = Prepare(db, sql);
  if (!stmt) return Fail(stmt.error());
  const int rc = sqlite3_step(stmt->get());
  if (rc == SQLITE_ROW) return sqlite3_column_int64(stmt->get(), 0);
  if (rc == SQLITE_DONE) return int64_t{-1};
  return Fail(SqliteError(db, "query"));
}

// The requests table's column names; empty when there is no such table.
Result<std::set<std::string, std::less<>>> TableColumns(sqlite3* db) {
  auto stmt = Prepare(db, fmt::format("PRAGMA table_info({})", kTable));
  if (!stmt) return Fail(stmt.error());
  std::set<std::string, std::less<>> names;
  int rc;
  while ((rc = sqlite3_step(stmt->get())) == SQLITE_ROW) {
    const auto* name = reinterpret_cast<const char*>(sqlite3_column_text(stmt->get(), 1));
    if (name) names.emplace(name);
  }
  if (rc != SQLITE_DONE) return Fail(SqliteError(db, "table_info"));
  return names;
}

Status CreateSchemaInTransaction(sqlite3* db) {
  HG_TRY(Exec(db, CreateTableSql(Dialect::kSqlite)));
  Result<int64_t> version = QueryInt(db, "SELECT coalesce(max(version), 0) FROM schema_version");
  if (!version) return Fail(version.error());
  if (*version > kSchemaVersion) {
    return Fail(MakeError(ErrorCode::kInternal,
                          fmt::format("ledger schema version {} is newer than this build's {}",
                                      *version, kSchemaVersion)));
  }
  // Version 1 -> 2: the residency and hash-chain columns; old rows keep their order as seq.
  auto columns = TableColumns(db);
  if (!columns) return Fail(columns.error());
  for (const std::string& sql : AddMissingColumnsSql(Dialect::kSqlite, *columns)) {
    HG_TRY(Exec(db, sql));
  }
  if (!columns->contains("seq")) {
    HG_TRY(Exec(db, fmt::format("UPDATE {} SET seq = rowid", kTable)));
  }
  HG_TRY(Exec(db, IndexSql()));
  if (*version < kSchemaVersion) {
    return Exec(db,
                fmt::format("DELETE FROM schema_version; INSERT INTO schema_version VALUES ({})",
                            kSchemaVersion));
  }
  return {};
}

Status CreateSchema(sqlite3* db) {
  HG_TRY(Exec(db, "BEGIN IMMEDIATE"));
  if (Status s = CreateSchemaInTransaction(db); !s) {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    return s;
  }
  return Exec(db, "COMMIT");
}

class SqliteSink final : public Sink {
 public:
  SqliteSink(DbPtr db, StmtPtr insert_one, StmtPtr insert_many, StmtPtr tail)
      : db_(std::move(db)),
        insert_one_(std::move(insert_one)),
        insert_many_(std::move(insert_many)),
        tail_stmt_(std::move(tail)) {}

  Status Write(std::span<Row> rows) override {
    sqlite3* db = db_.get();
    // BEGIN IMMEDIATE takes the write lock, so the tail read here is still the tail at COMMIT.
    HG_TRY(Exec(db, "BEGIN IMMEDIATE"));
    const ChainTail* tail = Tail();
    if (tail == nullptr) {
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      return Fail(SqliteError(db, "chain tail"));
    }
    ChainRows(rows, *tail);
    const std::span<const Row> written = rows;
    while (!rows.empty()) {
      const bool many = rows.size() >= kRowsPerInsert;
      const auto chunk = rows.first(many ? kRowsPerInsert : 1);
      if (Status s = Insert(many ? insert_many_.get() : insert_one_.get(), chunk); !s) {
        sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
        return s;
      }
      rows = rows.subspan(chunk.size());
    }
    if (Status s = Exec(db, "COMMIT"); !s) {
      tail_known_ = false;  // whether it committed is not known
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      return s;
    }
    if (!written.empty()) {
      tail_.seq = written.back().seq;
      tail_.hash = written.back().hash;
      tail_known_ = DataVersion(&tail_version_);
    }
    return {};
  }

  std::string_view Name() const override { return "sqlite"; }

  Result<HeadRead> ReadHead(int64_t seq) override {
    sqlite3* db = db_.get();
    HeadRead out;
    auto hash = Prepare(db, fmt::format("SELECT hash FROM {} WHERE seq = ?1", kTable));
    if (!hash) return Fail(hash.error());
    sqlite3_bind_int64(hash->get(), 1, seq);
    int rc = sqlite3_step(hash->get());
    if (rc == SQLITE_ROW) {
      const auto* h = reinterpret_cast<const char*>(sqlite3_column_text(hash->get(), 0));
      if (h != nullptr) out.hash_at_seq = h;
    } else if (rc != SQLITE_DONE) {
      return Fail(SqliteError(db, "anchor row"));
    }
    auto head = Prepare(db, fmt::format("SELECT coalesce(max(seq), 0) FROM {}", kTable));
    if (!head) return Fail(head.error());
    if (sqlite3_step(head->get()) != SQLITE_ROW) return Fail(SqliteError(db, "last seq"));
    out.head_seq = sqlite3_column_int64(head->get(), 0);
    return out;
  }

 private:
  // The last committed row. This connection's own last commit is remembered, so the table is
  // read only when another connection (another process on the same file) has committed since:
  // SQLite's data version for the file then differs from the one seen after that commit. Null
  // on a read error.
  const ChainTail* Tail() {
    unsigned version = 0;
    if (tail_known_ && DataVersion(&version) && version == tail_version_) return &tail_;
    tail_known_ = false;
    sqlite3_stmt* stmt = tail_stmt_.get();
    const int rc = sqlite3_step(stmt);
    tail_.seq = 0;
    tail_.hash.clear();
    if (rc == SQLITE_ROW) {
      tail_.seq = sqlite3_column_int64(stmt, 0);
      const auto* h = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 1));
      if (h != nullptr) tail_.hash.assign(h, static_cast<size_t>(sqlite3_column_bytes(stmt, 1)));
    }
    sqlite3_reset(stmt);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? &tail_ : nullptr;
  }

  // The file's change counter (SQLITE_FCNTL_DATA_VERSION): it moves with every commit, this
  // connection's or another's, as seen from the current (or last) transaction.
  bool DataVersion(unsigned* version) {
    return sqlite3_file_control(db_.get(), "main", SQLITE_FCNTL_DATA_VERSION, version) == SQLITE_OK;
  }

  // `stmt` inserts exactly rows.size() rows.
  Status Insert(sqlite3_stmt* stmt, std::span<const Row> rows) {
    int index = 0;
    int rc = SQLITE_OK;
    for (const Row& row : rows) {
      ForEachField(row, [&](std::string_view, const auto& v) {
        using T = std::decay_t<decltype(v)>;
        ++index;
        if (rc != SQLITE_OK) return;
        if constexpr (std::is_same_v<T, std::string>) {
          rc = sqlite3_bind_text(stmt, index, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
        } else if constexpr (std::is_same_v<T, double>) {
          rc = sqlite3_bind_double(stmt, index, v);
        } else {
          rc = sqlite3_bind_int64(stmt, index, static_cast<int64_t>(v));
        }
      });
    }
    if (rc != SQLITE_OK) return Fail(SqliteError(db_.get(), "bind"));
    rc = sqlite3_step(stmt);
    // The bound text still points into `rows` after this. It is never read again: every parameter
    // is rebound before the next step (sqlite3_clear_bindings cost ~300 instructions a row).
    sqlite3_reset(stmt);
    if (rc != SQLITE_DONE) return Fail(SqliteError(db_.get(), "insert"));
    return {};
  }

  DbPtr db_;
  StmtPtr insert_one_;
  StmtPtr insert_many_;
  StmtPtr tail_stmt_;
  ChainTail tail_;           // valid while tail_known_
  bool tail_known_ = false;  // tail_ is the last row as of data version tail_version_
  unsigned tail_version_ = 0;
};

}  // namespace

Result<std::unique_ptr<Sink>> OpenSqliteSink(const std::string& path) {
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  DbPtr db(raw);
  if (rc != SQLITE_OK) return Fail(SqliteError(raw, fmt::format("cannot open '{}'", path)));
  sqlite3_busy_timeout(raw, kBusyTimeoutMs);
  auto mode = Prepare(raw, "PRAGMA journal_mode=WAL");
  if (!mode) return Fail(mode.error());
  if (sqlite3_step(mode->get()) != SQLITE_ROW) return Fail(SqliteError(raw, "journal_mode=WAL"));
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(mode->get(), 0));
  if (text == nullptr || std::string_view(text) != "wal") {
    return Fail(MakeError(ErrorCode::kInternal,
                          fmt::format("sqlite: '{}' cannot use WAL mode (journal_mode is {})", path,
                                      text ? text : "unknown")));
  }
  mode->reset();
  if (Status s = Exec(raw, "PRAGMA synchronous=NORMAL"); !s) return Fail(s.error());
  if (Status s = CreateSchema(raw); !s) {
    Error e = s.error();
    e.message = fmt::format("ledger '{}': {}", path, e.message);
    return Fail(std::move(e));
  }
  auto insert_one = Prepare(raw, InsertSql(Dialect::kSqlite, 1));
  if (!insert_one) return Fail(insert_one.error());
  auto insert_many = Prepare(raw, InsertSql(Dialect::kSqlite, kRowsPerInsert));
  if (!insert_many) return Fail(insert_many.error());
  auto tail =
      Prepare(raw, fmt::format("SELECT seq, hash FROM {} ORDER BY seq DESC LIMIT 1", kTable));
  if (!tail) return Fail(tail.error());
  return std::unique_ptr<Sink>(new SqliteSink(std::move(db), std::move(*insert_one),
                                              std::move(*insert_many), std::move(*tail)));
}

Status ScanSqliteRows(const std::string& path, const RowQuery& query, const RowVisitor& visit) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return Fail(MakeError(ErrorCode::kNotFound, fmt::format("ledger '{}': no such file", path)));
  }
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
  DbPtr db(raw);
  auto fail = [&](std::string_view what) {
    return Fail(MakeError(ErrorCode::kInvalidRequest,
                          fmt::format("ledger '{}': {}: {}", path, what,
                                      raw ? sqlite3_errmsg(raw) : "out of memory")));
  };
  if (rc != SQLITE_OK) return fail("cannot open");
  sqlite3_busy_timeout(raw, kBusyTimeoutMs);
  // A file that is not a database fails here ("file is not a database").
  auto columns = TableColumns(raw);
  if (!columns) return fail("not a readable HybridGate ledger");
  if (columns->empty()) {
    return Fail(
        MakeError(ErrorCode::kInvalidRequest,
                  fmt::format("ledger '{}': not a readable HybridGate ledger: no such table: {}",
                              path, kTable)));
  }
  const bool has_seq = columns->contains("seq");
  const std::string_view order = query.order == RowOrder::kSeq
                                     ? (has_seq ? "seq" : "rowid")
                                     : (has_seq ? "time_ms, seq" : "time_ms, rowid");
  auto stmt = Prepare(raw, fmt::format("SELECT {} FROM {} WHERE time_ms >= ?1 ORDER BY {}",
                                       SelectList(*columns), kTable, order));
  if (!stmt) return fail("not a readable HybridGate ledger");
  sqlite3_bind_int64(stmt->get(), 1, query.since_ms);
  Row row;
  int step;
  while ((step = sqlite3_step(stmt->get())) == SQLITE_ROW) {
    int col = 0;
    ForEachField(row, [&](std::string_view, auto& v) {
      using T = std::decay_t<decltype(v)>;
      sqlite3_stmt* s = stmt->get();
      if constexpr (std::is_same_v<T, std::string>) {
        const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, col));
        v.assign(p ? p : "", static_cast<size_t>(sqlite3_column_bytes(s, col)));
      } else if constexpr (std::is_same_v<T, double>) {
        v = sqlite3_column_double(s, col);
      } else if constexpr (std::is_same_v<T, bool>) {
        v = sqlite3_column_int64(s, col) != 0;
      } else {
        v = sqlite3_column_int64(s, col);
      }
      ++col;
    });
    HG_TRY(visit(row));
  }
  if (step != SQLITE_DONE) return fail("read failed");
  return {};
}

Result<std::vector<Row>> LoadSqliteRows(const std::string& path, int64_t since_ms) {
  std::vector<Row> rows;
  Status s = ScanSqliteRows(path, {.since_ms = since_ms}, [&](const Row& row) -> Status {
    rows.push_back(row);
    return {};
  });
  if (!s) return Fail(s.error());
  return rows;
}

Status ScanRows(const std::string& path_or_dsn, const RowQuery& query, const RowVisitor& visit) {
  if (IsPostgresDsn(path_or_dsn)) return ScanPostgresRows(path_or_dsn, query, visit);
  return ScanSqliteRows(path_or_dsn, query, visit);
}

bool IsPostgresDsn(std::string_view source) {
  if (source.starts_with("postgres://") || source.starts_with("postgresql://")) return true;
  // A libpq key=value string starts with one of its connection keywords.
  for (std::string_view key : {"host=", "hostaddr=", "dbname=", "user=", "port=", "service="}) {
    if (source.starts_with(key)) return true;
  }
  return false;
}

Result<std::unique_ptr<Sink>> OpenSink(const LedgerConfig& config) {
  if (config.backend == "postgres") return OpenPostgresSink(config.dsn);
  return OpenSqliteSink(config.path);
}

}  // namespace hybridgate::ledger
