// Where rollouts keep their state (`rollouts:` in the config; SQLite, relative to the config
// file): one row per route — the candidate, phase, stage and the last evaluation — and an event
// row per transition. The gateway's controller and `hybridgate rollout` both read and write it;
// every write is a compare-and-set on the row's version, so a person's command and the
// controller's promotion never overwrite each other. Blocking: call it off the event loops.
#pragma once

#include <sqlite3.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "rollout/gates.h"

namespace hybridgate::rollout {

struct Event {
  int64_t id = 0;  // grows with every event
  int64_t time_ms = 0;
  std::string route, candidate;
  std::string from, to;  // "running 25%", "rolled_back"
  std::string reason;
  std::string actor;  // "controller", "cli", "admin"
};

class Store {
 public:
  static Result<std::unique_ptr<Store>> Open(const std::string& path);
  ~Store();
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
  // Writes `state` if the stored row still has `state.version`; then state.version grows.
  // false: someone else wrote first (read again).
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

 private:
  explicit Store(sqlite3* db) : db_(db) {}
  Result<bool> Read(const std::string& route, State& out);
  std::mutex mu_;
  sqlite3* db_;
};

// "running 25%", "complete", "rolled_back": a phase with its share.
std::string Describe(const routing::RolloutConfig& config, const State& state);

}  // namespace hybridgate::rollout
