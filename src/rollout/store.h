// Where rollouts keep their state (`rollouts:` in the config): one row per route — the
// candidate, phase, stage and the last evaluation — an event per transition, each replica's
// counters of the stage and the evaluation leases. Three backends with one behaviour: SQLite (a
// single host; relative to the config file), PostgreSQL (with the ledger) and Redis (with the
// limits), so that gateways on several hosts share one rollout. The gateway's controller and
// `hybridgate rollout` both read and write it; every write of a row is a compare-and-set on its
// version, so a person's command and the controller's promotion never overwrite each other.
// Blocking, and one call at a time per Store (a mutex): call it off the event loops.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "config/config.h"
#include "rollout/gates.h"

namespace hybridgate::rollout {

struct Event {
  int64_t id = 0;  // grows with every event of a route
  int64_t time_ms = 0;
  std::string route, candidate;
  std::string from, to;  // "running 25%", "rolled_back"
  std::string reason;
  std::string actor;  // "controller", "cli", "admin"
};

// The backend and its address, resolved from a config (ResolveStoreConfig).
struct StoreConfig {
  std::string backend = "sqlite";  // sqlite | postgres | redis
  std::string path;                // sqlite: absolute, or relative to the working directory
  std::string dsn;                 // postgres: a libpq connection string or URI
  std::string redis_url;           // redis: redis://[[user]:password@]host[:port][/db]
  // Says which store this is without its secrets: "sqlite /x/rollouts.db", "postgres",
  // "redis 127.0.0.1:6379/0".
  std::string Name() const;
  bool operator==(const StoreConfig&) const = default;
};

// The store `config` names: rollouts.backend, or when unset PostgreSQL if the ledger is there
// (with its dsn) and else SQLite at rollouts.path (relative to the config file). Redis takes
// rollouts.redis_url, else the limits' redis_url. dsn_env is read from the environment.
StoreConfig ResolveStoreConfig(const config::Config& config);

class Store {
 public:
  static Result<std::unique_ptr<Store>> Open(const StoreConfig& config);
  virtual ~Store() = default;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // The route's stored rollout, if any; writes nothing.
  Result<std::optional<State>> Peek(const std::string& route);
  // The route's rollout for `config`: the stored row when it is of `config.candidate`; a new
  // one — running at the first stage, or pending with `start: paused` — written first when none
  // is stored, or when the stored one, of another candidate, is over (pending, complete or
  // rolled back; `replaced` then says its candidate and phase, "candidate: phase"). A stored
  // rollout of another candidate that is running or paused is returned as it is: it goes on
  // until it completes or a person rolls it back.
  Result<State> Get(const std::string& route, const routing::RolloutConfig& config, int64_t now_ms,
                    std::string* replaced = nullptr);
  // Writes `state` if the stored row still has `state.version` and `state.candidate`; then
  // state.version grows. false: someone else wrote first (read again).
  Result<bool> Put(State& state);
  // Records a transition.
  Status AddEvent(const Event& e);
  // The latest `limit` events of `route`'s rollouts of `candidate` ("" for every one), newest
  // first.
  Result<std::vector<Event>> Events(const std::string& route, const std::string& candidate,
                                    int limit);
  // The events of `route` after event `after_id`, oldest first (at most `limit`); with
  // after_id < 0, none, but the last id is returned in `last_id` to start from.
  Result<std::vector<Event>> EventsAfter(const std::string& route, int64_t after_id, int limit,
                                         int64_t* last_id);

  // Several gateways on one store: each publishes its own counters of a stage (`epoch`) every
  // round, and the one holding the rollout's evaluation lease sums them all. PutCounts also forgets
  // the route's counters of earlier epochs.
  Status PutCounts(const std::string& route, int64_t epoch, const std::string& replica,
                   const StageCounts& counts, int64_t now_ms);
  Result<StageCounts> SumCounts(const std::string& route, int64_t epoch);
  // Takes the evaluation lease `name` (a route: one evaluator per rollout) for `replica` until
  // now + ttl, or renews it; true when `replica` holds it (another holder's lease must have
  // expired first).
  Result<bool> Lease(const std::string& name, const std::string& replica, int64_t now_ms,
                     int64_t ttl_ms);
  // Gives up every lease `replica` holds (a replica that stops).
  void ReleaseLeases(const std::string& replica);

 protected:
  Store() = default;

  // What each backend provides; the Store calls them one at a time.
  // The row of `route` into `out`; false when there is none.
  virtual Result<bool> DoRead(const std::string& route, State& out) = 0;
  // Writes `state` (its version as given) when the stored row's version is `expected` (0: no
  // row), and, with `candidate` not empty, its candidate is that one; false otherwise.
  virtual Result<bool> DoWrite(const State& state, int64_t expected,
                               const std::string& candidate) = 0;
  virtual Status DoAddEvent(const Event& e) = 0;
  virtual Result<std::vector<Event>> DoEvents(const std::string& route,
                                              const std::string& candidate, int limit) = 0;
  virtual Result<std::vector<Event>> DoEventsAfter(const std::string& route, int64_t after_id,
                                                   int limit, int64_t* last_id) = 0;
  virtual Status DoPutCounts(const std::string& route, int64_t epoch, const std::string& replica,
                             const std::string& encoded, int64_t now_ms) = 0;
  // Every replica's encoded counters of `epoch`.
  virtual Result<std::vector<std::string>> DoCounts(const std::string& route, int64_t epoch) = 0;
  virtual Result<bool> DoLease(const std::string& name, const std::string& replica,
                               int64_t expires_ms, int64_t now_ms) = 0;
  virtual void DoReleaseLeases(const std::string& replica) = 0;

 private:
  std::mutex mu_;
};

// "running 25%", "complete", "rolled_back": a phase with its share.
std::string Describe(const routing::RolloutConfig& config, const State& state);

// Stored forms shared by the backends.
// StageCounts as bytes: int64s (per arm: requests, errors, the latency buckets; comparisons),
// then the two score sums, little-endian whatever the host (replicas on several machines).
std::string EncodeCounts(const StageCounts& c);
// Adds stored bytes to `c`; false when they are not EncodeCounts's.
bool AddEncodedCounts(std::string_view bytes, StageCounts& c);
std::string JoinStages(const std::vector<int>& stages);  // "5,25,100"
// The tables of the SQL backends, with their spelling of the event id and of bytes.
std::string SchemaSql(std::string_view id_column, std::string_view bytes_type);
std::vector<int> SplitStages(std::string_view text);  // {} when not ours

// The backends (rollout/*_store.cc).
Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path);
Result<std::unique_ptr<Store>> OpenPostgresStore(const std::string& dsn);
Result<std::unique_ptr<Store>> OpenRedisStore(const std::string& url);

}  // namespace hybridgate::rollout
