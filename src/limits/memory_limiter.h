// Process-local Limiter: one mutex-guarded table of buckets and window spends. Right for a single
// gateway process; several replicas need RedisLimiter to share limits.
#pragma once

#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "limits/limiter.h"

namespace hybridgate::limits {

class MemoryLimiter final : public Limiter {
 public:
  explicit MemoryLimiter(WallClock clock = SystemNow);

  using Limiter::Admit;
  using Limiter::Settle;
  asio::awaitable<Decision> Admit(const KeyInfo& key, Reservation hold) override;
  asio::awaitable<void> Settle(const KeyInfo& key, Reservation held, int64_t actual_tokens,
                               double cost_usd) override;

  // The same, synchronously (what the awaitables do; handy in tests and tools).
  Decision AdmitNow(const KeyInfo& key, Reservation hold);
  Decision AdmitNow(const KeyInfo& key, int64_t estimated_tokens) {
    return AdmitNow(key, Reservation{estimated_tokens, 0});
  }
  void SettleNow(const KeyInfo& key, Reservation held, int64_t actual_tokens, double cost_usd);
  void SettleNow(const KeyInfo& key, int64_t estimated_tokens, int64_t actual_tokens,
                 double cost_usd) {
    SettleNow(key, Reservation{estimated_tokens, 0}, actual_tokens, cost_usd);
  }

  // Every key's and team's spend (reservations included), for persisting across restarts; `since`
  // and the returned version make it incremental: empty when nothing changed since `since`.
  std::vector<SpendRecord> Spends(uint64_t since, uint64_t& version);
  // Puts persisted spends back (at startup, before any request).
  void RestoreSpends(const std::vector<SpendRecord>& spends);

  // Spend recorded in the current window, for tests and the admin API.
  double KeySpendUsd(const KeyInfo& key);
  double TeamSpendUsd(const KeyInfo& key);

 private:
  struct Spend {
    std::string window;  // WindowId the amount belongs to; another window starts from 0
    int64_t micro = 0;
  };
  struct KeyState {
    Bucket rpm, tpm;
    Spend spend;
  };
  static int64_t SpentIn(const Spend& s, const std::string& window);
  // Adds `micro` (may be negative: a settled reservation) to the window of `now`, not below 0.
  static void AddSpend(Spend& s, BudgetWindow w, WallTime now, int64_t micro);

  WallClock clock_;
  std::mutex mu_;
  std::unordered_map<std::string, KeyState> keys_;  // by key id
  std::unordered_map<std::string, Spend> teams_;    // by team
  uint64_t spend_version_ = 0;                      // bumped by every spend change
};

}  // namespace hybridgate::limits
