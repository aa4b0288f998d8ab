#include "background/runner.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <stdexcept>
#include <vector>

namespace hybridgate::background {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// A job that waits `wait` (or until cancelled) and records how it ended.
struct Log {
  int started = 0;
  int finished = 0;
  int cancelled = 0;
  int destroyed = 0;
  int closing = 0;  // Closing() calls
  int running = 0;
  int peak = 0;
};

class WaitJob : public Job {
 public:
  WaitJob(Log& log, std::chrono::milliseconds wait, bool throws = false)
      : log_(log), wait_(wait), throws_(throws) {}
  ~WaitJob() override { ++log_.destroyed; }
  asio::awaitable<void> Run(http::CancelToken& cancel) override {
    ++log_.started;
    log_.peak = std::max(log_.peak, ++log_.running);
    asio::steady_timer timer(co_await asio::this_coro::executor, wait_);
    cancel.Set([&timer] { timer.cancel(); });
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    cancel.Set(nullptr);
    --log_.running;
    if (cancel.cancelled()) ++log_.cancelled;
    if (throws_) throw std::runtime_error("job broke");
    ++log_.finished;
  }
  void Closing() override { ++log_.closing; }

 private:
  Log& log_;
  std::chrono::milliseconds wait_;
  bool throws_;
};

TEST(Runner, RunsAtMostItsConcurrencyAndShedsBeyondItsQueue) {
  asio::io_context io;
  Stats stats;
  Runner runner(io.get_executor(), {.max_queue = 3, .max_concurrency = 2}, stats);
  Log log;
  int accepted = 0;
  for (int i = 0; i < 10; ++i) accepted += runner.Submit(std::make_unique<WaitJob>(log, 20ms));
  EXPECT_EQ(accepted, 5);  // 2 running + 3 queued
  EXPECT_EQ(stats.shed.load(), 5u);
  EXPECT_EQ(log.destroyed, 5);  // shed jobs are destroyed unrun, at once
  EXPECT_EQ(runner.Outstanding(), 5);
  io.run();
  EXPECT_EQ(log.finished, 5);
  EXPECT_EQ(log.peak, 2);
  EXPECT_EQ(runner.Outstanding(), 0);
  EXPECT_EQ(stats.completed.load(), 5u);
  EXPECT_EQ(stats.running.load(), 0);
  EXPECT_EQ(stats.queued.load(), 0);
}

TEST(Runner, CloseDropsTheQueueAndCancelEndsWhatRuns) {
  asio::io_context io;
  Stats stats;
  Runner runner(io.get_executor(), {.max_queue = 10, .max_concurrency = 2}, stats);
  Log log;
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(runner.Submit(std::make_unique<WaitJob>(log, 60s)));
  io.run_for(20ms);
  EXPECT_EQ(log.started, 2);
  runner.Close();
  EXPECT_EQ(log.closing, 2);  // the running jobs are told; the dropped ones never ran
  EXPECT_EQ(stats.dropped.load(), 4u);
  EXPECT_EQ(runner.Outstanding(), 2);
  EXPECT_FALSE(runner.Submit(std::make_unique<WaitJob>(log, 1ms)));  // closed
  runner.Cancel();
  io.run();  // returns: nothing is left waiting a minute
  EXPECT_EQ(log.cancelled, 2);
  EXPECT_EQ(runner.Outstanding(), 0);
  EXPECT_EQ(log.destroyed, 7);
}

TEST(Runner, AJobThatThrowsIsCountedAndTheNextOneRuns) {
  asio::io_context io;
  Stats stats;
  Runner runner(io.get_executor(), {.max_queue = 4, .max_concurrency = 1}, stats);
  Log log;
  ASSERT_TRUE(runner.Submit(std::make_unique<WaitJob>(log, 1ms, /*throws=*/true)));
  ASSERT_TRUE(runner.Submit(std::make_unique<WaitJob>(log, 1ms)));
  io.run();
  EXPECT_EQ(stats.failed.load(), 1u);
  EXPECT_EQ(log.finished, 1);
  EXPECT_EQ(runner.Outstanding(), 0);
}

}  // namespace
}  // namespace hybridgate::background
