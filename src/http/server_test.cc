// The server's pieces that are not worth a process: LogFailure, the completion handler that
// replaces asio::detached (server behaviour itself is tested through the binary, in
// tests/integration/).
#include "http/server.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <sstream>
#include <stdexcept>

namespace hybridgate::http {
namespace {

TEST(LogFailure, AnExceptionThatEscapesACoroutineIsLoggedAndCounted) {
  std::ostringstream out;
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>(
      "test", std::make_shared<spdlog::sinks::ostream_sink_mt>(out)));
  asio::io_context ioc;
  std::atomic<uint64_t> errors{0};
  asio::co_spawn(
      ioc,
      []() -> asio::awaitable<void> {
        co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
        throw std::runtime_error("the disk is on fire");
      },
      LogFailure{"the test coroutine", &errors});
  asio::co_spawn(
      ioc, []() -> asio::awaitable<void> { co_return; }, LogFailure{"a quiet one", &errors});
  ioc.run();
  spdlog::set_default_logger(previous);
  EXPECT_EQ(errors.load(), 1u);
  const std::string log = out.str();
  EXPECT_NE(log.find(R"("msg":"the test coroutine failed with an exception: the disk is on fire")"),
            std::string::npos)
      << log;
  EXPECT_EQ(log.find("a quiet one"), std::string::npos) << log;
}

}  // namespace
}  // namespace hybridgate::http
