#include "gateway/readiness.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>

#include "common/json_writer.h"
#include "gateway/request_log.h"

namespace hybridgate::gateway {

namespace asio = boost::asio;

namespace {

using Clock = std::chrono::steady_clock;

// Whether a probe of `a` says what a probe of `b` would: the same upstream, asked the same way.
bool SameUpstream(const config::ProviderConfig& a, const config::ProviderConfig& b) {
  return a.name == b.name && a.type == b.type && a.base_url == b.base_url &&
         a.api_key == b.api_key && a.disabled_reason.empty() && b.disabled_reason.empty();
}

}  // namespace

void Readiness::Seed(Runtime& rt) {
  const config::Config& cfg = rt.config;
  rt.health.clear();
  for (size_t i = 0; i < cfg.providers.size(); ++i) {
    const auto& p = cfg.providers[i];
    ProviderHealth h;
    h.name = p.name;
    const providers::Provider& provider = *rt.catalog->providers()[i];
    if (provider.in_process()) {
      h.probed = h.reachable = true;
      h.detail = provider.Describe();
      const std::string line = fmt::format("provider '{}': {}", p.name, h.detail);
      if (h.detail.find("PLACEHOLDER") != std::string::npos) {
        LogWarn(line);
      } else {
        LogInfo(line);
      }
    }
    if (!p.disabled_reason.empty()) {
      h.probed = true;
      h.detail = "disabled: " + p.disabled_reason;
    }
    rt.health.push_back(std::move(h));
  }
}

void Readiness::CarryOver(const Runtime& current, Runtime& next) {
  const auto seen = current.Health();
  std::lock_guard lock(next.health_mu);
  for (size_t i = 0; i < next.config.providers.size(); ++i) {
    const auto& p = next.config.providers[i];
    if (next.health[i].probed) continue;  // in-process or disabled: known already
    for (size_t j = 0; j < current.config.providers.size(); ++j) {
      if (SameUpstream(p, current.config.providers[j]) && seen[j].probed) next.health[i] = seen[j];
    }
  }
}

void Readiness::Start(http::Server& server, http::ClientPool& pool) {
  context_.store(&server.worker_context(0));
  asio::co_spawn(server.worker_context(0), Loop(server, pool),
                 http::LogFailure{"the readiness probe loop", &internal_errors_});
}

void Readiness::Wake() {
  generation_.fetch_add(1, std::memory_order_relaxed);
  asio::io_context* const context = context_.load();
  if (context == nullptr) return;
  // The timer belongs to worker 0: cancelled there. If the loop is probing rather than
  // waiting, it sees the new generation before it waits again.
  asio::post(*context, [this] {
    if (timer_ != nullptr) timer_->cancel();
  });
}

asio::awaitable<void> Readiness::Loop(http::Server& server, http::ClientPool& pool) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer_ = &timer;
  while (!server.draining()) {
    const uint64_t generation = generation_.load(std::memory_order_relaxed);
    // The runtime of this round; a reload starts the next round on the new one.
    const std::shared_ptr<const Runtime> rt = current_();
    const auto& providers = rt->catalog->providers();
    // Those never probed first: after a reload, the new and changed ones.
    std::vector<size_t> order(providers.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    {
      const auto seen = rt->Health();
      std::stable_partition(order.begin(), order.end(), [&](size_t i) { return !seen[i].probed; });
    }
    for (const size_t i : order) {
      const auto& p = *providers[i];
      if (!p.config().disabled_reason.empty()) continue;
      if (p.in_process()) {
        // Loaded at startup, so always ready; the detail shows its load (slots, queue).
        std::lock_guard lock(rt->health_mu);
        rt->health[i] = {p.name(), true, true, p.Describe()};
        continue;
      }
      const auto now = Clock::now();
      auto res = co_await pool.Send(p.endpoint(), p.HealthProbe(),
                                    {now + std::chrono::seconds(2), now + std::chrono::seconds(3)});
      ProviderHealth h{p.name(), true, false, ""};
      if (!res) {
        h.detail = res.error().message;
      } else if (res->status == 401 || res->status == 403) {
        h.detail = fmt::format("reachable, but it rejected the API key (HTTP {})", res->status);
      } else if (res->status >= 500) {
        h.detail = fmt::format("reachable, but unhealthy (HTTP {})", res->status);
      } else {
        h.reachable = true;
        h.detail = "ok";
      }
      std::lock_guard lock(rt->health_mu);
      rt->health[i] = std::move(h);
    }
    // A reload during the round: the next round, on the new runtime, starts now.
    if (generation_.load(std::memory_order_relaxed) != generation) continue;
    // Probe often until something answers, then at the configured interval.
    bool any = false;
    for (const auto& h : rt->Health()) any = any || h.reachable;
    const int64_t interval = rt->config.server.health_interval_ms;
    timer.expires_after(
        std::chrono::milliseconds(any ? interval : std::min<int64_t>(1000, interval)));
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));  // Wake cancels it
  }
  timer_ = nullptr;
}

asio::awaitable<void> Readiness::Respond(http::Exchange& ex, const Runtime& rt,
                                         bool details) const {
  const auto health = rt.Health();
  bool ready = false;
  for (const auto& h : health) ready = ready || h.reachable;
  std::string body;
  JsonWriter w(body);
  w.BeginObject().Field("ready", ready).Key("providers").BeginArray();
  for (size_t i = 0; i < health.size(); ++i) {
    const auto& h = health[i];
    w.BeginObject().Field("name", h.name).Field("reachable", h.reachable);
    if (details) {
      const auto& pc = rt.config.providers[i];
      w.Field("zone", config::ZoneName(pc.zone)).Field("base_url", pc.base_url);
      w.Field("detail", h.probed ? h.detail : std::string("not probed yet"));
    }
    w.EndObject();
  }
  w.EndArray();
  if (details) {
    w.Field("config", rt.config.source);
    if (!ready) {
      w.Field("hint",
              "no provider is reachable: start an OpenAI-compatible server at a configured "
              "base_url (e.g. vLLM on http://127.0.0.1:8000/v1), or set the API key variable of "
              "an external provider, then retry");
    }
  }
  w.EndObject();
  co_await ex.Respond(ready ? 200 : 503, "application/json", std::move(body));
}

}  // namespace hybridgate::gateway
