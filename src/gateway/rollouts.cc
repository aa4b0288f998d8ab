#include "gateway/rollouts.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <utility>

#include "common/clock.h"
#include "common/thread.h"
#include "gateway/request_log.h"
#include "routing/routes.h"

namespace hybridgate::gateway {

namespace {

bool ClientLeft(const routing::Outcome& out) { return out.client_gone || out.cancelled_in_flight; }

// An upstream's verdict on the request itself (400, 404, 413, 422, the context window): a client
// could end any rollout by sending bad requests if these counted against the candidate.
bool ClientError(const routing::Outcome& out) {
  if (out.ok) return false;
  if (out.error.code == ErrorCode::kContextLength || out.error.code == ErrorCode::kInvalidRequest) {
    return true;
  }
  const int st = out.error.upstream_status;
  return out.error.code == ErrorCode::kUpstreamError && st >= 400 && st < 500 && st != 408 &&
         st != 429;
}

bool ServerSide(ErrorCode code) {
  return code == ErrorCode::kUpstreamUnavailable || code == ErrorCode::kUpstreamTimeout ||
         code == ErrorCode::kUnavailable || code == ErrorCode::kInternal ||
         code == ErrorCode::kUpstreamAuth;
}

std::vector<std::string> Keys(const Runtime& rt, const std::string& name) {
  std::vector<std::string> out;
  for (const routing::DeploymentInfo& d : rt.planner->Lookup(name)) out.push_back(d.key);
  return out;
}

std::string ReplicaId() {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  std::random_device rd;
  return fmt::format("{}:{}:{:04x}", host, getpid(), rd() & 0xffff);
}

}  // namespace

Rollouts::Rollouts(std::function<std::shared_ptr<const Runtime>()> current,
                   metrics::Metrics& metrics)
    : current_(std::move(current)), metrics_(metrics), replica_(ReplicaId()) {}

void Rollouts::Start() {
  Tick(UnixMs());  // the first requests already see every rollout's share
  thread_ = std::thread([this] { Loop(); });
}

void Rollouts::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stop_) return;
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mu_);
  if (store_) store_->ReleaseLeases(replica_);  // another replica takes over at once
}

void Rollouts::Wake() {
  {
    std::lock_guard lock(mu_);
    wake_ = true;
  }
  cv_.notify_all();
}

void Rollouts::Loop() {
  MarkBackgroundThread("hg-rollouts");
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stop_ || wake_; }) ||
         !stop_) {
    wake_ = false;
    lock.unlock();
    try {
      Tick(UnixMs());
    } catch (const std::exception& e) {
      LogWarn(fmt::format("rollouts: {}", e.what()));
    }
    lock.lock();
  }
}

std::shared_ptr<rollout::Store> Rollouts::store() {
  const rollout::StoreConfig where = rollout::ResolveStoreConfig(current_()->config);
  const bool sqlite = where.backend == "sqlite";
  struct stat st {};
  const bool exists = sqlite && ::stat(where.path.c_str(), &st) == 0;
  std::lock_guard lock(mu_);
  if (store_ && where == store_config_ &&
      (!sqlite || (exists && st.st_dev == store_dev_ && st.st_ino == store_ino_))) {
    return store_;
  }
  if (store_) {
    // Another store (reload), or the file was replaced or deleted under it: what a person's
    // command writes now goes to the store the config names, so follow it.
    LogWarn(
        fmt::format("rollouts: the store {} {}; opening {}", store_config_.Name(),
                    where != store_config_ ? "is no longer configured" : "was replaced or deleted",
                    where.Name()));
    store_->ReleaseLeases(replica_);
    store_.reset();
  }
  auto opened = rollout::Store::Open(where);
  if (!opened) {
    if (store_error_ != opened.error().message) {
      store_error_ = opened.error().message;
      LogWarn(fmt::format("rollouts: {}; no rollout moves until it opens", store_error_));
    }
    return nullptr;
  }
  store_error_.clear();
  store_ = std::move(*opened);
  store_config_ = where;
  if (sqlite && ::stat(where.path.c_str(), &st) == 0) {
    store_dev_ = st.st_dev;
    store_ino_ = st.st_ino;
  }
  return store_;
}

void Rollouts::Tick(int64_t now) {
  const std::shared_ptr<const Runtime> rt = current_();
  const auto& routes = rt->config.routes.routes;
  if (std::none_of(routes.begin(), routes.end(),
                   [](const routing::Route& r) { return r.rollout.has_value(); })) {
    // Nothing to do, and nothing touched: a gateway without rollouts does no work here.
    if (!board_empty_) board_.Publish(std::make_shared<const rollout::Board::Map>());
    board_empty_ = true;
    return;
  }
  board_empty_ = false;
  const std::shared_ptr<const rollout::Board::Map> old = board_.All();
  auto next = std::make_shared<rollout::Board::Map>();
  const std::shared_ptr<rollout::Store> store = this->store();
  // The store away (not opened, a rollout not read, or a store that hangs): the shares stay for
  // a blip — kStoreGraceMs since the last round that read every rollout — then the candidates
  // get nothing until it is back: no rollout runs without its gates. After the first failure a
  // round reads no more (a hung store would hold it a timeout per rollout).
  bool read_all = store != nullptr;
  std::vector<const routing::Route*> unread;
  for (const routing::Route& route : routes) {
    if (!route.rollout) continue;
    if (read_all && Round(*rt, route, *store, *old, *next, now)) continue;
    read_all = false;
    unread.push_back(&route);
  }
  const int64_t after = UnixMs();
  if (read_all) {
    if (!store_warning_.empty()) LogInfo("rollouts: the store answers again");
    store_warning_.clear();
    last_read_ms_ = after;
  }
  const bool grace = last_read_ms_ != 0 && after - last_read_ms_ < kStoreGraceMs;
  for (const routing::Route* route : unread) {
    if (const auto before = old->find(route->name); before != old->end() && grace) {
      next->emplace(route->name, before->second);
    }
  }
  for (const auto& [name, live] : *old) {
    if (!next->contains(name)) metrics_.SetRolloutShare(name, 0);
  }
  board_.Publish(std::move(next));
}

bool Rollouts::Round(const Runtime& rt, const routing::Route& route, rollout::Store& store,
                     const rollout::Board::Map& old, rollout::Board::Map& next, int64_t now) {
  const routing::RolloutConfig& cfg = *route.rollout;
  const auto before = old.find(route.name);
  std::string replaced;
  auto got = store.Get(route.name, cfg, now, &replaced);
  if (!got) {
    // Said once while the store stays away (a hung store's timeout, then a refused connect, is
    // one episode): every round would repeat it. Its return is said too (Tick).
    if (std::exchange(store_warning_, got.error().message).empty()) {
      LogWarn(
          fmt::format("rollouts: route '{}': {}; the candidates lose their share after {} s "
                      "without the store",
                      route.name, got.error().message, kStoreGraceMs / 1000));
    }
    return false;
  }
  rollout::State state = std::move(*got);
  if (state.candidate != cfg.candidate) {
    // Another candidate's rollout is running (a replica with an older config, or one not yet
    // reloaded): it goes on, and this one waits without traffic.
    if (std::exchange(waiting_[route.name], cfg.candidate) != cfg.candidate) {
      LogWarn(
          fmt::format("rollout '{}': the store holds the {} rollout of '{}'; '{}' starts "
                      "once it is complete or rolled back",
                      route.name, rollout::Describe(cfg, state), state.candidate, cfg.candidate));
    }
    return true;
  }
  waiting_.erase(route.name);
  if (!replaced.empty()) {
    const std::string to = rollout::Describe(cfg, state);
    LogInfo(fmt::format("rollout '{}': {} replacing {} starts ({}); it replaces the rollout of {}",
                        route.name, cfg.candidate, cfg.incumbent, to, replaced));
    Transition(store, route.name, cfg.candidate, replaced, state, to, "config", now);
  }
  Follow(rt, route, store);
  std::shared_ptr<rollout::LiveCounters> counters;
  if (before != old.end() && before->second->epoch == state.epoch &&
      before->second->candidate == state.candidate) {
    counters = before->second->counters;
  } else {
    counters = std::make_shared<rollout::LiveCounters>();
  }
  if (auto put = store.PutCounts(route.name, state.epoch, replica_, counters->Snapshot(), now);
      !put) {
    LogWarn(fmt::format("rollouts: route '{}': {}", route.name, put.error().message));
  }
  // One replica evaluates each rollout: the holder of its lease (renewed every round), which
  // also brings the stored stages to its config's.
  auto lease = store.Lease(route.name, replica_, now, kLeaseMs);
  if (!lease) LogWarn(fmt::format("rollouts: route '{}': {}", route.name, lease.error().message));
  const bool leader = lease && *lease;
  if (leader && Restage(route, state, store, now)) {
    counters = std::make_shared<rollout::LiveCounters>();
  }
  int64_t& due = next_eval_[route.name];
  if (leader && now >= due) {
    due = now + cfg.interval_ms;
    auto summed = store.SumCounts(route.name, state.epoch);
    if (!summed) {
      LogWarn(fmt::format("rollouts: route '{}': {}", route.name, summed.error().message));
    }
    rollout::StageCounts counts = summed ? *summed : counters->Snapshot();
    if (cfg.gates.feedback_drop_max) ReadFeedback(route.name, cfg, state.epoch, counts);
    const rollout::Verdict verdict = rollout::Evaluate(cfg, state, counts, now);
    rollout::State moved = state;
    moved.report_json = rollout::VerdictJson(verdict, counts);
    moved.updated_ms = now;
    bool transition = false;
    if (verdict.action == rollout::Verdict::Action::kPromote) {
      rollout::KeepIncumbentBaseline(moved, counts);
      transition = rollout::Apply(cfg, moved, rollout::Command::kPromote, now,
                                  fmt::format("promoted: {} over {} candidate requests",
                                              verdict.why, counts.candidate.requests))
                       .has_value();
    } else if (verdict.action == rollout::Verdict::Action::kRollBack) {
      transition =
          rollout::Apply(cfg, moved, rollout::Command::kRollBack, now, verdict.why).has_value();
    }
    auto put = store.Put(moved);
    if (!put) {
      LogWarn(fmt::format("rollouts: route '{}': {}", route.name, put.error().message));
    } else if (!*put) {
      due = now;  // a person's command came first: read it again next round
    } else {
      if (transition) {
        const std::string from = rollout::Describe(cfg, state);
        const std::string to = rollout::Describe(cfg, moved);
        LogInfo(fmt::format("rollout '{}' ({} replacing {}): {} -> {}: {}", route.name,
                            cfg.candidate, cfg.incumbent, from, to, moved.reason));
        Transition(store, route.name, cfg.candidate, from, moved, to, "controller", now);
        counters = std::make_shared<rollout::LiveCounters>();
      }
      state = std::move(moved);
    }
  }
  auto live = std::make_shared<rollout::LiveRollout>();
  live->route = route.name;
  live->candidate = cfg.candidate;
  live->incumbent = cfg.incumbent;
  live->candidate_keys = Keys(rt, cfg.candidate);
  live->incumbent_keys = Keys(rt, cfg.incumbent);
  live->phase = state.phase;
  live->percent = rollout::SharePercent(cfg, state);
  live->epoch = state.epoch;
  live->label = fmt::format("{}/{}", route.name, live->percent);
  if (cfg.gates.feedback_drop_max) {
    live->feedback_name = rollout::FeedbackName(route.name, cfg);
  }
  live->salt = rollout::StickySalt(route.name, cfg.candidate);
  live->sticky = cfg.sticky;
  live->counters = std::move(counters);
  metrics_.SetRolloutShare(route.name, live->percent);
  next.emplace(route.name, std::move(live));
  return true;
}

void Rollouts::ReadFeedback(const std::string& route, const routing::RolloutConfig& cfg,
                            int64_t epoch, rollout::StageCounts& counts) {
  if (feedback_ == nullptr) return;  // the gate stays unknown: nothing promotes on it
  const std::string name = rollout::FeedbackName(route, cfg);
  // The candidate's answers of this stage against the incumbent's of the whole rollout: its
  // quality does not change with the share, and at 100% it answers nothing new.
  auto candidate = feedback_->Scores(name, "candidate", epoch);
  auto incumbent = candidate ? feedback_->Scores(name, "incumbent", -1) : candidate;
  for (const auto* r : {&candidate, &incumbent}) {
    if (!*r) {
      LogWarn(fmt::format("rollouts: route '{}': {}", route, (*r).error().message));
      return;
    }
  }
  counts.feedback_candidate = {
      .n = candidate->n, .sum = candidate->sum, .sq_sum = candidate->sq_sum};
  counts.feedback_incumbent = {
      .n = incumbent->n, .sum = incumbent->sum, .sq_sum = incumbent->sq_sum};
}

bool Rollouts::Restage(const routing::Route& route, rollout::State& state, rollout::Store& store,
                       int64_t now) {
  const routing::RolloutConfig& cfg = *route.rollout;
  rollout::State moved = state;
  const std::string from = rollout::Describe(cfg, state);
  const bool restaged = rollout::AdoptStages(cfg, moved, now);
  const bool replaced = rollout::AdoptIncumbent(cfg, moved, now);
  if (!restaged && !replaced) {
    if (moved.stages == state.stages && moved.incumbent == state.incumbent) return false;
    state = moved;  // only recorded (a row stored before them); nothing moves
    return false;
  }
  moved.reason = replaced
                     ? fmt::format(
                           "the config's incumbent changed from '{}' to '{}': the evidence starts "
                           "again; {} -> {}",
                           state.incumbent, cfg.incumbent, from, rollout::Describe(cfg, moved))
                     : fmt::format("the config's stages changed; {} -> {}", from,
                                   rollout::Describe(cfg, moved));
  moved.updated_ms = now;
  auto put = store.Put(moved);
  if (!put || !*put) return false;  // read again next round
  LogInfo(fmt::format("rollout '{}' ({} replacing {}): {}", route.name, cfg.candidate,
                      cfg.incumbent, moved.reason));
  Transition(store, route.name, cfg.candidate, from, moved, rollout::Describe(cfg, moved), "config",
             now);
  state = std::move(moved);
  return true;
}

void Rollouts::Transition(rollout::Store& store, const std::string& route,
                          const std::string& candidate, const std::string& from,
                          const rollout::State& to, const std::string& to_text,
                          std::string_view actor, int64_t now) {
  metrics_.RecordRolloutTransition(route, rollout::PhaseName(to.phase));
  if (auto s = store.AddEvent({.time_ms = now,
                               .route = route,
                               .candidate = candidate,
                               .from = from,
                               .to = to_text,
                               .reason = to.reason,
                               .actor = fmt::format("{} {}", actor, replica_)});
      !s) {
    LogWarn(fmt::format("rollouts: route '{}': {}", route, s.error().message));
  }
}

void Rollouts::Follow(const Runtime& rt, const routing::Route& route, rollout::Store& store) {
  const routing::RolloutConfig& cfg = *route.rollout;
  const auto it = last_event_.try_emplace(route.name, -1).first;
  int64_t last = it->second;
  auto events = store.EventsAfter(route.name, last, 100, &last);
  if (!events) return;  // read again next round
  it->second = last;
  for (const rollout::Event& e : *events) {
    if (e.actor.ends_with(" " + replica_)) continue;  // this replica's: logged when it was made
    LogInfo(fmt::format("rollout '{}' ({} replacing {}): {} -> {} by {}: {}", route.name,
                        e.candidate, cfg.incumbent, e.from, e.to, e.actor, e.reason));
    const std::string_view to(e.to);
    metrics_.RecordRolloutTransition(route.name, to.substr(0, to.find(' ')));
    const bool resumed = to.starts_with("running") &&
                         (e.from.starts_with("rolled_back") || e.from.starts_with("pending"));
    if (resumed && e.candidate == cfg.candidate) {
      // What the candidate's breakers counted is from before the person's fix.
      routing::BreakerSet& breakers = rt.planner->BreakersFor(route);
      for (const std::string& key : Keys(rt, cfg.candidate)) breakers.Get(key).Reset();
    }
  }
}

void Rollouts::Assign(const Runtime& rt, const routing::Route& route,
                      const complexity::Features& features, std::string_view key_id,
                      std::string_view user, routing::RoutePlan& plan,
                      RolloutAssignment& out) const {
  if (!route.rollout || plan.candidates.empty()) return;
  std::shared_ptr<const rollout::LiveRollout> live = board_.Find(route.name);
  if (!live || live->percent <= 0 || live->candidate != route.rollout->candidate) return;
  // Eligible: the route would send it to the incumbent …
  const routing::Candidate first = plan.candidates.front();
  const auto incumbents = rt.catalog->Find(route.rollout->incumbent);
  if (std::none_of(incumbents.begin(), incumbents.end(), [&](const routing::Deployment& d) {
        return d.model == first.deployment.model;
      })) {
    return;
  }
  // … and the candidate may take it (residency, capabilities, context). An open breaker does
  // not make a request ineligible: the executor skips the candidate, the incumbent answers, and
  // the candidate arm counts the failure, as the gates must see it.
  std::vector<routing::Candidate> takers;
  for (const routing::DeploymentInfo& info : rt.planner->Lookup(route.rollout->candidate)) {
    if (routing::DeploymentUnfit(info, features) != routing::WhyCode::kNone) continue;
    for (const routing::Deployment& d : rt.catalog->Find(info.key)) {
      takers.push_back({.deployment = d, .tier_index = first.tier_index, .tier = first.tier});
    }
  }
  if (takers.empty()) return;
  const std::string_view sticky = live->sticky == routing::Sticky::kKey
                                      ? (key_id.empty() ? user : key_id)
                                  : live->sticky == routing::Sticky::kUser ? user
                                                                           : std::string_view();
  const bool candidate = live->InCandidateArm(sticky);
  out.arm = candidate ? rollout::Arm::kCandidate : rollout::Arm::kIncumbent;
  out.candidate = takers.front().deployment.model;
  out.header = fmt::format("{}/{}", live->label, rollout::ArmName(out.arm));
  out.live = std::move(live);
  if (!candidate) return;
  // The candidate first; the route's own plan (the incumbent) stays the fallback.
  std::erase_if(plan.candidates, [&](const routing::Candidate& c) {
    return std::any_of(takers.begin(), takers.end(), [&](const routing::Candidate& t) {
      return t.deployment.model == c.deployment.model;
    });
  });
  plan.candidates.insert(plan.candidates.begin(), takers.begin(), takers.end());
}

void Rollouts::Record(const RolloutAssignment& a, const routing::Outcome& out, double latency_ms) {
  if (!a.live || out.attempts == 0 || ClientError(out)) return;
  if (ClientLeft(out)) {
    // A client that left while the candidate had its request and had not sent a byte: it made
    // the client wait (a hang counts). One that left once the answer flowed says nothing.
    if (a.arm == rollout::Arm::kCandidate && out.deployment.model == a.candidate &&
        out.ttft.count() < 0) {
      a.live->counters->Record(a.arm, true, std::nullopt);
    }
    return;
  }
  const bool by_candidate = out.ok && out.deployment.model == a.candidate;
  if (a.arm == rollout::Arm::kCandidate) {
    a.live->counters->Record(a.arm, !by_candidate,
                             by_candidate ? std::optional<double>(latency_ms) : std::nullopt);
  } else {
    const bool error = !out.ok && ServerSide(out.error.code);
    a.live->counters->Record(
        a.arm, error, out.ok && !by_candidate ? std::optional<double>(latency_ms) : std::nullopt);
  }
}

void Rollouts::TagForFeedback(RolloutAssignment& a, const routing::Outcome& out) {
  if (!a.live || a.live->feedback_name.empty() || !out.ok) return;
  const bool by_candidate = out.deployment.model == a.candidate;
  if ((a.arm == rollout::Arm::kCandidate) != by_candidate) return;  // a fallback answered
  a.feedback_arm = rollout::ArmName(a.arm);
}

void Rollouts::Score(std::string_view route, std::string_view primary_key,
                     std::string_view shadow_key, double score) const {
  const std::shared_ptr<const rollout::LiveRollout> live = board_.Find(route);
  if (!live) return;
  auto has = [](const std::vector<std::string>& keys, std::string_view k) {
    return std::find(keys.begin(), keys.end(), k) != keys.end();
  };
  if (has(live->incumbent_keys, primary_key) && has(live->candidate_keys, shadow_key)) {
    live->counters->Score(score);
  }
}

}  // namespace hybridgate::gateway
