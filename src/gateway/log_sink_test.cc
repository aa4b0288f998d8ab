#include "gateway/log_sink.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <spdlog/logger.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace hybridgate::gateway {
namespace {

using namespace std::chrono_literals;

class Pipe {
 public:
  Pipe() {
    EXPECT_EQ(::pipe2(fds_, O_CLOEXEC), 0);
    ::fcntl(fds_[0], F_SETFL, O_NONBLOCK);
    ::fcntl(fds_[0], F_SETPIPE_SZ, 1 << 20);
  }
  ~Pipe() {
    ::close(fds_[0]);
    if (fds_[1] >= 0) ::close(fds_[1]);
  }
  int write_fd() const { return fds_[1]; }
  // Everything readable within `wait` (stops at the first quiet poll after some data).
  std::string Read(std::chrono::milliseconds wait) {
    std::string out;
    pollfd p{fds_[0], POLLIN, 0};
    while (::poll(&p, 1, static_cast<int>(out.empty() ? wait.count() : 50)) > 0) {
      char buf[65536];
      const ssize_t n = ::read(fds_[0], buf, sizeof buf);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }

 private:
  int fds_[2] = {-1, -1};
};

std::shared_ptr<spdlog::logger> MakeLogger(std::shared_ptr<BatchingSink> sink) {
  auto logger = std::make_shared<spdlog::logger>("test", std::move(sink));
  logger->set_pattern("%v");
  logger->set_level(spdlog::level::info);
  return logger;
}

std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> out;
  for (size_t at = 0; at < s.size();) {
    const size_t nl = s.find('\n', at);
    if (nl == std::string::npos) break;
    out.push_back(s.substr(at, nl - at));
    at = nl + 1;
  }
  return out;
}

TEST(BatchingSink, EveryLineFromEveryThreadArrivesWholeAndInOrderPerThread) {
  Pipe pipe;
  {
    auto logger = MakeLogger(std::make_shared<BatchingSink>(
        BatchingSinkOptions{.fd = pipe.write_fd(), .interval = 10ms, .batch_bytes = 4096}));
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&logger, t] {
        for (int i = 0; i < 2000; ++i) logger->info("t{} line {} {}", t, i, std::string(40, 'x'));
      });
    }
    for (auto& th : threads) th.join();
  }  // the sink writes what is left when it goes away
  const std::vector<std::string> lines = Lines(pipe.Read(1s));
  ASSERT_EQ(lines.size(), 8000u);
  int next[4] = {0, 0, 0, 0};
  for (const std::string& l : lines) {
    ASSERT_EQ(l.size() > 3 && l[0] == 't', true) << l;
    const int t = l[1] - '0';
    ASSERT_EQ(l, "t" + std::to_string(t) + " line " + std::to_string(next[t]) + " " +
                     std::string(40, 'x'));
    ++next[t];
  }
}

TEST(BatchingSink, InfoLinesWaitForTheBatchButAWarningIsWrittenAtOnce) {
  Pipe pipe;
  auto sink = std::make_shared<BatchingSink>(
      BatchingSinkOptions{.fd = pipe.write_fd(), .interval = std::chrono::hours(1)});
  auto logger = MakeLogger(sink);
  logger->info("quiet");
  EXPECT_EQ(pipe.Read(200ms), "") << "an info line alone is held for the batch";
  logger->warn("loud");
  EXPECT_EQ(pipe.Read(10s), "quiet\nloud\n") << "a warning takes the lines before it along";
  logger->info("flushed");
  logger->flush();
  EXPECT_EQ(pipe.Read(10s), "flushed\n");
}

TEST(BatchingSink, AFullBatchIsWrittenWithoutWaitingForTheInterval) {
  Pipe pipe;
  auto logger = MakeLogger(std::make_shared<BatchingSink>(BatchingSinkOptions{
      .fd = pipe.write_fd(), .interval = std::chrono::hours(1), .batch_bytes = 1000}));
  for (int i = 0; i < 20; ++i) logger->info("{}", std::string(99, 'a' + i % 26));
  const std::string got = pipe.Read(10s);
  EXPECT_GE(got.size(), 1000u);
  EXPECT_EQ(got.substr(0, 100), std::string(99, 'a') + "\n");
}

TEST(BatchingSink, LinesBeyondTheCapAreDroppedAndCounted) {
  Pipe pipe;
  auto sink = std::make_shared<BatchingSink>(BatchingSinkOptions{.fd = pipe.write_fd(),
                                                                 .interval = std::chrono::hours(1),
                                                                 .batch_bytes = 1 << 20,
                                                                 .max_bytes = 250});
  auto logger = MakeLogger(sink);
  for (int i = 0; i < 5; ++i) logger->info("{}", std::string(99, 'z'));  // 100 bytes each
  EXPECT_EQ(sink->dropped(), 3u);
  logger->flush();
  const std::string got = pipe.Read(10s);
  EXPECT_EQ(got.substr(0, 200), std::string(99, 'z') + "\n" + std::string(99, 'z') + "\n");
  EXPECT_NE(got.find("log buffer full: 3 lines dropped"), std::string::npos) << got;
}

}  // namespace
}  // namespace hybridgate::gateway
