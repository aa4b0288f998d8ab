#include "dashboard/row_cache.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <limits>

namespace hybridgate::dashboard {
namespace {

constexpr int64_t kMinute = 60'000;
constexpr int64_t kDay = 86'400'000;
constexpr size_t kBatch = 50'000;

int32_t Clamp32(int64_t v) {
  return static_cast<int32_t>(std::clamp<int64_t>(v, std::numeric_limits<int32_t>::min(),
                                                  std::numeric_limits<int32_t>::max()));
}

// Nearest rank (ledger/report.h) of `values`, which it reorders; 0 when empty.
int64_t NearestRank(std::vector<int32_t>& values, int p) {
  if (values.empty()) return 0;
  const auto n = static_cast<int64_t>(values.size());
  const int64_t rank = std::min(n, std::max<int64_t>(1, (p * n + 99) / 100));
  auto at = values.begin() + (rank - 1);
  std::nth_element(values.begin(), at, values.end());
  return *at;
}

}  // namespace

RowCache::RowCache(size_t max_rows) : max_rows_(max_rows) {
  names_.emplace_back();
  ids_.emplace("", 0);
  trails_.emplace_back();
  none_id_ = Intern("none");
  route_id_ = Intern("route");
  redact_id_ = Intern("redact");
  block_id_ = Intern("block");
  self_hosted_id_ = Intern("self_hosted");
  external_id_ = Intern("external");
  rate_limited_id_ = Intern(CodeName(ErrorCode::kRateLimited));
  budget_exceeded_id_ = Intern(CodeName(ErrorCode::kBudgetExceeded));
  unauthenticated_id_ = Intern(CodeName(ErrorCode::kUnauthenticated));
  Intern("(others)");
}

uint32_t RowCache::Intern(std::string_view s) {
  if (auto it = ids_.find(std::string(s)); it != ids_.end()) return it->second;
  if (names_.size() >= kMaxNames) return ids_.at("(others)");
  const auto id = static_cast<uint32_t>(names_.size());
  names_.emplace_back(s);
  ids_.emplace(std::string(s), id);
  return id;
}

uint32_t RowCache::InternTrail(Trail t) {
  std::string key = t.egress.empty()
                        ? fmt::format("\x1f{}\x1f{}\x1f{}", t.provider, t.zone, t.max_class)
                        : t.egress;
  if (auto it = trail_ids_.find(key); it != trail_ids_.end()) return it->second;
  if (trails_.size() >= kMaxNames) {
    // Past the bound a trail is judged as the worst it could be: never silently clean.
    t = {"", "(others)", "external", 0};
    key = "\x1f(others)";
    if (auto it = trail_ids_.find(key); it != trail_ids_.end()) return it->second;
  }
  const auto id = static_cast<uint32_t>(trails_.size());
  trails_.push_back(std::move(t));
  trail_ids_.emplace(std::move(key), id);
  return id;
}

Status RowCache::Refresh(LedgerReader& reader, int64_t now_ms) {
  const int64_t since = now_ms - kSpanMs;
  const std::array<int64_t, 2> all = {0, std::numeric_limits<int64_t>::max()};
  auto head = reader.Query(
      "SELECT COALESCE(MAX(seq), 0) FROM requests WHERE seq >= ?1 AND "
      "seq < ?2",
      all, 1);
  if (!head) return Fail(head.error());
  const int64_t top = head->empty() ? 0 : CellInt((*head)[0][0]);
  while (last_seq_ < top) {
    const std::array<int64_t, 3> params = {last_seq_, top, since};
    auto batch = reader.Query(
        fmt::format(
            "SELECT seq, time_ms, provider_zone, tier, model, input_tokens, "
            "cached_input_tokens, output_tokens, cost_usd, status, fallback, escalated, "
            "usage_estimated, stream, ttft_ms, latency_ms, data_class, residency_action, "
            "finding_types, egress, provider, provider_max_class, key_name, team, error_code FROM "
            "requests WHERE "
            "seq > ?1 AND seq <= ?2 AND time_ms >= ?3 ORDER BY seq LIMIT {}",
            kBatch),
        params, kBatch);
    if (!batch) return Fail(batch.error());
    for (const Cells& c : *batch) {
      Compact r;
      r.time_ms = CellInt(c[1]);
      r.zone = Intern(c[2]);
      r.tier = Intern(c[3]);
      r.model = Intern(c[4]);
      r.input_tokens = Clamp32(CellInt(c[5]));
      r.cached_input_tokens = Clamp32(CellInt(c[6]));
      r.output_tokens = Clamp32(CellInt(c[7]));
      r.cost_usd = CellDouble(c[8]);
      r.status = static_cast<int16_t>(std::clamp<int64_t>(CellInt(c[9]), -1, 999));
      r.flags = (CellInt(c[10]) ? kFallback : 0) | (CellInt(c[11]) ? kEscalated : 0) |
                (CellInt(c[12]) ? kEstimated : 0) | (CellInt(c[13]) ? kStream : 0);
      r.ttft_ms = Clamp32(CellInt(c[14]));
      r.latency_ms = Clamp32(CellInt(c[15]));
      r.data_class = static_cast<uint8_t>(std::clamp<int64_t>(CellInt(c[16]), 0, 255));
      r.action = Intern(c[17]);
      r.findings = c[18].empty() ? 0 : Intern(c[18]);
      // The attempts the audit checks: not on rows without residency facts or redacted ones.
      if (!c[17].empty() && r.action != redact_id_ && (!c[19].empty() || !c[20].empty())) {
        r.trail = InternTrail({c[19], c[20], c[2], CellInt(c[21])});
      }
      r.key = Intern(c[22]);
      r.team = Intern(c[23]);
      r.error = Intern(c[24]);
      const int64_t minute = r.time_ms / kMinute * kMinute;
      cost_by_minute_[minute] += r.cost_usd;
      if (r.time_ms >= evicted_until_) {
        minutes_[minute].push_back(r);
        ++rows_;
      }
    }
    last_seq_ = batch->size() < kBatch ? top : CellInt(batch->back()[0]);
  }
  loaded_since_ = std::min(loaded_since_, since);
  Evict(now_ms);
  return {};
}

void RowCache::Evict(int64_t now_ms) {
  const int64_t since = now_ms - kSpanMs;
  loaded_since_ = std::max(loaded_since_, since);
  while (!minutes_.empty() && minutes_.begin()->first + kMinute <= since) {
    rows_ -= minutes_.begin()->second.size();
    minutes_.erase(minutes_.begin());
  }
  while (!cost_by_minute_.empty() && cost_by_minute_.begin()->first + kMinute <= since) {
    cost_by_minute_.erase(cost_by_minute_.begin());
  }
  while (rows_ > max_rows_ && !minutes_.empty()) {
    rows_ -= minutes_.begin()->second.size();
    evicted_until_ = std::max(evicted_until_, minutes_.begin()->first + kMinute);
    minutes_.erase(minutes_.begin());
  }
}

double RowCache::CostSince(int64_t since_ms) const {
  const int64_t first = since_ms / kMinute * kMinute;
  double cost = 0;
  auto it = cost_by_minute_.lower_bound(first);
  if (it != cost_by_minute_.end() && it->first == first) {
    // The minute the span starts in: its rows after the start, when they are held.
    auto held = minutes_.find(first);
    if (held != minutes_.end() && first >= evicted_until_) {
      for (const Compact& r : held->second) cost += r.time_ms >= since_ms ? r.cost_usd : 0;
    } else {
      cost += it->second;
    }
    ++it;
  }
  for (; it != cost_by_minute_.end(); ++it) cost += it->second;
  return cost;
}

bool RowCache::Covers(int64_t since_ms) const {
  return loaded_since_ != INT64_MAX && since_ms >= loaded_since_ && since_ms >= evicted_until_;
}

Overview RowCache::MakeOverview(const Window& w, int64_t now_ms) const {
  Overview o;
  Sums& t = o.totals;
  std::vector<Group> zones(names_.size()), tiers(names_.size()), models(names_.size());
  std::vector<int32_t> latencies, ttfts;
  AddEmptyBuckets(o.series, w);
  for (auto m = minutes_.lower_bound(w.since_ms / kMinute * kMinute);
       m != minutes_.end() && m->first < w.until_ms; ++m) {
    Point* point = nullptr;
    int64_t point_at = -1;
    for (const Compact& r : m->second) {
      if (r.time_ms < w.since_ms || r.time_ms >= w.until_ms) continue;
      const int64_t tokens = int64_t{r.input_tokens} + r.output_tokens;
      const bool error = r.status < 200 || r.status >= 300;
      ++t.requests;
      t.input_tokens += r.input_tokens;
      t.cached_input_tokens += r.cached_input_tokens;
      t.output_tokens += r.output_tokens;
      t.cost_usd += r.cost_usd;
      t.errors += error;
      t.fallbacks += (r.flags & kFallback) != 0;
      t.escalations += (r.flags & kEscalated) != 0;
      t.estimated += (r.flags & kEstimated) != 0;
      latencies.push_back(r.latency_ms);
      if ((r.flags & kStream) && r.ttft_ms >= 0) {
        ++t.streamed;
        ttfts.push_back(r.ttft_ms);
      }
      for (auto* g : {&zones[r.zone], &tiers[r.tier], &models[r.model]}) {
        ++g->requests;
        g->tokens += tokens;
        g->errors += error;
        g->cost_usd += r.cost_usd;
      }
      const int64_t at = r.time_ms / w.bucket_ms * w.bucket_ms;
      if (at != point_at) {
        point = &o.series[at];
        point_at = at;
      }
      ++point->requests;
      point->self_hosted += r.zone == self_hosted_id_;
      point->external += r.zone == external_id_;
      point->tokens += tokens;
      point->cost_usd += r.cost_usd;
      point->errors += error;
    }
  }
  o.p50_latency_ms = NearestRank(latencies, 50);
  o.p95_latency_ms = NearestRank(latencies, 95);
  o.p50_ttft_ms = NearestRank(ttfts, 50);
  o.p95_ttft_ms = NearestRank(ttfts, 95);
  auto collect = [&](std::vector<Group>& from, std::vector<Group>& to, size_t limit) {
    for (size_t id = 0; id < from.size(); ++id) {
      if (from[id].requests == 0) continue;
      from[id].name = names_[id].empty() ? "(none)" : names_[id];
      to.push_back(std::move(from[id]));
    }
    RankGroups(to, limit);
  };
  collect(zones, o.zones, 10);
  collect(tiers, o.tiers, 50);
  collect(models, o.models, kTopModels);
  const int64_t today = now_ms / kDay * kDay;
  o.spend_today = CostSince(today);
  o.spend_7d = CostSince(now_ms - 7 * kDay);
  o.spend_30d = CostSince(now_ms - 30 * kDay);
  return o;
}

Protection RowCache::MakeProtection(const Window& w) const {
  Protection p;
  std::array<ClassRow, 256> classes{};
  std::vector<int64_t> sets(names_.size());
  std::map<std::pair<uint8_t, uint32_t>, int64_t> trails;
  for (auto m = minutes_.lower_bound(w.since_ms / kMinute * kMinute);
       m != minutes_.end() && m->first < w.until_ms; ++m) {
    for (const Compact& r : m->second) {
      if (r.time_ms < w.since_ms || r.time_ms >= w.until_ms) continue;
      ClassRow& c = classes[r.data_class];
      ++c.requests;
      c.none += r.action == none_id_;
      c.route += r.action == route_id_;
      c.redact += r.action == redact_id_;
      c.block += r.action == block_id_;
      c.self_hosted += r.zone == self_hosted_id_;
      c.external += r.zone == external_id_;
      if (r.findings) ++sets[r.findings];
      if (r.trail) ++trails[{r.data_class, r.trail}];
    }
  }
  for (size_t k = 0; k < classes.size(); ++k) {
    if (classes[k].requests == 0) continue;
    classes[k].data_class = static_cast<int64_t>(k);
    p.classes.push_back(classes[k]);
  }
  for (size_t id = 0; id < sets.size(); ++id) {
    if (sets[id] > 0) p.AddFindings(names_[id], sets[id]);
  }
  for (const auto& [key, n] : trails) {
    const Trail& tr = trails_[key.second];
    p.AddTrail(key.first, tr.egress, tr.provider, tr.zone, tr.max_class, n);
  }
  return p;
}

KeysUse RowCache::MakeKeys(const Window& w, int64_t now_ms) const {
  const int64_t day = DayStartMs(now_ms), month = MonthStartMs(now_ms);
  std::map<uint32_t, std::pair<KeyUse, uint32_t>> keys;  // key -> use, its team
  std::map<uint32_t, KeyUse> teams;
  for (auto m = minutes_.lower_bound(std::min(w.since_ms, month) / kMinute * kMinute);
       m != minutes_.end() && m->first < w.until_ms; ++m) {
    for (const Compact& r : m->second) {
      if (r.time_ms >= w.until_ms) continue;
      const bool in_window = r.time_ms >= w.since_ms;
      if (!in_window && r.time_ms < month) continue;
      auto& [k, team] = keys[r.key];
      team = std::max(team, r.team, [&](uint32_t a, uint32_t b) { return names_[a] < names_[b]; });
      for (KeyUse* u : {&k, r.team ? &teams[r.team] : nullptr}) {
        if (!u) continue;
        if (in_window) {
          ++u->requests;
          u->cost_usd += r.cost_usd;
          u->rate_limited += r.error == rate_limited_id_;
          u->budget_exceeded += r.error == budget_exceeded_id_;
          u->unauthenticated += r.error == unauthenticated_id_;
        }
        if (r.time_ms >= day) u->spent_today += r.cost_usd;
        if (r.time_ms >= month) u->spent_month += r.cost_usd;
      }
    }
  }
  KeysUse use;
  for (auto& [id, k] : keys) {
    k.first.key = names_[id];
    k.first.team = names_[k.second];
    use.keys.push_back(std::move(k.first));
  }
  for (auto& [id, t] : teams) {
    t.team = names_[id];
    use.teams.push_back(std::move(t));
  }
  SortKeys(use);
  return use;
}

}  // namespace hybridgate::dashboard
