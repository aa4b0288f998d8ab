// Canary rollouts at run time (routes.<name>.rollout; the rules are rollout/gates.h): one
// controller thread per gateway. Every second it reads each configured rollout from the store (so
// a person's `hybridgate rollout …`, or another replica's promotion, takes effect within a
// second), publishes this replica's counters of the stage there, and — only on the replica that
// holds the store's evaluation lease — evaluates the gates of those whose `interval` came due on
// every replica's counters summed, and promotes or rolls back (a log line, a metric and an event
// row per transition). Then it publishes phase, share and the stage's counters on the Board that
// every request reads. Requests add to the counters: Assign picks the arm while planning, Record
// counts the request when it ends. The thread never touches an event loop; the store's SQLite
// work is its own.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "gateway/runtime.h"
#include "metrics/metrics.h"
#include "quality/feedback.h"
#include "rollout/board.h"
#include "rollout/cli.h"
#include "rollout/store.h"
#include "routing/executor.h"

namespace hybridgate::gateway {

// A request's place in a rollout: set when its route has one with a share and the request is
// eligible (its first choice is the incumbent, the candidate may take it).
struct RolloutAssignment {
  std::shared_ptr<const rollout::LiveRollout> live;
  rollout::Arm arm = rollout::Arm::kIncumbent;
  const config::ModelConfig* candidate = nullptr;
  std::string header;  // x-hybridgate-rollout: <route>/<percent>/<arm>
  // With a feedback gate, once answered: the arm whose model answered ("candidate",
  // "incumbent"), as the feedback store remembers it (quality::RatedRequest); else "".
  std::string_view feedback_arm;
};

class Rollouts {
 public:
  Rollouts(std::function<std::shared_ptr<const Runtime>()> current, metrics::Metrics& metrics);
  ~Rollouts() { Stop(); }

  // Runs a first round (so that the first requests see every share), then the thread.
  void Start();
  void Stop();
  // Runs a round now (a person's command through this gateway's admin API).
  void Wake();

  // Puts the candidate first in `plan` when the request is eligible and its caller falls in the
  // candidate's share; fills `out` for either arm of an eligible request. The caller: `sticky:
  // key` the key id (without keys: the request's user), `user` the request's user; without
  // one (or `none`) a random draw per request.
  void Assign(const Runtime& rt, const routing::Route& route, const complexity::Features& features,
              std::string_view key_id, std::string_view user, routing::RoutePlan& plan,
              RolloutAssignment& out) const;
  // Counts an ended request of an assignment (a cancelled one counts nowhere).
  static void Record(const RolloutAssignment& a, const routing::Outcome& out, double latency_ms);
  // Sets a.feedback_arm for an answered request of a rollout with a feedback gate: the
  // candidate arm's when the candidate answered it, the incumbent arm's when the incumbent did.
  static void TagForFeedback(RolloutAssignment& a, const routing::Outcome& out);
  // Where the feedback gates read ratings (null: feedback is off). Before Start().
  void SetFeedback(quality::FeedbackStore* feedback) { feedback_ = feedback; }
  // A shadow score of route's rollout candidate against its incumbent.
  void Score(std::string_view route, std::string_view primary_key, std::string_view shadow_key,
             double score) const;

  const rollout::Board& board() const { return board_; }
  // The store of the current config's `rollouts.path` (null when it cannot be opened), opened
  // again when the path changes on a reload or the file was replaced or deleted. Blocking.
  std::shared_ptr<rollout::Store> store();

  // One round (the thread calls it every second); public for tests.
  void Tick(int64_t now_ms);

 private:
  void Loop();
  // One rollout's round: read, count, evaluate (`leader`), publish into `next`; false when
  // the store could not be read (the caller decides what the share does meanwhile).
  bool Round(const Runtime& rt, const routing::Route& route, rollout::Store& store,
             const rollout::Board::Map& old, rollout::Board::Map& next, int64_t now);
  // The ratings of the stage's two arms, from the feedback store (which every replica sharing
  // it writes), into `counts`.
  void ReadFeedback(const std::string& route, const routing::RolloutConfig& cfg, int64_t epoch,
                    rollout::StageCounts& counts);
  // The lease holder's: brings the stored stages to the config's (a reload changed them), a
  // transition when the stage moves; true when it did.
  bool Restage(const routing::Route& route, rollout::State& state, rollout::Store& store,
               int64_t now);
  // Counts a transition this replica made and records its event (`actor`: "controller" or
  // "config", followed by the replica).
  void Transition(rollout::Store& store, const std::string& route, const std::string& candidate,
                  const std::string& from, const rollout::State& to, const std::string& to_text,
                  std::string_view actor, int64_t now);
  // Logs and counts every transition of the route's rollout that another process or a person
  // made since the last round (the store's events); a resume closes the candidate's breakers
  // (what they counted is from before the person's fix).
  void Follow(const Runtime& rt, const routing::Route& route, rollout::Store& store);

  std::function<std::shared_ptr<const Runtime>()> current_;
  metrics::Metrics& metrics_;
  const std::string replica_;                // this process in the store: "host:pid:random"
  static constexpr int64_t kLeaseMs = 3000;  // three rounds: a stopped leader's is taken then
  rollout::Board board_;
  std::mutex mu_;  // the store fields, stop_, wake_ (the rest is the thread's own)
  std::shared_ptr<rollout::Store> store_;
  quality::FeedbackStore* feedback_ = nullptr;
  rollout::StoreConfig store_config_;           // what store_ opened
  uint64_t store_dev_ = 0, store_ino_ = 0;      // SQLite: the file it opened
  std::string store_error_;                     // the last failure to open it, logged once
  std::map<std::string, int64_t> next_eval_;    // by route: when its gates are due, unix ms
  std::map<std::string, std::string> waiting_;  // by route: a candidate told to wait (logged once)
  std::map<std::string, int64_t> last_event_;   // by route: the last event followed
  bool board_empty_ = true;                     // Tick's: no rollout is published
  int64_t last_read_ms_ = 0;                    // Tick's: when a round last read every rollout
  std::string store_warning_;                   // the store's last failure, logged once
  static constexpr int64_t kStoreGraceMs = 3000;
  std::condition_variable cv_;
  bool stop_ = false;
  bool wake_ = false;
  std::thread thread_;
};

}  // namespace hybridgate::gateway
