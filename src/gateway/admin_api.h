// The admin API: /admin/keys over the virtual-key store (list, create, revoke, reload), guarded
// by the admin key (limits.admin_key_env), and the admin check other endpoints use for their
// operator-only details (/readyz). The key store's SQLite work runs on a thread of its own, never
// on an event loop. Off (404 saying how to turn it on) when no admin key is set.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>
#include <string>
#include <string_view>

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
  // GET/POST /admin/keys, DELETE /admin/keys/{id}, POST /admin/keys/reload.
  boost::asio::awaitable<void> Serve(http::Exchange& ex, std::string_view path);

 private:
  const std::string admin_key_;
  Admission& admission_;
  boost::asio::thread_pool pool_{1};
};

}  // namespace hybridgate::gateway
