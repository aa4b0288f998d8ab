#include "eval/run.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <thread>

#include "gateway/gateway.h"
#include "http/server.h"

namespace hybridgate::eval {

namespace asio = boost::asio;

Result<EvalResult> Run(config::Config config, const std::vector<SuiteCase>& suite,
                       const RunOptions& options,
                       const std::function<void(size_t, size_t)>& progress,
                       const std::atomic<bool>& stop) {
  for (size_t i = 0; i < options.models.size(); ++i) {
    if (std::find(options.models.begin(), options.models.begin() + static_cast<long>(i),
                  options.models[i]) != options.models.begin() + static_cast<long>(i)) {
      return Fail(MakeError(ErrorCode::kInvalidRequest,
                            fmt::format("model '{}' is listed twice", options.models[i])));
    }
  }
  config.server.listen = "127.0.0.1:0";
  config.server.workers = 1;
  config.evals.clear();  // this gateway serves this run only: no scheduled evals of its own
  auto gw = gateway::Gateway::Create(config);
  if (!gw) return Fail(std::move(gw.error()));
  gateway::Gateway* g = gw->get();
  http::Server server(config.server, [g](http::Exchange& ex) { return g->Handle(ex); });
  if (auto s = server.Listen(); !s) return Fail(std::move(s.error()));
  g->Attach(server);
  std::atomic<bool> served{false};
  std::thread serving([&server, &served] {
    server.Run();
    served = true;
  });

  CaseRun run(config, suite, options, {.address = "127.0.0.1", .port = server.port()}, progress,
              stop);
  std::optional<Result<EvalResult>> result;
  asio::io_context ioc;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        // Watches `stop`: an interrupted run shuts the gateway down, which ends (and meters)
        // the requests in flight; the workers then take no new case.
        asio::steady_timer tick(ioc);
        bool shut = false;
        while (!result) {
          if (stop.load(std::memory_order_relaxed)) {
            if (!shut) server.Shutdown();
            shut = true;
            if (served.load()) run.CancelAll();  // what the gateway's shutdown did not end
          }
          tick.expires_after(std::chrono::milliseconds(50));
          co_await tick.async_wait(asio::use_awaitable);
        }
      },
      asio::detached);
  asio::co_spawn(
      ioc, [&]() -> asio::awaitable<void> { result.emplace(co_await run.Run()); }, asio::detached);
  ioc.run();
  server.Shutdown();
  serving.join();
  g->Detach();
  if (!result) {
    return Fail(MakeError(ErrorCode::kInternal, "the eval ended without a result"));
  }
  return std::move(*result);
}

}  // namespace hybridgate::eval
