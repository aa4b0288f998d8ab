// Limiter shared by gateway replicas through Redis: each check is one atomic Lua script (EVALSHA,
// EVAL when the server answers NOSCRIPT), so replicas enforce one RPM/TPM bucket and one budget
// per key and team. Each worker io_context gets its own hiredis async connection. When Redis is
// down or slow, on_redis_error decides: open admits (and logs, rate limited) or closed answers 503.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "limits/limiter.h"
#include "limits/limits_config.h"
#include "limits/redis_connection.h"

namespace boost::asio {
class execution_context;
}

namespace hybridgate::limits {

struct RedisLimiterOptions {
  RedisAddress address;
  std::chrono::milliseconds timeout{50};  // per round trip, connect included
  bool fail_open = true;
  WallClock clock = SystemNow;  // names the budget windows; buckets use Redis's own TIME
  std::string key_prefix = "hg:";
  std::chrono::milliseconds reconnect_backoff{200};
  std::chrono::milliseconds log_interval{10'000};  // at most one "redis unavailable" warning per
};

// Call Admit/Settle from coroutines running on an io_context with one thread (the gateway's
// per-worker contexts). Destroy the limiter before those io_contexts, once they have stopped.
class RedisLimiter final : public Limiter {
 public:
  explicit RedisLimiter(RedisLimiterOptions options);
  ~RedisLimiter() override;

  using Limiter::Admit;
  using Limiter::Settle;
  asio::awaitable<Decision> Admit(const KeyInfo& key, Reservation hold) override;
  asio::awaitable<void> Settle(const KeyInfo& key, Reservation held, int64_t actual_tokens,
                               double cost_usd) override;
  uint64_t redis_errors() const override { return errors_.load(std::memory_order_relaxed); }

  // Spend recorded in Redis for the key's / team's current window (for tests and the admin API).
  asio::awaitable<Result<double>> KeySpendUsd(const KeyInfo& key);
  asio::awaitable<Result<double>> TeamSpendUsd(const KeyInfo& key);

 private:
  struct Script {
    std::string body, sha1;
  };
  asio::awaitable<std::shared_ptr<RedisConnection>> WorkerConnection();
  asio::awaitable<Result<RedisValue>> Eval(const Script& script, std::vector<std::string> keys,
                                           std::vector<std::string> args);
  asio::awaitable<Result<double>> Spend(std::string key);
  void CountError(const Error& error, std::string_view operation);
  std::string KeySpendKey(const KeyInfo& key, WallTime now) const;
  std::string TeamSpendKey(const KeyInfo& key, WallTime now) const;

  RedisLimiterOptions options_;
  Script admit_, settle_;
  std::mutex mu_;
  std::unordered_map<const asio::execution_context*, std::shared_ptr<RedisConnection>> connections_;
  std::atomic<uint64_t> errors_{0};
  std::atomic<int64_t> last_log_ms_{0};
  std::atomic<uint64_t> errors_logged_{0};
};

}  // namespace hybridgate::limits
