#include "gateway/response_store.h"

#include <fmt/format.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdlib>
#include <vector>

#include "common/pg_session.h"
#include "common/run_on.h"
#include "gateway/request_log.h"

namespace hybridgate::gateway {

namespace asio = boost::asio;

namespace {

int64_t NowS() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Error StoreError(std::string message) {
  return MakeError(ErrorCode::kUnavailable, "response store: " + std::move(message));
}

// One prepared statement, finalized on scope exit.
struct Stmt {
  sqlite3_stmt* s = nullptr;
  Stmt(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) != SQLITE_OK) s = nullptr;
  }
  ~Stmt() { sqlite3_finalize(s); }
  void Text(int i, const std::string& v) {
    sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
  }
  void Int(int i, int64_t v) { sqlite3_bind_int64(s, i, v); }
  std::string Col(int i) {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(s, i))) : std::string();
  }
};

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS responses (
  id TEXT PRIMARY KEY,
  key_id TEXT NOT NULL,
  data_class INTEGER NOT NULL,
  model TEXT NOT NULL,
  history TEXT NOT NULL,
  input_items TEXT NOT NULL,
  output_items TEXT NOT NULL,
  response TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS responses_created ON responses(created_at);
)sql";

// Joins JSON arrays' elements into one array.
void AppendArray(std::string& out, std::string_view array) {
  if (array.size() < 2) return;
  std::string_view inner = array.substr(1, array.size() - 2);
  if (inner.find_first_not_of(" \t\r\n") == std::string_view::npos) return;
  if (out.size() > 1) out += ',';
  out += inner;
}

}  // namespace

namespace {

// SQLite: one file, WAL.
class SqliteBackend final : public ResponseStore::Backend {
 public:
  explicit SqliteBackend(sqlite3* db) : db_(db) {}
  ~SqliteBackend() override { sqlite3_close(db_); }

  static Result<std::unique_ptr<ResponseStore::Backend>> Open(const std::string& path) {
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(path.c_str(), &db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        nullptr) != SQLITE_OK) {
      std::string m = db ? sqlite3_errmsg(db) : "out of memory";
      sqlite3_close(db);
      return Fail(StoreError(fmt::format("cannot open '{}': {}", path, m)));
    }
    sqlite3_busy_timeout(db, 5000);
    char* err = nullptr;
    if (sqlite3_exec(db, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr) != SQLITE_OK ||
        sqlite3_exec(db, kSchema, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string m = err ? err : sqlite3_errmsg(db);
      sqlite3_free(err);
      sqlite3_close(db);
      return Fail(StoreError(fmt::format("'{}': {}", path, m)));
    }
    return std::unique_ptr<ResponseStore::Backend>(new SqliteBackend(db));
  }

  void Save(const ResponseStore::Row& row) override {
    Stmt st(db_,
            "INSERT OR REPLACE INTO responses (id, key_id, data_class, model, history, "
            "input_items, output_items, response, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
            "?7, ?8, ?9)");
    if (!st.s) return LogError(fmt::format("response store: {}", sqlite3_errmsg(db_)));
    st.Text(1, row.id);
    st.Text(2, row.key_id);
    st.Int(3, row.data_class);
    st.Text(4, row.model);
    st.Text(5, row.history);
    st.Text(6, row.input_items);
    st.Text(7, row.output_items);
    st.Text(8, row.response);
    st.Int(9, row.created_at);
    if (sqlite3_step(st.s) != SQLITE_DONE) {
      LogError(fmt::format("response store: saving {}: {}", row.id, sqlite3_errmsg(db_)));
    }
  }

  Result<std::optional<ResponseStore::Row>> Get(const std::string& id, const std::string& key_id,
                                                int64_t not_before) override {
    Stmt st(db_,
            "SELECT data_class, model, history, input_items, output_items, response, created_at "
            "FROM responses WHERE id = ?1 AND key_id = ?2 AND created_at >= ?3");
    if (!st.s) return Fail(StoreError(sqlite3_errmsg(db_)));
    st.Text(1, id);
    st.Text(2, key_id);
    st.Int(3, not_before);
    const int rc = sqlite3_step(st.s);
    if (rc == SQLITE_DONE) return std::nullopt;
    if (rc != SQLITE_ROW) return Fail(StoreError(sqlite3_errmsg(db_)));
    ResponseStore::Row r;
    r.id = id;
    r.key_id = key_id;
    r.data_class = sqlite3_column_int(st.s, 0);
    r.model = st.Col(1);
    r.history = st.Col(2);
    r.input_items = st.Col(3);
    r.output_items = st.Col(4);
    r.response = st.Col(5);
    r.created_at = sqlite3_column_int64(st.s, 6);
    return r;
  }

  Result<bool> Delete(const std::string& id, const std::string& key_id) override {
    Stmt st(db_, "DELETE FROM responses WHERE id = ?1 AND key_id = ?2");
    if (!st.s) return Fail(StoreError(sqlite3_errmsg(db_)));
    st.Text(1, id);
    st.Text(2, key_id);
    if (sqlite3_step(st.s) != SQLITE_DONE) return Fail(StoreError(sqlite3_errmsg(db_)));
    return sqlite3_changes(db_) > 0;
  }

  void Purge(int64_t before) override {
    Stmt st(db_, "DELETE FROM responses WHERE created_at < ?1");
    if (!st.s) return;
    st.Int(1, before);
    sqlite3_step(st.s);
  }

 private:
  sqlite3* db_;
};

// PostgreSQL: one table every replica shares. A lost connection is reopened on the next
// operation, and every call waits at most kTimeoutMs (common/pg_session.h): requests wait on
// this store, and a database that hangs must cost them an error, not their connection.
class PostgresBackend final : public ResponseStore::Backend {
 public:
  static constexpr int kTimeoutMs = 5000;
  explicit PostgresBackend(std::string dsn)
      : session_(std::move(dsn), "response store: postgres", kTimeoutMs, [](PgSession& s) {
          auto created = s.RunScript("schema", kPgSchema);
          if (!created) return Status(Fail(std::move(created.error())));
          return Status();
        }) {}

  Status Connect() { return session_.Connect(); }

  void Save(const ResponseStore::Row& row) override {
    (void)Run(
        "INSERT INTO hybridgate_responses (id, key_id, data_class, model, history, input_items, "
        "output_items, response, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
        "ON CONFLICT (id) DO UPDATE SET key_id = EXCLUDED.key_id, data_class = "
        "EXCLUDED.data_class, model = EXCLUDED.model, history = EXCLUDED.history, input_items = "
        "EXCLUDED.input_items, output_items = EXCLUDED.output_items, response = "
        "EXCLUDED.response, created_at = EXCLUDED.created_at",
        {row.id, row.key_id, row.data_class, row.model, row.history, row.input_items,
         row.output_items, row.response, row.created_at},
        [](const PgRows&) {});
  }

  Result<std::optional<ResponseStore::Row>> Get(const std::string& id, const std::string& key_id,
                                                int64_t not_before) override {
    std::optional<ResponseStore::Row> out;
    HG_TRY(
        Run("SELECT data_class, model, history, input_items, output_items, response, created_at "
            "FROM hybridgate_responses WHERE id = $1 AND key_id = $2 AND created_at >= $3",
            {id, key_id, not_before}, [&](const PgRows& r) {
              if (PQntuples(r.get()) != 1) return;
              ResponseStore::Row row;
              row.id = id;
              row.key_id = key_id;
              row.data_class = static_cast<int>(PgSession::Int(r, 0, 0));
              row.model = PgSession::Text(r, 0, 1);
              row.history = PgSession::Text(r, 0, 2);
              row.input_items = PgSession::Text(r, 0, 3);
              row.output_items = PgSession::Text(r, 0, 4);
              row.response = PgSession::Text(r, 0, 5);
              row.created_at = PgSession::Int(r, 0, 6);
              out = std::move(row);
            }));
    return out;
  }

  Result<bool> Delete(const std::string& id, const std::string& key_id) override {
    bool deleted = false;
    HG_TRY(Run("DELETE FROM hybridgate_responses WHERE id = $1 AND key_id = $2", {id, key_id},
               [&](const PgRows& r) { deleted = std::atoi(PQcmdTuples(r.get())) > 0; }));
    return deleted;
  }

  void Purge(int64_t before) override {
    (void)Run("DELETE FROM hybridgate_responses WHERE created_at < $1", {before},
              [](const PgRows&) {});
  }

 private:
  static constexpr const char* kPgSchema =
      "CREATE TABLE IF NOT EXISTS hybridgate_responses (id TEXT PRIMARY KEY, key_id TEXT NOT "
      "NULL, data_class INTEGER NOT NULL, model TEXT NOT NULL, history TEXT NOT NULL, "
      "input_items TEXT NOT NULL, output_items TEXT NOT NULL, response TEXT NOT NULL, "
      "created_at BIGINT NOT NULL); CREATE INDEX IF NOT EXISTS hybridgate_responses_created ON "
      "hybridgate_responses(created_at)";

  // Runs one statement (once more on a fresh connection when the first had broken, not after a
  // timeout); `use` gets the result when it succeeded; a failure is logged and returned.
  template <typename Use>
  Status Run(const char* sql, const std::vector<PgParam>& params, Use use) {
    for (int attempt = 0;; ++attempt) {
      auto r = session_.Run("statement", sql, params);
      if (r) {
        use(*r);
        return {};
      }
      if (attempt > 0 || session_.timed_out() || session_.connected()) {
        LogError(r.error().message);
        return Fail(std::move(r.error()));
      }
    }
  }

  PgSession session_;
};

}  // namespace

Result<std::unique_ptr<ResponseStore>> ResponseStore::Open(const config::ResponsesConfig& config,
                                                           const std::string& path) {
  std::unique_ptr<Backend> backend;
  if (config.backend == "postgres") {
    std::string dsn = config.dsn;
    if (dsn.empty() && !config.dsn_env.empty()) {
      if (const char* v = std::getenv(config.dsn_env.c_str())) dsn = v;
    }
    if (dsn.empty()) {
      return Fail(StoreError("backend postgres needs `dsn` or a set `dsn_env` variable"));
    }
    auto pg = std::make_unique<PostgresBackend>(std::move(dsn));
    if (auto s = pg->Connect(); !s) return Fail(std::move(s.error()));
    backend = std::move(pg);
  } else {
    auto lite = SqliteBackend::Open(path);
    if (!lite) return Fail(std::move(lite.error()));
    backend = std::move(*lite);
  }
  return std::unique_ptr<ResponseStore>(new ResponseStore(std::move(backend), config));
}

ResponseStore::ResponseStore(std::unique_ptr<Backend> backend,
                             const config::ResponsesConfig& config)
    : backend_(std::move(backend)),
      retention_s_(config.retention_days * 86400),
      max_pending_(config.max_pending) {}

ResponseStore::~ResponseStore() {
  Close();  // runs what was queued (saves included) first
}

std::string ResponseStore::Conversation(const Row& row) {
  std::string out = "[";
  AppendArray(out, row.history);
  AppendArray(out, row.input_items);
  AppendArray(out, row.output_items);
  out += ']';
  return out;
}

bool ResponseStore::Enter() {
  if (pending_.fetch_add(1, std::memory_order_relaxed) >= max_pending_) {
    Leave();
    return false;
  }
  return true;
}

void ResponseStore::Save(Row row, Slot& slot) {
  if (slot.store_ != this) return;
  slot.store_ = nullptr;  // the queued save leaves the count when it has run
  asio::post(thread_, [this, row = std::move(row)] {
    SaveNow(row);
    Leave();
  });
}

asio::awaitable<Result<std::optional<ResponseStore::Row>>> ResponseStore::Get(
    std::string_view id, std::string_view key_id) {
  if (!Enter()) co_return Fail(StoreError("too many operations queued"));
  auto row = co_await RunOn<Result<std::optional<Row>>>(
      thread_, [this, id, key_id] { return GetNow(std::string(id), std::string(key_id)); });
  Leave();
  co_return row;
}

asio::awaitable<Result<bool>> ResponseStore::Delete(std::string_view id, std::string_view key_id) {
  if (!Enter()) co_return Fail(StoreError("too many operations queued"));
  auto deleted = co_await RunOn<Result<bool>>(
      thread_, [this, id, key_id] { return DeleteNow(std::string(id), std::string(key_id)); });
  Leave();
  co_return deleted;
}

asio::awaitable<void> ResponseStore::Committed() {
  // The store's one thread runs in order: when this runs, everything before it has.
  co_await RunOn<bool>(thread_, [] { return true; });
}

void ResponseStore::SaveNow(const Row& row) {
  PurgeIfDue();
  if (row.created_at != 0) return backend_->Save(row);
  Row stamped = row;
  stamped.created_at = NowS();
  backend_->Save(stamped);
}

Result<std::optional<ResponseStore::Row>> ResponseStore::GetNow(const std::string& id,
                                                                const std::string& key_id) {
  return backend_->Get(id, key_id, NowS() - retention_s_);
}

Result<bool> ResponseStore::DeleteNow(const std::string& id, const std::string& key_id) {
  return backend_->Delete(id, key_id);
}

void ResponseStore::PurgeIfDue() {
  const int64_t now = NowS();
  if (now < next_purge_) return;
  next_purge_ = now + 3600;
  backend_->Purge(now - retention_s_);
}

}  // namespace hybridgate::gateway
