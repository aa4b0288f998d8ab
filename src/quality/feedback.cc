#include "quality/feedback.h"

#include <fmt/format.h>
#include <libpq-fe.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <algorithm>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdlib>
#include <future>
#include <span>

#include "api/json.h"
#include "common/clock.h"
#include "common/pg_session.h"
#include "common/run_on.h"

namespace hybridgate::quality {

namespace asio = boost::asio;

namespace {

using Rows = std::vector<std::vector<std::string>>;

Error StoreError(std::string message) {
  return MakeError(ErrorCode::kUnavailable, "feedback store: " + std::move(message));
}

Error Invalid(std::string message, std::string_view param) {
  return MakeError(ErrorCode::kInvalidRequest, std::move(message), std::string(param));
}

// Both backends take the same statements: SQLite's ?N parameters, rewritten to $N for
// PostgreSQL; values go as text (SQLite's column affinity and PostgreSQL's inference type them).
constexpr const char* kSchema[] = {
    "CREATE TABLE IF NOT EXISTS feedback_requests (request_id TEXT PRIMARY KEY, time_ms BIGINT "
    "NOT NULL, route TEXT NOT NULL, key_id TEXT NOT NULL, data_class BIGINT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS feedback_requests_time ON feedback_requests(time_ms)",
    "CREATE TABLE IF NOT EXISTS feedback (request_id TEXT NOT NULL, kind TEXT NOT NULL, score "
    "DOUBLE PRECISION NOT NULL, time_ms BIGINT NOT NULL, comment TEXT NOT NULL, comment_sha256 "
    "TEXT NOT NULL, request_time_ms BIGINT NOT NULL, route TEXT NOT NULL, key_id TEXT NOT NULL, "
    "PRIMARY KEY (request_id, kind))",
    "CREATE INDEX IF NOT EXISTS feedback_request_time ON feedback(request_time_ms)",
    "CREATE TABLE IF NOT EXISTS feedback_rollouts (request_id TEXT PRIMARY KEY, time_ms BIGINT "
    "NOT NULL, rollout TEXT NOT NULL, arm TEXT NOT NULL, epoch BIGINT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS feedback_rollouts_arm ON feedback_rollouts(rollout, arm, epoch)",
};
constexpr const char* kRememberRollout =
    "INSERT INTO feedback_rollouts (request_id, time_ms, rollout, arm, epoch) VALUES (?1, ?2, ?3, "
    "?4, ?5) ON CONFLICT (request_id) DO NOTHING";
constexpr const char* kArmScores =
    "SELECT COUNT(*), COALESCE(SUM(s), 0), COALESCE(SUM(s * s), 0) FROM (SELECT AVG(CASE WHEN "
    "f.score < 0 THEN 0 ELSE f.score END) AS s FROM feedback f JOIN feedback_rollouts r ON "
    "r.request_id = f.request_id WHERE r.rollout = ?1 AND r.arm = ?2 AND (CAST(?3 AS BIGINT) < 0 "
    "OR r.epoch = CAST(?3 AS BIGINT)) GROUP BY f.request_id) AS rated";
constexpr const char* kRemember =
    "INSERT INTO feedback_requests (request_id, time_ms, route, key_id, data_class) VALUES (?1, "
    "?2, ?3, ?4, ?5) ON CONFLICT (request_id) DO NOTHING";
constexpr const char* kOwner =
    "SELECT time_ms, route, key_id, data_class FROM feedback_requests WHERE request_id = ?1";
constexpr const char* kRate =
    "INSERT INTO feedback (request_id, kind, score, time_ms, comment, comment_sha256, "
    "request_time_ms, route, key_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT "
    "(request_id, kind) DO UPDATE SET score = excluded.score, time_ms = excluded.time_ms, comment "
    "= excluded.comment, comment_sha256 = excluded.comment_sha256";
constexpr const char* kLoad =
    "SELECT request_id, kind, score, time_ms, comment, comment_sha256, request_time_ms, route, "
    "key_id FROM feedback WHERE request_time_ms >= ?1 ORDER BY request_time_ms, request_id, kind";

std::string PgParams(std::string_view sql) {
  std::string out;
  for (size_t i = 0; i < sql.size(); ++i) {
    const bool param =
        sql[i] == '?' && i + 1 < sql.size() && sql[i + 1] >= '0' && sql[i + 1] <= '9';
    out += param ? '$' : sql[i];
  }
  return out;
}

}  // namespace

// One connection, used by one thread at a time.
class FeedbackStore::Db {
 public:
  virtual ~Db() = default;
  virtual Status Exec(std::string_view sql, std::span<const std::string> params) = 0;
  virtual Result<Rows> Query(std::string_view sql, std::span<const std::string> params) = 0;
  // Whether `table` exists (read-only readers of an older store).
  virtual Result<bool> HasTable(std::string_view table) = 0;
};

namespace {

class SqliteDb final : public FeedbackStore::Db {
 public:
  ~SqliteDb() override { sqlite3_close(db_); }

  static Result<std::unique_ptr<SqliteDb>> Open(const std::string& path, bool read_only) {
    std::unique_ptr<SqliteDb> out(new SqliteDb);
    const int flags = read_only ? SQLITE_OPEN_READONLY
                                : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path.c_str(), &out->db_, flags, nullptr) != SQLITE_OK) {
      return Fail(StoreError(fmt::format("cannot open '{}': {}", path,
                                         out->db_ ? sqlite3_errmsg(out->db_) : "out of memory")));
    }
    sqlite3_busy_timeout(out->db_, 5000);
    if (!read_only) {
      sqlite3_exec(out->db_, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr);
      sqlite3_exec(out->db_, "PRAGMA synchronous=NORMAL", nullptr, nullptr, nullptr);
    }
    return out;
  }

  Status Exec(std::string_view sql, std::span<const std::string> params) override {
    auto rows = Run(sql, params, false);
    if (!rows) return Fail(std::move(rows.error()));
    return {};
  }
  Result<Rows> Query(std::string_view sql, std::span<const std::string> params) override {
    return Run(sql, params, true);
  }
  Result<bool> HasTable(std::string_view table) override {
    const std::string name(table);
    auto rows = Query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
                      std::span<const std::string>(&name, 1));
    if (!rows) return Fail(std::move(rows.error()));
    return !rows->empty();
  }

 private:
  SqliteDb() = default;
  Result<Rows> Run(std::string_view sql, std::span<const std::string> params, bool read) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &st, nullptr) !=
        SQLITE_OK) {
      return Fail(StoreError(sqlite3_errmsg(db_)));
    }
    for (size_t i = 0; i < params.size(); ++i) {
      sqlite3_bind_text(st, static_cast<int>(i + 1), params[i].data(),
                        static_cast<int>(params[i].size()), SQLITE_STATIC);
    }
    Rows rows;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      if (!read) continue;
      auto& row = rows.emplace_back();
      for (int c = 0; c < sqlite3_column_count(st); ++c) {
        const auto* t = reinterpret_cast<const char*>(sqlite3_column_text(st, c));
        row.emplace_back(t ? std::string(t, static_cast<size_t>(sqlite3_column_bytes(st, c)))
                           : std::string());
      }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return Fail(StoreError(sqlite3_errmsg(db_)));
    return rows;
  }

  sqlite3* db_ = nullptr;
};

// Every statement waits at most kTimeoutMs (common/pg_session.h): the store's one thread also
// serves ratings and the rollout gate, and a database that hangs must not hold a shutdown.
class PostgresDb final : public FeedbackStore::Db {
 public:
  static constexpr int kTimeoutMs = 1000;
  // Reading a whole table for a report (Load) may take longer than a statement of the store's.
  static constexpr int kReportTimeoutMs = 120'000;
  explicit PostgresDb(std::string dsn, int timeout_ms = kTimeoutMs)
      : session_(std::move(dsn), "feedback store: postgres", timeout_ms) {}

  Status Exec(std::string_view sql, std::span<const std::string> params) override {
    auto rows = Run(sql, params);
    if (!rows) return Fail(std::move(rows.error()));
    return {};
  }
  Result<Rows> Query(std::string_view sql, std::span<const std::string> params) override {
    return Run(sql, params);
  }
  Result<bool> HasTable(std::string_view table) override {
    const std::string name(table);
    auto rows = Query("SELECT to_regclass(?1) IS NOT NULL", std::span<const std::string>(&name, 1));
    if (!rows) return Fail(std::move(rows.error()));
    return !rows->empty() && !rows->front().empty() && rows->front().front() == "t";
  }

 private:
  // Runs once, and once more on a fresh connection when the first one had broken (a server
  // restarted since the last call), except inside a transaction, whose statements must share
  // one connection, and after a timeout, which would only double the wait.
  Result<Rows> Run(std::string_view sql, std::span<const std::string> params) {
    const std::string text = PgParams(sql);
    std::vector<PgParam> values(params.begin(), params.end());
    const bool retry = !in_transaction_;
    if (sql == "BEGIN") in_transaction_ = true;
    if (sql == "COMMIT" || sql == "ROLLBACK") in_transaction_ = false;
    for (int attempt = 0;; ++attempt) {
      auto r = session_.Run("statement", text.c_str(), values);
      if (!r) {
        if (!session_.connected()) in_transaction_ = false;
        if (!retry || attempt > 0 || session_.timed_out() || session_.connected()) {
          return Fail(std::move(r.error()));
        }
        continue;
      }
      Rows rows(static_cast<size_t>(PQntuples(r->get())));
      for (int i = 0; i < PQntuples(r->get()); ++i) {
        for (int c = 0; c < PQnfields(r->get()); ++c) {
          rows[static_cast<size_t>(i)].push_back(PgSession::Text(*r, i, c));
        }
      }
      return rows;
    }
  }

  PgSession session_;
  bool in_transaction_ = false;
};

bool IsPostgres(const std::string& source) {
  return source.rfind("postgres://", 0) == 0 || source.rfind("postgresql://", 0) == 0 ||
         source.find('=') != std::string::npos;
}

}  // namespace

Result<FeedbackInput> ParseFeedback(std::string_view body) {
  // A name given twice counts once, its first value, as in every body the gateway reads
  // (Boost.JSON alone would keep the last).
  auto first_only = api::CanonicalJson(body);
  boost::system::error_code ec;
  const boost::json::value v =
      first_only ? boost::json::parse(*first_only, ec) : boost::json::value();
  if (!first_only || ec || !v.is_object()) {
    return Fail(MakeError(ErrorCode::kInvalidRequest,
                          "the body must be a JSON object: {\"request_id\", \"score\", \"kind\", "
                          "\"comment\"?}"));
  }
  FeedbackInput in;
  bool has_id = false, has_score = false, has_kind = false;
  for (const auto& [key, value] : v.as_object()) {
    if (key == "request_id") {
      if (!value.is_string() || value.as_string().empty()) {
        return Fail(
            Invalid("request_id must be the x-hybridgate-request-id of an answer, a "
                    "non-empty string",
                    "request_id"));
      }
      const std::string_view id = value.as_string();
      if (std::any_of(id.begin(), id.end(),
                      [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
        return Fail(
            Invalid("request_id holds a control character; it is the "
                    "x-hybridgate-request-id of an answer",
                    "request_id"));
      }
      if (value.as_string().size() > kMaxRequestIdBytes) {
        return Fail(
            Invalid(fmt::format("request_id is over {} bytes", kMaxRequestIdBytes), "request_id"));
      }
      in.request_id = std::string(value.as_string());
      has_id = true;
    } else if (key == "score") {
      const bool number = value.is_number();
      const double s = number ? value.to_number<double>() : 0;
      if (!number || (s != -1 && (s < 0 || s > 1))) {
        return Fail(Invalid("score must be a number: 1 or -1 (thumbs up or down), or from 0 to 1",
                            "score"));
      }
      in.score = s;
      has_score = true;
    } else if (key == "kind") {
      std::string names;
      for (const FeedbackKind& k : kFeedbackKinds) {
        if (value.is_string() && value.as_string() == k.name) in.kind = std::string(k.name);
        names += (names.empty() ? "" : ", ") + std::string(k.name);
      }
      if (in.kind.empty()) {
        return Fail(Invalid(fmt::format("kind must be one of {}", names), "kind"));
      }
      has_kind = true;
    } else if (key == "comment") {
      if (value.is_null()) continue;
      if (!value.is_string()) return Fail(Invalid("comment must be a string", "comment"));
      if (value.as_string().find('\0') != boost::json::string::npos) {
        return Fail(Invalid("comment holds a NUL character (\\u0000)", "comment"));
      }
      if (value.as_string().size() > kMaxCommentBytes) {
        return Fail(Invalid(fmt::format("comment is {} bytes; at most {} are accepted",
                                        value.as_string().size(), kMaxCommentBytes),
                            "comment"));
      }
      in.comment = std::string(value.as_string());
    } else {
      const std::string name(key.data(), std::min<size_t>(key.size(), 64));
      return Fail(Invalid(
          fmt::format("unknown field '{}' (request_id, score, kind, comment)", name), name));
    }
  }
  if (!has_id) return Fail(Invalid("request_id is required", "request_id"));
  if (!has_score) return Fail(Invalid("score is required", "score"));
  if (!has_kind) return Fail(Invalid("kind is required", "kind"));
  return in;
}

Result<std::unique_ptr<FeedbackStore>> FeedbackStore::Open(const StoreConfig& config) {
  HG_TRY(CheckHashKey(config));
  std::unique_ptr<Db> db;
  if (config.backend == "postgres") {
    if (config.dsn.empty()) return Fail(StoreError("backend postgres needs a dsn"));
    db = std::make_unique<PostgresDb>(config.dsn);
  } else {
    auto lite = SqliteDb::Open(config.path, false);
    if (!lite) return Fail(std::move(lite.error()));
    db = std::move(*lite);
  }
  for (const char* sql : kSchema) HG_TRY(db->Exec(sql, {}));
  return std::unique_ptr<FeedbackStore>(new FeedbackStore(std::move(db), config));
}

FeedbackStore::FeedbackStore(std::unique_ptr<Db> db, const StoreConfig& config)
    : db_(std::move(db)),
      text_max_class_(config.store_text_max_class),
      hasher_(config.hash_key),
      retention_ms_(config.retention_days * 86'400'000),
      max_pending_(static_cast<size_t>(std::max<int64_t>(config.max_pending, 1))) {}

FeedbackStore::~FeedbackStore() { Close(); }

void FeedbackStore::Close() {
  if (std::exchange(closed_, true)) return;
  Flush();
  thread_.join();
}

bool FeedbackStore::Remember(RatedRequest r) {
  {
    std::lock_guard lock(mu_);
    if (remembered_.size() < max_pending_) {
      remembered_.push_back(std::move(r));
      if (std::exchange(write_posted_, true)) return true;
    } else {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
  }
  asio::post(thread_, [this] { WriteRemembered(); });
  return true;
}

void FeedbackStore::WriteRemembered() {
  std::vector<RatedRequest> batch;
  {
    std::lock_guard lock(mu_);
    batch.swap(remembered_);
    write_posted_ = false;
  }
  const int64_t now = UnixMs();
  PurgeIfDue(now);
  if (batch.empty()) return;
  Status s = db_->Exec("BEGIN", {});
  for (const RatedRequest& r : batch) {
    if (!s) break;
    const std::string params[] = {r.request_id, std::to_string(r.time_ms), r.route, r.key_id,
                                  std::to_string(r.data_class)};
    s = db_->Exec(kRemember, params);
    if (s && !r.rollout.empty()) {
      const std::string tagged[] = {r.request_id, std::to_string(r.time_ms), r.rollout,
                                    r.rollout_arm, std::to_string(r.rollout_epoch)};
      s = db_->Exec(kRememberRollout, tagged);
    }
  }
  if (s) s = db_->Exec("COMMIT", {});
  if (!s) {
    (void)db_->Exec("ROLLBACK", {});
    dropped_.fetch_add(static_cast<int64_t>(batch.size()), std::memory_order_relaxed);
    spdlog::error("{} ({} answered requests cannot be rated)", s.error().message, batch.size());
  }
}

void FeedbackStore::PurgeIfDue(int64_t now_ms) {
  if (now_ms < next_purge_ms_) return;
  next_purge_ms_ = now_ms + 3'600'000;
  const std::string before = std::to_string(now_ms - retention_ms_);
  const std::span<const std::string> p(&before, 1);
  for (const char* sql : {"DELETE FROM feedback_requests WHERE time_ms < ?1",
                          "DELETE FROM feedback WHERE request_time_ms < ?1",
                          "DELETE FROM feedback_rollouts WHERE time_ms < ?1"}) {
    if (auto s = db_->Exec(sql, p); !s) {
      spdlog::error("{}", s.error().message);
      return;  // the next would fail (or wait) alike
    }
  }
}

Result<FeedbackStore::Rated> FeedbackStore::RateNow(const FeedbackInput& f, int comment_class,
                                                    const std::string& key_id, bool any_key) {
  WriteRemembered();  // what was remembered before this call is visible to it
  auto owner = db_->Query(kOwner, std::span<const std::string>(&f.request_id, 1));
  if (!owner) return Fail(std::move(owner.error()));
  if (owner->empty() || owner->front().size() != 4) return Rated{};
  const std::vector<std::string>& o = owner->front();  // time_ms, route, key_id, data_class
  if (!any_key && o[2] != key_id) return Rated{};
  Rated rated{.found = true};
  std::string comment, sha;
  if (f.comment) {
    sha = hasher_.Hex(*f.comment);
    const int request_class = static_cast<int>(std::strtol(o[3].c_str(), nullptr, 10));
    rated.comment_kept = std::max(request_class, comment_class) <= text_max_class_;
    if (rated.comment_kept) comment = *f.comment;
  }
  const std::string params[] = {f.request_id,
                                f.kind,
                                fmt::format("{}", f.score),
                                std::to_string(UnixMs()),
                                comment,
                                sha,
                                o[0],
                                o[1],
                                o[2]};
  HG_TRY(db_->Exec(kRate, params));
  return rated;
}

asio::awaitable<Result<FeedbackStore::Rated>> FeedbackStore::Rate(const FeedbackInput& f,
                                                                  int comment_class,
                                                                  std::string_view key_id,
                                                                  bool any_key) {
  const std::string key(key_id);
  for (int attempt = 0;; ++attempt) {
    Result<Rated> r =
        co_await RunOn<Result<Rated>>(thread_, [this, &f, comment_class, &key, any_key] {
          return RateNow(f, comment_class, key, any_key);
        });
    if (!r || r->found || attempt > 0) co_return r;
    asio::steady_timer wait(co_await asio::this_coro::executor,
                            std::chrono::milliseconds(kRetryMs));
    co_await wait.async_wait(asio::use_awaitable);
  }
}

Result<FeedbackStore::ArmScores> FeedbackStore::Scores(const std::string& rollout,
                                                       const std::string& arm, int64_t epoch) {
  // Shared: a store that does not answer in time leaves the job behind, and it must find its
  // arguments and its promise still there.
  struct Job {
    std::string params[3];
    std::promise<Result<ArmScores>> done;
  };
  auto job = std::make_shared<Job>();
  job->params[0] = rollout;
  job->params[1] = arm;
  job->params[2] = std::to_string(epoch);
  std::future<Result<ArmScores>> answer = job->done.get_future();
  asio::post(thread_, [this, job] {
    WriteRemembered();
    auto rows = db_->Query(kArmScores, job->params);
    if (!rows) {
      job->done.set_value(Fail(std::move(rows.error())));
    } else if (rows->size() != 1 || rows->front().size() != 3) {
      job->done.set_value(Fail(StoreError("feedback scores: an unexpected answer")));
    } else {
      const std::vector<std::string>& r = rows->front();
      job->done.set_value(ArmScores{.n = std::strtoll(r[0].c_str(), nullptr, 10),
                                    .sum = std::strtod(r[1].c_str(), nullptr),
                                    .sq_sum = std::strtod(r[2].c_str(), nullptr)});
    }
  });
  if (answer.wait_for(std::chrono::milliseconds(kScoresTimeoutMs)) != std::future_status::ready) {
    return Fail(StoreError(fmt::format("feedback scores: no answer in {} ms", kScoresTimeoutMs)));
  }
  return answer.get();
}

void FeedbackStore::Flush() {
  std::promise<void> done;
  asio::post(thread_, [this, &done] {
    WriteRemembered();
    done.set_value();
  });
  done.get_future().wait();
}

Result<std::vector<Feedback>> FeedbackStore::Load(const std::string& source, int64_t since_ms) {
  std::unique_ptr<Db> db;
  if (IsPostgres(source)) {
    db = std::make_unique<PostgresDb>(source, PostgresDb::kReportTimeoutMs);
  } else {
    auto lite = SqliteDb::Open(source, true);
    if (!lite) return Fail(std::move(lite.error()));
    db = std::move(*lite);
  }
  std::vector<Feedback> out;
  auto has = db->HasTable("feedback");
  if (!has) return Fail(std::move(has.error()));
  if (!*has) return out;
  const std::string since = std::to_string(since_ms);
  auto rows = db->Query(kLoad, std::span<const std::string>(&since, 1));
  if (!rows) return Fail(std::move(rows.error()));
  for (const auto& r : *rows) {
    if (r.size() != 9) continue;
    out.push_back({.request_id = r[0],
                   .kind = r[1],
                   .score = std::strtod(r[2].c_str(), nullptr),
                   .time_ms = std::strtoll(r[3].c_str(), nullptr, 10),
                   .comment = r[4],
                   .comment_sha256 = r[5],
                   .request_time_ms = std::strtoll(r[6].c_str(), nullptr, 10),
                   .route = r[7],
                   .key_id = r[8]});
  }
  return out;
}

}  // namespace hybridgate::quality
