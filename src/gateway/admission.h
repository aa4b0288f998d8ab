// Who is calling, and may they: virtual-key authentication (Authorization: Bearer, or Anthropic's
// x-api-key), the key's model and data-class rules, and the limiter (RPM/TPM buckets, budgets) —
// all decided before a byte is forwarded. Also the admin API for keys (/admin/keys), guarded by
// an admin key, whose SQLite work runs on a thread of its own, never on an event loop.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>
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

class Admission {
 public:
  // Opens the key store when auth is required or an admin key is configured.
  static Result<std::unique_ptr<Admission>> Create(const config::Config& config);
  ~Admission();

  bool auth_required() const { return config_.auth_required; }
  // Whether the request carries the admin key (Authorization: Bearer); false when none is set.
  bool IsAdmin(const http::Request& req) const;
  // The caller's key: null when auth is off; kUnauthenticated when it is on and the request
  // carries no valid key.
  Result<std::shared_ptr<const limits::KeyInfo>> Authenticate(const http::Request& req) const;
  limits::Limiter& limiter() { return *limiter_; }
  // Before the worker contexts are destroyed: the Redis limiter's connections live on them. Stops
  // the key poller and saves the process-local limiter's spends one last time.
  void Detach();
  uint64_t redis_errors() const { return limiter_ ? limiter_->redis_errors() : 0; }

  // GET/POST /admin/keys, DELETE /admin/keys/{id}, POST /admin/keys/reload.
  boost::asio::awaitable<void> Admin(http::Exchange& ex, std::string_view path);
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
  std::string admin_key_;
  std::unique_ptr<limits::KeyStore> keys_;
  std::unique_ptr<limits::Limiter> limiter_;
  limits::MemoryLimiter* memory_ = nullptr;  // limiter_, when it is process-local
  uint64_t saved_version_ = 0;               // the spends' version last saved
  boost::asio::thread_pool admin_pool_{1};
  std::mutex poll_mu_;
  std::condition_variable_any poll_cv_;
  std::jthread poller_;  // last: stopped and joined first
};

}  // namespace hybridgate::gateway
