// RedisLimiter against a real redis-server on a free loopback port. Two limiters on two
// io_context threads stand in for two gateway replicas.
#include "limits/redis_limiter.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <filesystem>
#include <functional>
#include <thread>

namespace hybridgate::limits {
namespace {

using namespace std::chrono_literals;

constexpr const char* kRedisBinary = "/usr/bin/redis-server";

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// A redis-server child process: no persistence, loopback only.
class RedisServer {
 public:
  RedisServer() : port_(FreePort()) {}
  ~RedisServer() { Kill(); }

  bool Start() {
    pid_ = fork();
    if (pid_ == 0) {
      const std::string port = std::to_string(port_);
      if (int null = open("/dev/null", O_WRONLY); null >= 0) dup2(null, STDOUT_FILENO);
      execl(kRedisBinary, kRedisBinary, "--port", port.c_str(), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--loglevel", "warning", static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 200; ++i) {
      if (Ping()) return true;
      std::this_thread::sleep_for(25ms);
    }
    return false;
  }
  void Kill() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  void Pause() { kill(pid_, SIGSTOP); }
  void Resume() { kill(pid_, SIGCONT); }
  // Runs one command synchronously (test side only).
  bool Run(const char* command) {
    redisContext* c = redisConnect("127.0.0.1", port_);
    bool ok = false;
    if (c && !c->err) {
      auto* r = static_cast<redisReply*>(redisCommand(c, command));
      ok = r && r->type != REDIS_REPLY_ERROR;
      freeReplyObject(r);
    }
    if (c) redisFree(c);
    return ok;
  }
  bool Ping() { return Run("PING"); }
  int port() const { return port_; }

 private:
  int port_;
  pid_t pid_ = -1;
};

// One gateway worker: an io_context on its own thread.
class Worker {
 public:
  Worker() : guard_(io_.get_executor()), thread_([this] { io_.run(); }) {}
  ~Worker() { Stop(); }
  void Stop() {
    if (!thread_.joinable()) return;
    guard_.reset();
    io_.stop();
    thread_.join();
  }
  template <class T>
  T Run(std::function<asio::awaitable<T>()> f) {
    return asio::co_spawn(io_, std::move(f), asio::use_future).get();
  }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::thread thread_;
};

class RedisLimiterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kRedisBinary)) {
      // Never a silent skip: scripts/setup.sh installs it; without it the test fails.
      FAIL() << kRedisBinary << " is missing (Debian package redis-server; scripts/setup.sh)";
    }
    ASSERT_TRUE(server_.Start()) << "redis-server did not answer PING on port " << server_.port();
  }

  std::unique_ptr<RedisLimiter> MakeLimiter(bool fail_open, std::chrono::milliseconds timeout) {
    RedisLimiterOptions o;
    o.address.host = "127.0.0.1";
    o.address.port = static_cast<uint16_t>(server_.port());
    o.timeout = timeout;
    o.fail_open = fail_open;
    o.reconnect_backoff = 50ms;
    return std::make_unique<RedisLimiter>(std::move(o));
  }

  static Decision Admit(Worker& w, Limiter& l, const KeyInfo& k, int64_t tokens) {
    return w.Run<Decision>(
        [&]() -> asio::awaitable<Decision> { co_return co_await l.Admit(k, tokens); });
  }
  static void Settle(Worker& w, Limiter& l, const KeyInfo& k, int64_t est, int64_t act,
                     double usd) {
    w.Run<int>([&]() -> asio::awaitable<int> {
      co_await l.Settle(k, est, act, usd);
      co_return 0;
    });
  }

  RedisServer server_;
  // Declared before the limiters: workers stop (and their io_contexts die) after them.
  Worker a_, b_;
};

KeyInfo Key(std::string id, std::string team = "team-r") {
  KeyInfo k;
  k.id = std::move(id);
  k.team = std::move(team);
  return k;
}

TEST_F(RedisLimiterTest, TwoGatewaysShareOneRpmLimit) {
  auto la = MakeLimiter(true, 2000ms), lb = MakeLimiter(true, 2000ms);
  KeyInfo key = Key("key_shared_rpm");
  key.rpm = 5;
  int allowed = 0;
  for (int i = 0; i < 10; ++i) {
    Decision d = i % 2 ? Admit(b_, *lb, key, 0) : Admit(a_, *la, key, 0);
    if (d.allowed) {
      ++allowed;
    } else {
      EXPECT_EQ(d.error.code, ErrorCode::kRateLimited);
      EXPECT_GT(d.error.retry_after_ms, 0);
    }
  }
  EXPECT_EQ(allowed, 5);
  EXPECT_EQ(la->redis_errors() + lb->redis_errors(), 0u);
  a_.Stop();
  b_.Stop();
}

TEST_F(RedisLimiterTest, ConcurrentAdmitsFromTwoGateways) {
  auto la = MakeLimiter(true, 2000ms), lb = MakeLimiter(true, 2000ms);
  KeyInfo key = Key("key_concurrent");
  key.rpm = 30;
  std::atomic<int> allowed{0};
  auto burst = [&](Worker& w, Limiter& l) {
    return w.Run<int>([&]() -> asio::awaitable<int> {
      int n = 0;
      for (int i = 0; i < 30; ++i) n += (co_await l.Admit(key, 0)).allowed;
      co_return n;
    });
  };
  std::thread ta([&] { allowed += burst(a_, *la); });
  std::thread tb([&] { allowed += burst(b_, *lb); });
  ta.join();
  tb.join();
  // 30 in the bucket; the refill (one per 2 s) may add one on a slow machine.
  EXPECT_GE(allowed.load(), 30);
  EXPECT_LE(allowed.load(), 31);
  a_.Stop();
  b_.Stop();
}

TEST_F(RedisLimiterTest, TwoGatewaysShareOneBudget) {
  auto la = MakeLimiter(true, 2000ms), lb = MakeLimiter(true, 2000ms);
  KeyInfo key = Key("key_shared_budget");
  key.budget = Budget{1.0, BudgetWindow::kDay};
  ASSERT_TRUE(Admit(a_, *la, key, 0).allowed);
  Settle(a_, *la, key, 0, 0, 0.6);
  ASSERT_TRUE(Admit(b_, *lb, key, 0).allowed);
  Settle(b_, *lb, key, 0, 0, 0.6);
  for (auto [w, l] : {std::pair{&a_, la.get()}, std::pair{&b_, lb.get()}}) {
    Decision d = Admit(*w, *l, key, 0);
    ASSERT_FALSE(d.allowed);
    EXPECT_EQ(d.error.code, ErrorCode::kBudgetExceeded);
    EXPECT_NE(d.error.message.find("key_shared_budget"), std::string::npos) << d.error.message;
    EXPECT_NE(d.error.message.find("$1.20 of $1.00 today"), std::string::npos) << d.error.message;
  }
  auto spent = a_.Run<Result<double>>([&] { return la->KeySpendUsd(key); });
  ASSERT_TRUE(spent);
  EXPECT_DOUBLE_EQ(*spent, 1.2);

  // A team budget across two keys and two gateways.
  KeyInfo k1 = Key("key_team_1", "analytics"), k2 = Key("key_team_2", "analytics");
  k1.team_budget = k2.team_budget = Budget{2.0, BudgetWindow::kMonth};
  Settle(a_, *la, k1, 0, 0, 2.0);
  Decision d = Admit(b_, *lb, k2, 0);
  ASSERT_FALSE(d.allowed);
  EXPECT_EQ(d.error.code, ErrorCode::kBudgetExceeded);
  EXPECT_NE(d.error.message.find("team 'analytics'"), std::string::npos) << d.error.message;
  a_.Stop();
  b_.Stop();
}

TEST_F(RedisLimiterTest, TpmReservationAndSettleCorrection) {
  auto la = MakeLimiter(true, 2000ms), lb = MakeLimiter(true, 2000ms);
  KeyInfo key = Key("key_tpm");
  key.tpm = 1000;
  key.rpm = 100;
  Decision d = Admit(a_, *la, key, 600);
  ASSERT_TRUE(d.allowed);
  bool saw_header = false;
  for (const auto& [name, value] : d.headers) {
    if (name == "x-ratelimit-remaining-tokens") {
      saw_header = true;
      EXPECT_EQ(value, "400");
    }
  }
  EXPECT_TRUE(saw_header);
  d = Admit(b_, *lb, key, 600);
  ASSERT_FALSE(d.allowed);
  EXPECT_EQ(d.error.code, ErrorCode::kRateLimited);
  Settle(a_, *la, key, 600, 100, 0);  // 500 tokens back
  EXPECT_TRUE(Admit(b_, *lb, key, 600).allowed);
  a_.Stop();
  b_.Stop();
}

TEST_F(RedisLimiterTest, ScriptFlushFallsBackToEval) {
  auto la = MakeLimiter(true, 2000ms);
  KeyInfo key = Key("key_flush");
  key.rpm = 10;
  ASSERT_TRUE(Admit(a_, *la, key, 0).allowed);
  ASSERT_TRUE(server_.Run("SCRIPT FLUSH"));
  ASSERT_TRUE(Admit(a_, *la, key, 0).allowed);
  EXPECT_EQ(la->redis_errors(), 0u);
  a_.Stop();
}

TEST_F(RedisLimiterTest, RedisDownFailsOpenOrClosedThenRecovers) {
  auto open = MakeLimiter(true, 500ms), closed = MakeLimiter(false, 500ms);
  KeyInfo key = Key("key_outage");
  key.rpm = 1000;
  ASSERT_TRUE(Admit(a_, *open, key, 0).allowed);
  ASSERT_TRUE(Admit(b_, *closed, key, 0).allowed);

  server_.Kill();
  Decision d = Admit(a_, *open, key, 0);
  EXPECT_TRUE(d.allowed);
  EXPECT_GE(open->redis_errors(), 1u);
  d = Admit(b_, *closed, key, 0);
  ASSERT_FALSE(d.allowed);
  EXPECT_EQ(d.error.code, ErrorCode::kUnavailable);
  EXPECT_EQ(d.error.HttpStatus(), 503);
  EXPECT_GE(closed->redis_errors(), 1u);
  // Settle while down: counted, nothing thrown.
  Settle(a_, *open, key, 0, 0, 1.0);

  ASSERT_TRUE(server_.Start());  // same port
  bool recovered = false;
  for (int i = 0; i < 100 && !recovered; ++i) {
    recovered = Admit(b_, *closed, key, 0).allowed;
    if (!recovered) std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(recovered);
  const uint64_t errors = open->redis_errors();
  bool open_ok = false;
  for (int i = 0; i < 100 && !open_ok; ++i) {
    const uint64_t before = open->redis_errors();
    open_ok = Admit(a_, *open, key, 0).allowed && open->redis_errors() == before;
    if (!open_ok) std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(open_ok);
  EXPECT_GE(open->redis_errors(), errors);
  a_.Stop();
  b_.Stop();
}

TEST_F(RedisLimiterTest, HungRedisTimesOut) {
  auto open = MakeLimiter(true, 100ms), closed = MakeLimiter(false, 100ms);
  KeyInfo key = Key("key_hung");
  key.rpm = 1000;
  ASSERT_TRUE(Admit(a_, *open, key, 0).allowed);
  ASSERT_TRUE(Admit(b_, *closed, key, 0).allowed);
  server_.Pause();
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(Admit(a_, *open, key, 0).allowed);
  Decision d = Admit(b_, *closed, key, 0);
  const auto took = std::chrono::steady_clock::now() - start;
  server_.Resume();
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.error.code, ErrorCode::kUnavailable);
  EXPECT_NE(d.error.message.find("no reply within 100 ms"), std::string::npos) << d.error.message;
  EXPECT_LT(took, 2s);
  EXPECT_EQ(open->redis_errors(), 1u);
  bool recovered = false;
  for (int i = 0; i < 100 && !recovered; ++i) {
    recovered = Admit(b_, *closed, key, 0).allowed;
    if (!recovered) std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(recovered);
  a_.Stop();
  b_.Stop();
}

}  // namespace
}  // namespace hybridgate::limits
