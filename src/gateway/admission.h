// Who is calling, and may they: virtual-key authentication (Authorization: Bearer, Anthropic's
// x-api-key, Google's x-goog-api-key), the key's model and data-class rules, and the limiter
// (RPM/TPM buckets, budgets) — all decided before a byte is forwarded. The key store is
// followed (PollKeys), so a key revoked by any means stops working within a second. The admin
// API over the same key store is admin_api.h.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>

#include "config/config.h"
#include "http/server.h"
#include "limits/keys.h"
#include "limits/limiter.h"
#include "limits/memory_limiter.h"

namespace hybridgate::gateway {

// The admin key (limits.admin_key_env's variable), "" when none is set.
std::string AdminKey(const limits::LimitsConfig& config);

class Admission {
 public:
  // Opens the key store when auth is required or an admin key is configured.
  static Result<std::unique_ptr<Admission>> Create(const config::Config& config);
  ~Admission();

  bool auth_required() const { return config_.auth_required; }
  // The caller's key: null when auth is off; kUnauthenticated when it is on and the request
  // carries no valid key.
  Result<std::shared_ptr<const limits::KeyInfo>> Authenticate(const http::Request& req) const;
  limits::Limiter& limiter() { return *limiter_; }
  // Before the worker contexts are destroyed: the Redis limiter's connections live on them. Stops
  // the key poller and saves the process-local limiter's spends one last time.
  void Detach();
  uint64_t redis_errors() const { return limiter_ ? limiter_->redis_errors() : 0; }

  // The key store: null when auth is off and no admin key is set.
  limits::KeyStore* keys() const { return keys_.get(); }
  // Re-reads the key store (SIGHUP, after admin changes; PollKeys every second). Blocking: call off
  // the event loops.
  void ReloadKeys();

 private:
  explicit Admission(const limits::LimitsConfig& config) : config_(config) {}

  // Every second, off the event loops: reloads the keys when their database changed (or was
  // replaced), and saves the process-local limiter's budget spends into it.
  void PollKeys(std::stop_token stop);
  // The poller's thread, or after it stopped.
  void SaveSpends();

  const limits::LimitsConfig& config_;
  std::unique_ptr<limits::KeyStore> keys_;
  std::unique_ptr<limits::Limiter> limiter_;
  limits::MemoryLimiter* memory_ = nullptr;  // limiter_, when it is process-local
  uint64_t saved_version_ = 0;               // the spends' version last saved
  std::mutex poll_mu_;
  std::condition_variable_any poll_cv_;
  std::jthread poller_;  // last: stopped and joined first
};

}  // namespace hybridgate::gateway
