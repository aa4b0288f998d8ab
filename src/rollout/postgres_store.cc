// The rollout store in PostgreSQL (rollout/store.h): gateways on several hosts, usually beside
// the ledger's tables. One connection per Store (common/pg_session.h: re-opened after a failure,
// every call within kTimeoutMs); statements with parameters, the counters' bytes as bytea.
#include <fmt/format.h>
#include <libpq-fe.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "common/pg_session.h"
#include "rollout/store.h"

namespace hybridgate::rollout {

namespace {

constexpr int kTimeoutMs = 1000;  // per statement: a hung server is an unreadable store

// Created under an advisory lock: replicas starting at once would otherwise race on
// CREATE TABLE IF NOT EXISTS (a unique violation in the catalog).
std::string Schema() {
  return "BEGIN; SELECT pg_advisory_xact_lock(7411920266);" +
         SchemaSql("BIGSERIAL PRIMARY KEY", "BYTEA") +
         // A database set up before rollouts kept their incumbent.
         "ALTER TABLE rollouts ADD COLUMN IF NOT EXISTS incumbent TEXT NOT NULL DEFAULT '';"
         "COMMIT;";
}

using Rows = PgRows;
using Param = PgParam;

class PostgresStore final : public Store {
 public:
  explicit PostgresStore(std::string dsn)
      : session_(std::move(dsn), "rollout store: postgres", kTimeoutMs, [](PgSession& s) {
          auto created = s.RunScript("schema", Schema());
          if (!created) return Status(Fail(std::move(created.error())));
          return Status();
        }) {}

  Status Connect() { return session_.Connect(); }

 private:
  Result<Rows> Run(std::string_view what, const char* sql, const std::vector<Param>& params,
                   bool binary_result = false) {
    return session_.Run(what, sql, params, binary_result);
  }
  static std::string Text(const Rows& r, int row, int col) { return PgSession::Text(r, row, col); }
  static int64_t Int(const Rows& r, int row, int col) { return PgSession::Int(r, row, col); }
  static bool Changed(const Rows& r) { return std::string_view(PQcmdTuples(r.get())) == "1"; }

  Result<bool> DoRead(const std::string& route, State& out) override {
    auto r = Run("read",
                 "SELECT candidate, phase, stage, stage_started_ms, epoch, reason, "
                 "baseline_p95_ms, version, updated_ms, report, stages, incumbent FROM rollouts "
                 "WHERE route = $1",
                 {route});
    if (!r) return Fail(std::move(r.error()));
    if (PQntuples(r->get()) == 0) return false;
    const Rows& row = *r;
    out.route = route;
    out.candidate = Text(row, 0, 0);
    const auto phase = ParsePhase(Text(row, 0, 1));
    if (!phase) {
      return Fail(MakeError(ErrorCode::kInternal,
                            "rollout store: unknown phase '" + Text(row, 0, 1) + "'"));
    }
    out.phase = *phase;
    out.stage = static_cast<int>(Int(row, 0, 2));
    out.stage_started_ms = Int(row, 0, 3);
    out.epoch = Int(row, 0, 4);
    out.reason = Text(row, 0, 5);
    out.baseline_p95_ms = std::strtod(PQgetvalue(row.get(), 0, 6), nullptr);
    out.version = Int(row, 0, 7);
    out.updated_ms = Int(row, 0, 8);
    out.report_json = Text(row, 0, 9);
    out.stages = SplitStages(Text(row, 0, 10));
    out.incumbent = Text(row, 0, 11);
    return true;
  }

  Result<bool> DoWrite(const State& s, int64_t expected, const std::string& candidate) override {
    std::vector<Param> p = {s.candidate,
                            std::string(PhaseName(s.phase)),
                            s.stage,
                            s.stage_started_ms,
                            s.epoch,
                            s.reason,
                            s.baseline_p95_ms,
                            s.version,
                            s.updated_ms,
                            s.report_json,
                            JoinStages(s.stages),
                            s.route,
                            s.incumbent};
    if (expected == 0) {
      auto r = Run("create",
                   "INSERT INTO rollouts (candidate, phase, stage, stage_started_ms, epoch, "
                   "reason, baseline_p95_ms, version, updated_ms, report, stages, route, "
                   "incumbent) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) "
                   "ON CONFLICT (route) DO NOTHING",
                   p);
      if (!r) return Fail(std::move(r.error()));
      return Changed(*r);
    }
    p.emplace_back(expected);
    p.emplace_back(candidate);
    auto r = Run("write",
                 "UPDATE rollouts SET candidate = $1, phase = $2, stage = $3, "
                 "stage_started_ms = $4, epoch = $5, reason = $6, baseline_p95_ms = $7, "
                 "version = $8, updated_ms = $9, report = $10, stages = $11, incumbent = $13 "
                 "WHERE route = $12 AND version = $14 AND ($15 = '' OR candidate = $15)",
                 p);
    if (!r) return Fail(std::move(r.error()));
    return Changed(*r);
  }

  Status DoAddEvent(const Event& e) override {
    auto r = Run("event",
                 "INSERT INTO rollout_events (time_ms, route, candidate, from_state, to_state, "
                 "reason, actor) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                 {e.time_ms, e.route, e.candidate, e.from, e.to, e.reason, e.actor});
    if (!r) return Fail(std::move(r.error()));
    return {};
  }

  static std::vector<Event> ReadEvents(const Rows& r) {
    std::vector<Event> out;
    for (int i = 0; i < PQntuples(r.get()); ++i) {
      out.push_back({.id = Int(r, i, 0),
                     .time_ms = Int(r, i, 1),
                     .route = Text(r, i, 2),
                     .candidate = Text(r, i, 3),
                     .from = Text(r, i, 4),
                     .to = Text(r, i, 5),
                     .reason = Text(r, i, 6),
                     .actor = Text(r, i, 7)});
    }
    return out;
  }

  Result<std::vector<Event>> DoEvents(const std::string& route, const std::string& candidate,
                                      int limit) override {
    auto r = Run("events",
                 "SELECT id, time_ms, route, candidate, from_state, to_state, reason, actor FROM "
                 "rollout_events WHERE route = $1 AND ($2 = '' OR candidate = $2) "
                 "ORDER BY id DESC LIMIT $3",
                 {route, candidate, limit});
    if (!r) return Fail(std::move(r.error()));
    return ReadEvents(*r);
  }

  // Ids come from a sequence, so an event committed late can carry an id below one already
  // read; transitions are seconds apart and written in one statement each, which keeps that
  // window to the statement itself.
  Result<std::vector<Event>> DoEventsAfter(const std::string& route, int64_t after_id, int limit,
                                           int64_t* last_id) override {
    if (after_id < 0) {
      auto r = Run("events", "SELECT COALESCE(MAX(id), 0) FROM rollout_events WHERE route = $1",
                   {route});
      if (!r) return Fail(std::move(r.error()));
      *last_id = Int(*r, 0, 0);
      return std::vector<Event>();
    }
    auto r = Run("events",
                 "SELECT id, time_ms, route, candidate, from_state, to_state, reason, actor FROM "
                 "rollout_events WHERE route = $1 AND id > $2 ORDER BY id LIMIT $3",
                 {route, after_id, limit});
    if (!r) return Fail(std::move(r.error()));
    std::vector<Event> out = ReadEvents(*r);
    *last_id = out.empty() ? after_id : out.back().id;
    return out;
  }

  Status DoPutCounts(const std::string& route, int64_t epoch, const std::string& replica,
                     const std::string& encoded, int64_t now_ms) override {
    auto r = Run("counts",
                 "INSERT INTO rollout_counts (route, epoch, replica, updated_ms, data) "
                 "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (route, epoch, replica) DO UPDATE SET "
                 "updated_ms = excluded.updated_ms, data = excluded.data",
                 {route, epoch, replica, now_ms, Param::Bytes(encoded)});
    if (!r) return Fail(std::move(r.error()));
    auto old =
        Run("counts", "DELETE FROM rollout_counts WHERE route = $1 AND epoch < $2", {route, epoch});
    if (!old) return Fail(std::move(old.error()));
    return {};
  }

  Result<std::vector<std::string>> DoCounts(const std::string& route, int64_t epoch) override {
    auto r = Run("counts", "SELECT data FROM rollout_counts WHERE route = $1 AND epoch = $2",
                 {route, epoch}, /*binary_result=*/true);
    if (!r) return Fail(std::move(r.error()));
    std::vector<std::string> out;
    for (int i = 0; i < PQntuples(r->get()); ++i) out.push_back(Text(*r, i, 0));
    return out;
  }

  Result<bool> DoLease(const std::string& name, const std::string& replica, int64_t expires_ms,
                       int64_t now_ms) override {
    auto r = Run("lease",
                 "INSERT INTO rollout_leases (name, holder, expires_ms) VALUES ($1, $2, $3) "
                 "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, "
                 "expires_ms = excluded.expires_ms "
                 "WHERE rollout_leases.holder = excluded.holder "
                 "OR rollout_leases.expires_ms < $4 RETURNING holder",
                 {name, replica, expires_ms, now_ms});
    if (!r) return Fail(std::move(r.error()));
    return PQntuples(r->get()) == 1;
  }

  void DoReleaseLeases(const std::string& replica) override {
    if (auto r = Run("lease", "DELETE FROM rollout_leases WHERE holder = $1", {replica}); !r) {
      spdlog::warn("{}", r.error().message);
    }
  }

  PgSession session_;
};

}  // namespace

Result<std::unique_ptr<Store>> OpenPostgresStore(const std::string& dsn) {
  auto store = std::make_unique<PostgresStore>(dsn);
  HG_TRY(store->Connect());
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace hybridgate::rollout
