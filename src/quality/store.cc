#include "quality/store.h"

#include <fmt/format.h>
#include <libpq-fe.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <boost/asio/post.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdlib>
#include <future>
#include <span>
#include <stdexcept>
#include <variant>

#include "common/clock.h"
#include "common/pg_session.h"

namespace hybridgate::quality {

namespace asio = boost::asio;

namespace {

using Value = std::variant<int64_t, double, std::string>;
struct Column {
  const char* name;
  Value value;
};

Error StoreError(std::string message) {
  return MakeError(ErrorCode::kUnavailable, "comparison store: " + std::move(message));
}

std::string ScoresJson(const std::vector<Score>& scores) {
  boost::json::array a;
  for (const Score& s : scores) {
    boost::json::object o{{"comparator", s.comparator}, {"value", s.value}, {"detail", s.detail}};
    if (s.cost_usd > 0) o["cost_usd"] = s.cost_usd;
    a.push_back(std::move(o));
  }
  return boost::json::serialize(a);
}

std::vector<Score> ParseScores(const std::string& text) {
  std::vector<Score> out;
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(text, ec);
  if (ec || !v.is_array()) return out;
  for (const auto& e : v.as_array()) {
    if (!e.is_object()) continue;
    const auto& o = e.as_object();
    Score s;
    if (const auto* c = o.if_contains("comparator"); c && c->is_string())
      s.comparator = c->as_string();
    if (const auto* x = o.if_contains("value"); x && x->is_number())
      s.value = x->to_number<double>();
    if (const auto* d = o.if_contains("detail"); d && d->is_string()) s.detail = d->as_string();
    if (const auto* x = o.if_contains("cost_usd"); x && x->is_number()) {
      s.cost_usd = x->to_number<double>();
    }
    out.push_back(std::move(s));
  }
  return out;
}

constexpr const char* kPrimary[10] = {"primary_deployment",    "primary_ok",
                                      "primary_error_code",    "primary_text",
                                      "primary_sha256",        "primary_finish_reason",
                                      "primary_latency_ms",    "primary_input_tokens",
                                      "primary_output_tokens", "primary_cost_usd"};
constexpr const char* kShadow[10] = {"shadow_deployment",    "shadow_ok",
                                     "shadow_error_code",    "shadow_text",
                                     "shadow_sha256",        "shadow_finish_reason",
                                     "shadow_latency_ms",    "shadow_input_tokens",
                                     "shadow_output_tokens", "shadow_cost_usd"};

// The row's columns, in table order; a row kept without texts has "" there and the hashes.
std::vector<Column> Columns(const StoredComparison& r) {
  const Comparison& c = r.comparison;
  std::vector<Column> cols = {
      {"request_id", c.request_id},
      {"time_ms", c.time_ms},
      {"route", c.route},
      {"data_class", int64_t{c.data_class}},
      {"wants_json", int64_t{c.wants_json}},
      {"schema", c.schema.value_or("")},
      {"scores", ScoresJson(c.scores)},
  };
  auto answer = [&](const char* const(&name)[10], const AnswerFacts& a, const std::string& sha) {
    cols.push_back({name[0], a.deployment});
    cols.push_back({name[1], int64_t{a.ok}});
    cols.push_back({name[2], a.error_code});
    cols.push_back({name[3], a.text});
    cols.push_back({name[4], sha});
    cols.push_back({name[5], a.finish_reason});
    cols.push_back({name[6], a.latency_ms});
    cols.push_back({name[7], a.input_tokens});
    cols.push_back({name[8], a.output_tokens});
    cols.push_back({name[9], a.cost_usd});
  };
  answer(kPrimary, c.primary, r.primary_sha256);
  answer(kShadow, c.shadow, r.shadow_sha256);
  // Added after the first schema (kAddedColumns): last, so that a migrated table and a new one
  // have the same column order.
  cols.push_back({"question", c.question});
  cols.push_back({"question_sha256", r.question_sha256});
  cols.push_back({"request_json", c.request_json});
  cols.push_back({"request_sha256", r.request_sha256});
  return cols;
}

// The columns a table created by an older version may lack; Open adds them (all text).
constexpr const char* kAddedColumns[] = {"question", "question_sha256", "request_json",
                                         "request_sha256"};

std::string AddColumnSql(const char* name, bool postgres) {
  return fmt::format("ALTER TABLE comparisons ADD COLUMN {}{} TEXT NOT NULL DEFAULT ''",
                     postgres ? "IF NOT EXISTS " : "", name);
}

// Fills `r` from column `name`'s text (both backends read rows back as text).
void SetColumn(StoredComparison& r, const std::string& name, const std::string& v) {
  Comparison& c = r.comparison;
  auto i64 = [&] { return std::strtoll(v.c_str(), nullptr, 10); };
  if (name == "request_id") c.request_id = v;
  if (name == "time_ms") c.time_ms = i64();
  if (name == "route") c.route = v;
  if (name == "data_class") c.data_class = static_cast<int>(i64());
  if (name == "wants_json") c.wants_json = i64() != 0;
  if (name == "schema" && !v.empty()) c.schema = v;
  if (name == "scores") c.scores = ParseScores(v);
  if (name == "question") c.question = v;
  if (name == "question_sha256") r.question_sha256 = v;
  if (name == "request_json") c.request_json = v;
  if (name == "request_sha256") r.request_sha256 = v;
  for (int side = 0; side < 2; ++side) {
    const std::string p = side == 0 ? "primary_" : "shadow_";
    if (name.rfind(p, 0) != 0) continue;
    AnswerFacts& a = side == 0 ? c.primary : c.shadow;
    const std::string f = name.substr(p.size());
    if (f == "deployment") a.deployment = v;
    if (f == "ok") a.ok = i64() != 0;
    if (f == "error_code") a.error_code = v;
    if (f == "text") a.text = v;
    if (f == "sha256") (side == 0 ? r.primary_sha256 : r.shadow_sha256) = v;
    if (f == "finish_reason") a.finish_reason = v;
    if (f == "latency_ms") a.latency_ms = i64();
    if (f == "input_tokens") a.input_tokens = i64();
    if (f == "output_tokens") a.output_tokens = i64();
    if (f == "cost_usd") a.cost_usd = std::strtod(v.c_str(), nullptr);
  }
}

std::string CreateSql(bool postgres) {
  std::string sql = "CREATE TABLE IF NOT EXISTS comparisons (";
  bool first = true;
  for (const Column& col : Columns(StoredComparison{})) {
    sql += first ? "" : ", ";
    first = false;
    sql += col.name;
    sql += std::holds_alternative<std::string>(col.value) ? " TEXT NOT NULL"
           : std::holds_alternative<double>(col.value)
               ? (postgres ? " DOUBLE PRECISION NOT NULL" : " REAL NOT NULL")
               : (postgres ? " BIGINT NOT NULL" : " INTEGER NOT NULL");
  }
  sql += "); CREATE INDEX IF NOT EXISTS comparisons_time ON comparisons(time_ms)";
  return sql;
}

std::string InsertSql(bool postgres) {
  std::string names, params;
  int i = 0;
  for (const Column& col : Columns(StoredComparison{})) {
    names += (i ? ", " : "") + std::string(col.name);
    params += (i ? ", " : "") + (postgres ? fmt::format("${}", i + 1) : fmt::format("?{}", i + 1));
    ++i;
  }
  return fmt::format("INSERT INTO comparisons ({}) VALUES ({})", names, params);
}

// Past the retention the texts go; the hashes and scores stay for reports and gates.
std::string PurgeTextsSql(bool postgres) {
  const char* p = postgres ? "$1" : "?1";
  return fmt::format(
      "UPDATE comparisons SET primary_text = '', shadow_text = '', question = '', request_json = "
      "'' WHERE time_ms < {} AND (primary_text != '' OR shadow_text != '' OR question != '' OR "
      "request_json != '')",
      p);
}

std::string PurgeRowsSql(bool postgres) {
  return fmt::format("DELETE FROM comparisons WHERE time_ms < {}", postgres ? "$1" : "?1");
}

std::string Text(const Value& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  if (const auto* d = std::get_if<double>(&v)) return fmt::format("{}", *d);
  return std::to_string(std::get<int64_t>(v));
}

bool IsPostgres(const std::string& source) {
  return source.rfind("postgres://", 0) == 0 || source.rfind("postgresql://", 0) == 0 ||
         source.find('=') != std::string::npos;
}

}  // namespace

namespace {

std::string Hex(const unsigned char* bytes, unsigned int n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (unsigned int i = 0; i < n; ++i) {
    out += kHex[bytes[i] >> 4];
    out += kHex[bytes[i] & 15];
  }
  return out;
}

}  // namespace

TextHasher::TextHasher(std::string_view key) : key_(key) {
  if (key_.empty()) {
    key_.resize(32);
    if (RAND_bytes(reinterpret_cast<unsigned char*>(key_.data()), 32) != 1) {
      throw std::runtime_error("no random bytes for the store's hash key");
    }
  }
}

std::string TextHasher::Hex(std::string_view text) const {
  if (text.empty()) return "";
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest, &n);
  return quality::Hex(digest, n);
}

std::string Sha256Hex(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(text.data(), text.size(), digest, &n, EVP_sha256(), nullptr);
  return quality::Hex(digest, n);
}

bool Withheld(const std::string& text, const std::string& sha256) {
  static const std::string kEmpty = Sha256Hex("");
  return text.empty() && !sha256.empty() && sha256 != kEmpty;
}

class ComparisonStore::Backend {
 public:
  virtual ~Backend() = default;
  // Writes every row, in one transaction where the backend has them.
  virtual void Write(std::span<const StoredComparison> rows) = 0;
  // Clears the texts of rows older than `texts_before_ms` (their hashes and scores stay) and
  // deletes rows older than `rows_before_ms`.
  virtual void Purge(int64_t texts_before_ms, int64_t rows_before_ms) = 0;
};

namespace {

class SqliteBackend final : public ComparisonStore::Backend {
 public:
  explicit SqliteBackend(sqlite3* db) : db_(db) {}
  ~SqliteBackend() override {
    sqlite3_finalize(insert_);
    sqlite3_close(db_);
  }

  static Result<std::unique_ptr<ComparisonStore::Backend>> Open(const std::string& path) {
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
    // WAL with synchronous=NORMAL: a commit survives the process (kill -9), and is synced at
    // the next checkpoint rather than each time — comparisons are measurements, not the ledger.
    if (sqlite3_exec(db, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr) != SQLITE_OK ||
        sqlite3_exec(db, "PRAGMA synchronous=NORMAL", nullptr, nullptr, nullptr) != SQLITE_OK ||
        sqlite3_exec(db, CreateSql(false).c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string m = err ? err : sqlite3_errmsg(db);
      sqlite3_free(err);
      sqlite3_close(db);
      return Fail(StoreError(fmt::format("'{}': {}", path, m)));
    }
    if (Status s = Migrate(db); !s) {
      sqlite3_close(db);
      return Fail(StoreError(fmt::format("'{}': {}", path, s.error().message)));
    }
    return std::unique_ptr<ComparisonStore::Backend>(new SqliteBackend(db));
  }

  // Adds the columns a table from an older version lacks. Another process may add one at the
  // same moment: a column that exists by the time it is added is no error.
  static Status Migrate(sqlite3* db) {
    for (const char* name : kAddedColumns) {
      if (HasColumn(db, name)) continue;
      char* err = nullptr;
      if (sqlite3_exec(db, AddColumnSql(name, false).c_str(), nullptr, nullptr, &err) !=
              SQLITE_OK &&
          !HasColumn(db, name)) {
        std::string m = err ? err : sqlite3_errmsg(db);
        sqlite3_free(err);
        return Fail(StoreError(fmt::format("adding column {}: {}", name, m)));
      }
      sqlite3_free(err);
    }
    return {};
  }

  static bool HasColumn(sqlite3* db, const char* name) {
    sqlite3_stmt* st = nullptr;
    bool found = false;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM pragma_table_info('comparisons') WHERE name = ?1", -1,
                           &st, nullptr) == SQLITE_OK) {
      sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
      found = sqlite3_step(st) == SQLITE_ROW;
    }
    sqlite3_finalize(st);
    return found;
  }

  // One transaction and one prepared statement for all of `rows`: a commit per row was an
  // fsync of the WAL per shadowed request, and a parse of the INSERT each time.
  void Write(std::span<const StoredComparison> rows) override {
    if (!insert_ && sqlite3_prepare_v3(db_, InsertSql(false).c_str(), -1, SQLITE_PREPARE_PERSISTENT,
                                       &insert_, nullptr) != SQLITE_OK) {
      spdlog::error("comparison store: {}", sqlite3_errmsg(db_));
      return;
    }
    const bool batch = rows.size() > 1;
    if (batch) sqlite3_exec(db_, "BEGIN", nullptr, nullptr, nullptr);
    for (const StoredComparison& row : rows) {
      const std::vector<Column> cols = Columns(row);
      for (size_t i = 0; i < cols.size(); ++i) {
        const int at = static_cast<int>(i + 1);
        if (const auto* s = std::get_if<std::string>(&cols[i].value)) {
          sqlite3_bind_text(insert_, at, s->data(), static_cast<int>(s->size()), SQLITE_STATIC);
        } else if (const auto* d = std::get_if<double>(&cols[i].value)) {
          sqlite3_bind_double(insert_, at, *d);
        } else {
          sqlite3_bind_int64(insert_, at, std::get<int64_t>(cols[i].value));
        }
      }
      if (sqlite3_step(insert_) != SQLITE_DONE) {
        spdlog::error("comparison store: saving {}: {}", row.comparison.request_id,
                      sqlite3_errmsg(db_));
      }
      sqlite3_reset(insert_);
      sqlite3_clear_bindings(insert_);
    }
    if (batch && sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
      spdlog::error("comparison store: committing {} rows: {}", rows.size(), sqlite3_errmsg(db_));
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
  }

  void Purge(int64_t texts_before_ms, int64_t rows_before_ms) override {
    for (const auto& [sql, before] : {std::pair{PurgeTextsSql(false), texts_before_ms},
                                      std::pair{PurgeRowsSql(false), rows_before_ms}}) {
      sqlite3_stmt* st = nullptr;
      if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, before);
        sqlite3_step(st);
      }
      sqlite3_finalize(st);
    }
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* insert_ = nullptr;
};

// Every call waits at most kTimeoutMs (common/pg_session.h): a database that hangs costs the
// store's thread a second a batch (its rows are dropped and logged), not a shutdown.
class PostgresBackend final : public ComparisonStore::Backend {
 public:
  static constexpr int kTimeoutMs = 1000;
  explicit PostgresBackend(std::string dsn)
      : session_(std::move(dsn), "comparison store: postgres", kTimeoutMs,
                 [](PgSession& s) { return Setup(s); }) {}
  Status Connect() { return session_.Connect(); }
  void Write(std::span<const StoredComparison> rows) override {
    const std::string sql = InsertSql(true);
    for (const StoredComparison& row : rows) {
      std::vector<PgParam> values;
      for (const Column& c : Columns(row)) values.emplace_back(Text(c.value));
      if (!Exec(sql, values)) return;  // the rest would wait as long
    }
  }
  void Purge(int64_t texts_before_ms, int64_t rows_before_ms) override {
    if (Exec(PurgeTextsSql(true), {PgParam(texts_before_ms)})) {
      Exec(PurgeRowsSql(true), {PgParam(rows_before_ms)});
    }
  }

 private:
  // The table, and the columns a table from an older version lacks; only those, so that a
  // connection to an up-to-date table takes no ALTER TABLE lock.
  static Status Setup(PgSession& s) {
    auto created = s.RunScript("schema", CreateSql(true));
    if (!created) return Fail(std::move(created.error()));
    auto have = s.Run("schema",
                      "SELECT column_name FROM information_schema.columns WHERE table_name = "
                      "'comparisons' AND table_schema = current_schema()");
    if (!have) return Fail(std::move(have.error()));
    std::string sql;
    for (const char* name : kAddedColumns) {
      bool found = false;
      for (int i = 0; i < PQntuples(have->get()); ++i) {
        found = found || name == PgSession::Text(*have, i, 0);
      }
      if (!found) sql += AddColumnSql(name, true) + ";";
    }
    if (sql.empty()) return {};
    auto added = s.RunScript("adding columns", sql);
    if (!added) return Fail(std::move(added.error()));
    return {};
  }
  // Runs once, and once more on a fresh connection when the first had broken (not after a
  // timeout, which would only double the wait); a failure is logged.
  bool Exec(const std::string& sql, const std::vector<PgParam>& values) {
    for (int attempt = 0;; ++attempt) {
      auto r = session_.Run("write", sql.c_str(), values);
      if (r) return true;
      if (attempt > 0 || session_.timed_out() || session_.connected()) {
        spdlog::error("{}", r.error().message);
        return false;
      }
    }
  }
  PgSession session_;
};

}  // namespace

Status CheckHashKey(const StoreConfig& config) {
  if (!config.hash_key_env.empty() && config.hash_key.empty()) {
    return Fail(MakeError(
        ErrorCode::kInvalidRequest,
        fmt::format("quality.hash_key_env: the variable {} is not set", config.hash_key_env)));
  }
  return {};
}

Result<std::unique_ptr<ComparisonStore>> ComparisonStore::Open(const StoreConfig& config) {
  HG_TRY(CheckHashKey(config));
  std::unique_ptr<Backend> backend;
  if (config.backend == "postgres") {
    if (config.dsn.empty()) return Fail(StoreError("backend postgres needs a dsn"));
    auto pg = std::make_unique<PostgresBackend>(config.dsn);
    if (auto s = pg->Connect(); !s) return Fail(std::move(s.error()));
    backend = std::move(pg);
  } else {
    auto lite = SqliteBackend::Open(config.path);
    if (!lite) return Fail(std::move(lite.error()));
    backend = std::move(*lite);
  }
  return std::unique_ptr<ComparisonStore>(new ComparisonStore(std::move(backend), config));
}

ComparisonStore::ComparisonStore(std::unique_ptr<Backend> backend, const StoreConfig& config)
    : backend_(std::move(backend)),
      text_max_class_(config.store_text_max_class),
      hasher_(config.hash_key),
      retention_ms_(config.retention_days * 86'400'000),
      scores_retention_ms_(std::max(config.scores_retention_days, config.retention_days) *
                           86'400'000),
      max_pending_(config.max_pending) {}

ComparisonStore::~ComparisonStore() { thread_.join(); }

bool ComparisonStore::Save(Comparison c) {
  if (pending_.fetch_add(1, std::memory_order_relaxed) >= max_pending_) {
    pending_.fetch_sub(1, std::memory_order_relaxed);
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  bool first = false;
  {
    std::lock_guard lock(queue_mu_);
    first = queue_.empty();
    queue_.push_back(std::move(c));
  }
  // One drain per batch: what queues while the store thread writes goes in its next transaction.
  if (first) asio::post(thread_, [this] { Drain(); });
  return true;
}

void ComparisonStore::Drain() {
  std::vector<Comparison> batch;
  {
    std::lock_guard lock(queue_mu_);
    batch.swap(queue_);
  }
  std::vector<StoredComparison> rows(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    Comparison& c = batch[i];
    StoredComparison& row = rows[i];
    row.primary_sha256 = hasher_.Hex(c.primary.text);
    row.shadow_sha256 = hasher_.Hex(c.shadow.text);
    row.question_sha256 = hasher_.Hex(c.question);
    row.request_sha256 = hasher_.Hex(c.request_json);
    if (c.data_class > text_max_class_) {
      c.primary.text.clear();
      c.shadow.text.clear();
      c.question.clear();
      c.request_json.clear();
    }
    row.comparison = std::move(c);
  }
  const int64_t now = UnixMs();
  if (now >= next_purge_ms_) {
    next_purge_ms_ = now + 3'600'000;
    backend_->Purge(now - retention_ms_, now - scores_retention_ms_);
  }
  backend_->Write(rows);
  pending_.fetch_sub(static_cast<int64_t>(rows.size()), std::memory_order_relaxed);
}

void ComparisonStore::Flush() {
  std::promise<void> done;
  asio::post(thread_, [&done] { done.set_value(); });
  done.get_future().wait();
}

Result<std::vector<StoredComparison>> ComparisonStore::Load(const std::string& source,
                                                            int64_t since_ms) {
  // Every column the table has, by name: a table from an older version lacks the newer ones.
  std::vector<StoredComparison> out;
  if (IsPostgres(source)) {
    PGconn* conn = PQconnectdb(source.c_str());
    if (PQstatus(conn) != CONNECTION_OK) {
      std::string m = PQerrorMessage(conn);
      PQfinish(conn);
      return Fail(StoreError("postgres: " + m));
    }
    PGresult* has = PQexec(conn, "SELECT to_regclass('comparisons') IS NOT NULL");
    const bool table = PQresultStatus(has) == PGRES_TUPLES_OK && PQntuples(has) == 1 &&
                       std::string_view(PQgetvalue(has, 0, 0)) == "t";
    PQclear(has);
    if (!table) {
      PQfinish(conn);
      return out;
    }
    const std::string since = std::to_string(since_ms);
    const char* v[] = {since.c_str()};
    PGresult* r =
        PQexecParams(conn, "SELECT * FROM comparisons WHERE time_ms >= $1 ORDER BY time_ms", 1,
                     nullptr, v, nullptr, nullptr, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
      std::string m = PQerrorMessage(conn);
      PQclear(r);
      PQfinish(conn);
      return Fail(StoreError("postgres: " + m));
    }
    std::vector<std::string> names;
    for (int j = 0; j < PQnfields(r); ++j) names.emplace_back(PQfname(r, j));
    for (int i = 0; i < PQntuples(r); ++i) {
      StoredComparison row;
      for (size_t j = 0; j < names.size(); ++j) {
        SetColumn(row, names[j], PQgetvalue(r, i, static_cast<int>(j)));
      }
      out.push_back(std::move(row));
    }
    PQclear(r);
    PQfinish(conn);
    return out;
  }
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(source.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    std::string m = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return Fail(StoreError(fmt::format("cannot open '{}': {}", source, m)));
  }
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(
          db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'comparisons'", -1, &st,
          nullptr) != SQLITE_OK) {
    std::string m = sqlite3_errmsg(db);
    sqlite3_close(db);
    return Fail(StoreError(fmt::format("'{}': {}", source, m)));
  }
  const bool table = sqlite3_step(st) == SQLITE_ROW;
  sqlite3_finalize(st);
  if (!table) {
    sqlite3_close(db);
    return out;
  }
  st = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT * FROM comparisons WHERE time_ms >= ?1 ORDER BY time_ms", -1,
                         &st, nullptr) != SQLITE_OK) {
    std::string m = sqlite3_errmsg(db);
    sqlite3_close(db);
    return Fail(StoreError(fmt::format("'{}': {}", source, m)));
  }
  sqlite3_bind_int64(st, 1, since_ms);
  std::vector<std::string> names;
  for (int j = 0; j < sqlite3_column_count(st); ++j) names.emplace_back(sqlite3_column_name(st, j));
  while (sqlite3_step(st) == SQLITE_ROW) {
    StoredComparison row;
    for (size_t j = 0; j < names.size(); ++j) {
      const auto* t = reinterpret_cast<const char*>(sqlite3_column_text(st, static_cast<int>(j)));
      SetColumn(row, names[j], t ? std::string(t) : std::string());
    }
    out.push_back(std::move(row));
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

}  // namespace hybridgate::quality
