// The admin API: /admin/keys over the virtual-key store (list, create, revoke, reload) and
// /admin/rollouts (gateway/rollouts.h), guarded by the admin key (limits.admin_key_env), and the
// admin check other endpoints use for their operator-only details (/readyz). The stores' SQLite
// work runs on a thread of its own, never on an event loop. Off (404 saying how to turn it on) when
// no admin key is set.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "gateway/admission.h"
#include "http/server.h"

namespace hybridgate::gateway {

class AdminApi {
 public:
  // `admission` (its key store) must outlive this.
  AdminApi(const limits::LimitsConfig& config, Admission& admission)
      : admin_key_(AdminKey(config)), admission_(admission) {}
  ~AdminApi() { pool_.join(); }

  // Whether the request carries the admin key (Authorization: Bearer); false when none is set.
  bool IsAdmin(const http::Request& req) const;
  // GET/POST /admin/keys, DELETE /admin/keys/{id}, POST /admin/keys/reload; /admin/rollouts…
  // through the rollouts handler.
  boost::asio::awaitable<void> Serve(http::Exchange& ex, std::string_view path);

  // Answers /admin/rollouts[/…] (GET, or POST when `post`) with status and JSON body; runs on
  // the admin thread (it may block).
  using RolloutsHandler = std::function<std::pair<int, std::string>(
      std::string_view target, bool post, std::string_view body)>;
  void SetRollouts(RolloutsHandler h) { rollouts_ = std::move(h); }

 private:
  const std::string admin_key_;
  Admission& admission_;
  RolloutsHandler rollouts_;
  boost::asio::thread_pool pool_{1};
};

}  // namespace hybridgate::gateway
