#include "limits/memory_limiter.h"

#include <algorithm>

namespace hybridgate::limits {
namespace {

int64_t ToMs(WallTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace

MemoryLimiter::MemoryLimiter(WallClock clock) : clock_(std::move(clock)) {}

int64_t MemoryLimiter::SpentIn(const Spend& s, const std::string& window) {
  return s.window == window ? s.micro : 0;
}

asio::awaitable<Decision> MemoryLimiter::Admit(const KeyInfo& key, Reservation hold) {
  co_return AdmitNow(key, hold);
}

asio::awaitable<void> MemoryLimiter::Settle(const KeyInfo& key, Reservation held,
                                            int64_t actual_tokens, double cost_usd) {
  SettleNow(key, held, actual_tokens, cost_usd);
  co_return;
}

Decision MemoryLimiter::AdmitNow(const KeyInfo& key, Reservation hold) {
  const WallTime now = clock_();
  const int64_t now_ms = ToMs(now);
  const int64_t estimated_tokens = std::max<int64_t>(0, hold.tokens);
  AdmitOutcome o;
  {
    std::lock_guard lock(mu_);
    KeyState& st = keys_[key.id];
    const double rpm_level = key.rpm > 0 ? BucketLevel(st.rpm, key.rpm, now_ms) : 0;
    const double tpm_level = key.tpm > 0 ? BucketLevel(st.tpm, key.tpm, now_ms) : 0;
    o.rpm_remaining = static_cast<int64_t>(rpm_level);
    o.rpm_reset_ms = MsUntil(rpm_level, static_cast<double>(key.rpm), key.rpm);
    o.tpm_remaining = static_cast<int64_t>(tpm_level);
    o.tpm_reset_ms = MsUntil(tpm_level, static_cast<double>(key.tpm), key.tpm);
    const int64_t tpm_need = std::min(estimated_tokens, key.tpm);
    if (key.budget) {
      const int64_t spent = SpentIn(st.spend, WindowId(key.budget->window, now));
      if (spent >= ToMicroUsd(key.budget->usd)) {
        o.verdict = Verdict::kKeyBudget;
        o.spent_micro = spent;
      }
    }
    if (o.verdict == Verdict::kAllowed && key.team_budget) {
      const int64_t spent = SpentIn(teams_[key.team], WindowId(key.team_budget->window, now));
      if (spent >= ToMicroUsd(key.team_budget->usd)) {
        o.verdict = Verdict::kTeamBudget;
        o.spent_micro = spent;
      }
    }
    if (o.verdict == Verdict::kAllowed && key.rpm > 0 && rpm_level < 1) {
      o.verdict = Verdict::kRpm;
      o.retry_ms = MsUntil(rpm_level, 1, key.rpm);
    }
    if (o.verdict == Verdict::kAllowed && key.tpm > 0 &&
        tpm_level < static_cast<double>(tpm_need)) {
      o.verdict = Verdict::kTpm;
      o.retry_ms = MsUntil(tpm_level, static_cast<double>(tpm_need), key.tpm);
    }
    if (o.verdict == Verdict::kAllowed) {
      if (key.rpm > 0) {
        st.rpm = {rpm_level - 1, now_ms};
        o.rpm_remaining = static_cast<int64_t>(st.rpm.tokens);
        o.rpm_reset_ms = MsUntil(st.rpm.tokens, static_cast<double>(key.rpm), key.rpm);
      }
      if (key.tpm > 0) {
        st.tpm = {tpm_level - static_cast<double>(estimated_tokens), now_ms};
        o.tpm_remaining = static_cast<int64_t>(st.tpm.tokens);
        o.tpm_reset_ms = MsUntil(st.tpm.tokens, static_cast<double>(key.tpm), key.tpm);
      }
      if (hold.micro_usd > 0 && (key.budget || key.team_budget)) {
        ++spend_version_;
        if (key.budget) AddSpend(st.spend, key.budget->window, now, hold.micro_usd);
        if (key.team_budget)
          AddSpend(teams_[key.team], key.team_budget->window, now, hold.micro_usd);
      }
    }
  }
  return MakeDecision(key, estimated_tokens, o, now);
}

void MemoryLimiter::AddSpend(Spend& s, BudgetWindow w, WallTime now, int64_t micro) {
  std::string window = WindowId(w, now);
  if (s.window != window) s = {std::move(window), 0};
  s.micro = std::max<int64_t>(0, s.micro + micro);
}

std::vector<SpendRecord> MemoryLimiter::Spends(uint64_t since, uint64_t& version) {
  std::vector<SpendRecord> out;
  std::lock_guard lock(mu_);
  version = spend_version_;
  if (spend_version_ == since) return out;
  for (const auto& [id, st] : keys_) {
    if (!st.spend.window.empty()) out.push_back({false, id, st.spend.window, st.spend.micro});
  }
  for (const auto& [team, s] : teams_) {
    if (!s.window.empty()) out.push_back({true, team, s.window, s.micro});
  }
  return out;
}

void MemoryLimiter::RestoreSpends(const std::vector<SpendRecord>& spends) {
  std::lock_guard lock(mu_);
  for (const SpendRecord& r : spends) {
    Spend& s = r.team ? teams_[r.id] : keys_[r.id].spend;
    s = {r.window, r.micro_usd};
  }
}

void MemoryLimiter::SettleNow(const KeyInfo& key, Reservation held, int64_t actual_tokens,
                              double cost_usd) {
  const WallTime now = clock_();
  const int64_t now_ms = ToMs(now);
  const int64_t delta = std::max<int64_t>(0, actual_tokens) - std::max<int64_t>(0, held.tokens);
  const int64_t micro =
      (cost_usd > 0 ? ToMicroUsd(cost_usd) : 0) - std::max<int64_t>(0, held.micro_usd);
  std::lock_guard lock(mu_);
  KeyState& st = keys_[key.id];
  if (key.tpm > 0 && delta != 0) {
    const double level = BucketLevel(st.tpm, key.tpm, now_ms) - static_cast<double>(delta);
    st.tpm = {std::min(level, static_cast<double>(key.tpm)), now_ms};
  }
  if (micro == 0 || (!key.budget && !key.team_budget)) return;
  ++spend_version_;
  if (key.budget) AddSpend(st.spend, key.budget->window, now, micro);
  if (key.team_budget) AddSpend(teams_[key.team], key.team_budget->window, now, micro);
}

double MemoryLimiter::KeySpendUsd(const KeyInfo& key) {
  if (!key.budget) return 0;
  std::lock_guard lock(mu_);
  return FromMicroUsd(SpentIn(keys_[key.id].spend, WindowId(key.budget->window, clock_())));
}

double MemoryLimiter::TeamSpendUsd(const KeyInfo& key) {
  if (!key.team_budget) return 0;
  std::lock_guard lock(mu_);
  return FromMicroUsd(SpentIn(teams_[key.team], WindowId(key.team_budget->window, clock_())));
}

}  // namespace hybridgate::limits
