// Readiness: whether the gateway can answer, for /readyz and for operators. It probes every HTTP
// provider of the current runtime from worker 0 (often until one answers, then every
// server.health_interval_ms), records what it saw in the runtime (Runtime::health), carries that
// over a reload for providers that did not change and probes the changed ones at once, and
// answers GET /readyz: 200 when a provider is reachable, names and reachability for anyone, base
// URLs, probe details and the config path only for the admin.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>

#include "gateway/runtime.h"
#include "http/client.h"
#include "http/server.h"

namespace hybridgate::gateway {

class Readiness {
 public:
  // `current` returns the runtime new requests get; `internal_errors` counts an exception that
  // escapes the probe loop.
  Readiness(std::function<std::shared_ptr<const Runtime>()> current,
            std::atomic<uint64_t>& internal_errors)
      : current_(std::move(current)), internal_errors_(internal_errors) {}

  // What a new runtime knows before any probe: in-process providers are ready (and logged),
  // disabled ones are not.
  static void Seed(Runtime& rt);
  // A reload: what the probes saw of a provider that did not change still holds in `next`, so
  // /readyz does not turn 503 on every reload; call Wake() once `next` is current.
  static void CarryOver(const Runtime& current, Runtime& next);

  // Starts the probe loop on worker 0 of `server`, probing through `pool` (worker 0's).
  void Start(http::Server& server, http::ClientPool& pool);
  // After the server stopped: nothing wakes the (finished) loop any more.
  void Stop() { context_.store(nullptr); }
  // Makes the probe loop start a round on the current runtime now (any thread).
  void Wake();

  // GET /readyz over `rt`; `details` for the admin.
  boost::asio::awaitable<void> Respond(http::Exchange& ex, const Runtime& rt, bool details) const;

 private:
  boost::asio::awaitable<void> Loop(http::Server& server, http::ClientPool& pool);

  std::function<std::shared_ptr<const Runtime>()> current_;
  std::atomic<uint64_t>& internal_errors_;
  // Waking the loop: worker 0's context (Start to Stop), the loop's timer while it waits
  // (touched on worker 0 only), and a count of wake-ups the loop compares between rounds.
  std::atomic<boost::asio::io_context*> context_{nullptr};
  boost::asio::steady_timer* timer_ = nullptr;
  std::atomic<uint64_t> generation_{0};
};

}  // namespace hybridgate::gateway
