// The dashboard, on the gateway's own listener and behind the admin key (limits.admin_key_env):
//   /ui/…          the pages (assets.h), compiled into the binary;
//   /ui/login      GET: the login form; POST key=<admin key>: a session cookie (session.h) and a
//                  redirect to /ui/; /ui/logout ends it;
//   /admin/api/…   the data API (data_api.h): overview, protection, keys; GET only, JSON;
//                  documented in docs/DASHBOARD.md.
// A page or an /admin/api/ call without the admin key (Authorization: Bearer, or the session
// cookie) is answered 401: a page with the login form, the API with an OpenAI-shaped error.
// Off (404 saying how to turn it on) when no admin key is set.
//
// The documents come from the last 32 days of ledger rows held in memory (row_cache.h: read on
// the first call, then only what was committed since, ~80 bytes a row, at most 2M rows), or from
// the ledger's SQL for a window the memory does not cover. Ledger statements run on the
// dashboard's own thread, never on an event loop, one at a time,
// a call answered within the timeout from its arrival, waiting included (else 503); at most
// kMaxWaiting calls wait for it (more: 503). Close() stops the statement under way and refuses
// the calls queued; it never waits on an event loop.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "dashboard/data_api.h"
#include "dashboard/ledger_reader.h"
#include "dashboard/row_cache.h"
#include "http/server.h"
#include "limits/keys.h"

namespace hybridgate::dashboard {

class Dashboard {
 public:
  static constexpr int kMaxWaiting = 8;
  static constexpr size_t kMaxSessions = 1000;  // signed-in browsers; past it the oldest goes

  // `ledger_source`: the ledger's SQLite file or PostgreSQL DSN; "" when the ledger is off.
  Dashboard(std::string admin_key, std::string ledger_source, int query_timeout_ms = 5000);
  ~Dashboard();

  // Whether `path` is the dashboard's: /ui, /ui/…, /admin/api/….
  static bool Handles(std::string_view path);
  // The configured virtual keys for /admin/api/keys (called on the dashboard's thread; it may
  // block). Unset: no key store, the keys seen in the ledger only.
  using KeyLister = std::function<Result<std::vector<limits::KeyInfo>>()>;
  void SetKeyLister(KeyLister f) { list_keys_ = std::move(f); }
  boost::asio::awaitable<void> Serve(http::Exchange& ex, std::string_view path);
  void Close();

 private:
  bool Authorized(const http::Request& req) const;
  boost::asio::awaitable<void> Login(http::Exchange& ex);
  boost::asio::awaitable<void> Api(http::Exchange& ex, std::string_view path);
  // One data API document (the dashboard's thread).
  Result<std::string> Document(std::string_view name, const Window& w, int64_t now,
                               std::chrono::steady_clock::time_point deadline);

  const std::string admin_key_;
  const std::string ledger_source_;
  const int query_timeout_ms_;
  std::unique_ptr<LedgerReader> reader_;  // the pool's thread only
  RowCache cache_;                        // the pool's thread only
  KeyLister list_keys_;
  mutable std::mutex sessions_mu_;
  std::map<std::string, int64_t> sessions_;  // nonce -> expiry (unix s): the sessions issued
  std::atomic<int> waiting_{0};
  std::atomic<bool> closed_{false};
  boost::asio::thread_pool pool_{1};
};

}  // namespace hybridgate::dashboard
