// Honest operations, through the real binary: out of file descriptors the accept loop backs off
// instead of spinning and service resumes; a second gateway on a bound port refuses to start;
// /metrics never shows what a client wrote; /readyz stays ready through reloads and keeps its
// details for the admin key; ambiguous HTTP framing is refused.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/fake_upstream.h"
#include "tests/support/gateway_process.h"

namespace hybridgate::testing {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace json = boost::json;
using tcp = asio::ip::tcp;

FakeUpstream::Script Answer(const std::string& who) {
  return [who](const Recorded& r) {
    if (r.target == "/v1/models") return Action{.body = R"({"object":"list","data":[]})"};
    return Action{.body = ChatCompletionJson("from " + who)};
  };
}

std::string Provider(const std::string& name, const FakeUpstream& up) {
  return "  - {name: " + name + ", type: openai, base_url: '" + up.base_url() +
         "', zone: self_hosted, models: [{name: m}]}\n";
}

const std::string kChat = R"({"model":"m","messages":[{"role":"user","content":"hi"}]})";

std::string ChatFor(const std::string& model) {
  return R"({"model":")" + model + R"(","messages":[{"role":"user","content":"hi"}]})";
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// utime + stime of a process, in seconds (/proc/PID/stat fields 14 and 15).
double CpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // After the command name, which is in parentheses and may hold spaces: field 3 on.
  std::istringstream rest(stat.substr(stat.rfind(')') + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

size_t OpenDescriptors(pid_t pid) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
    ++n;
  }
  return n;
}

// A connected TCP socket to the gateway that never sends anything (-1 on failure).
int IdleConnection(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// The value of an unlabelled counter in a /metrics body (-1 when absent).
double Counter(const std::string& metrics, const std::string& name) {
  std::istringstream lines(metrics);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with(name + " ")) return std::stod(line.substr(name.size() + 1));
  }
  return -1;
}

TEST(Operations, OutOfFileDescriptorsTheAcceptLoopBacksOffAndServiceResumes) {
  FakeUpstream up(Answer("a"));
  // Connections that never send a request are kept (no header timeout during the test).
  GatewayProcess gw("server: {header_timeout_ms: 120000}\nproviders:\n" + Provider("a", up));
  ASSERT_TRUE(gw.started()) << gw.Log();
  // A sanitizer build checks a polymorphic object's type by writing its vtable to a pipe; out of
  // descriptors that fails, and it aborts on a type it has not checked before. The startup wait
  // and these requests meet, before the limit, every type the rest of the test does.
  {
    TestClient warm(gw.port());
    ASSERT_EQ(warm.Post("/v1/chat/completions", kChat).status, 200);
    ASSERT_EQ(warm.Get("/metrics").status, 200);
  }
  // As `ulimit -n 64` would have: no new descriptor numbered 64 or more.
  rlimit old{};
  ASSERT_EQ(prlimit(gw.pid(), RLIMIT_NOFILE, nullptr, &old), 0) << std::strerror(errno);
  const rlimit low{64, old.rlim_max};
  ASSERT_EQ(prlimit(gw.pid(), RLIMIT_NOFILE, &low, nullptr), 0) << std::strerror(errno);
  ASSERT_LT(OpenDescriptors(gw.pid()), 50u) << "the limit must leave room to serve again";

  // 200 idle clients: the kernel completes their handshakes; the gateway accepts until it runs
  // out of descriptors, and then every accept fails with EMFILE.
  std::vector<int> idle;
  for (int i = 0; i < 200; ++i) {
    const int fd = IdleConnection(gw.port());
    ASSERT_GE(fd, 0) << "connection " << i << ": " << std::strerror(errno);
    idle.push_back(fd);
  }
  ASSERT_TRUE(FakeUpstream::WaitFor([&] { return OpenDescriptors(gw.pid()) >= 60; }, 10s))
      << OpenDescriptors(gw.pid()) << " descriptors open";
  std::this_thread::sleep_for(500ms);
  const double cpu_before = CpuSeconds(gw.pid());
  const auto t0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(2s);
  const double cpu = CpuSeconds(gw.pid()) - cpu_before;
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(cpu / wall, 0.10) << cpu << " s of CPU in " << wall << " s while out of descriptors";
  // One line per worker's back-off episode, not one per failed accept.
  const std::string log = gw.Log();
  const size_t lines = Count(log, "accept failed");
  EXPECT_GE(lines, 1u) << log.substr(0, 4000);
  EXPECT_LE(lines, 4u) << log.substr(0, 4000);
  EXPECT_NE(log.find("Too many open files"), std::string::npos) << log.substr(0, 4000);

  for (int fd : idle) ::close(fd);
  HttpResult health;
  EXPECT_TRUE(FakeUpstream::WaitFor(
      [&] {
        TestClient c(gw.port());
        health = c.Get("/healthz");
        return health.status == 200;
      },
      20s))
      << health.status << " " << health.error;
  TestClient c(gw.port());
  const HttpResult chat = c.Post("/v1/chat/completions", kChat);
  EXPECT_EQ(chat.status, 200) << chat.body;
  const HttpResult metrics = c.Get("/metrics");
  EXPECT_GT(Counter(metrics.body, "hybridgate_accept_errors_total"), 0) << metrics.body;
  EXPECT_EQ(Counter(metrics.body, "hybridgate_internal_errors_total"), 0);
  EXPECT_EQ(gw.Stop(), 0) << gw.Log().substr(0, 4000);
}

struct Exit {
  int status = -1;  // -1: still running at the deadline (then killed)
  std::string err;
};

// Runs `args` to its end (at most `timeout`), stderr captured.
Exit RunToExit(std::vector<std::string> args, const std::string& dir,
               std::chrono::milliseconds timeout) {
  const std::string err_path = dir + "/second.stderr";
  const pid_t pid = fork();
  if (pid == 0) {
    freopen(err_path.c_str(), "w", stderr);
    freopen("/dev/null", "w", stdout);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  Exit out;
  const auto end = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (std::chrono::steady_clock::now() < end) {
    if (waitpid(pid, &status, WNOHANG) == pid) {
      out.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      break;
    }
    std::this_thread::sleep_for(20ms);
  }
  if (out.status == -1) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
  std::ifstream in(err_path);
  out.err.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return out;
}

TEST(Operations, ASecondGatewayOnABoundPortRefusesToStartAndTheFirstKeepsServing) {
  FakeUpstream up(Answer("first"));
  GatewayProcess first("providers:\n" + Provider("a", up));
  ASSERT_TRUE(first.started()) << first.Log();
  char tmpl[] = "/tmp/hybridgate-second-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  std::ofstream(dir + "/config.yaml") << "providers:\n" << Provider("a", up);
  const std::string address = "127.0.0.1:" + std::to_string(first.port());
  const Exit second = RunToExit({BinaryPath(), "serve", "--config", dir + "/config.yaml",
                                 "--listen", address, "--workers", "2"},
                                dir, 30s);
  EXPECT_EQ(second.status, 1) << second.err;
  EXPECT_NE(second.err.find("cannot listen on " + address +
                            ": another process is already listening there"),
            std::string::npos)
      << second.err;
  // Every new connection still reaches the first one.
  for (int i = 0; i < 20; ++i) {
    TestClient c(first.port());
    const HttpResult r = c.Post("/v1/chat/completions", kChat);
    ASSERT_EQ(r.status, 200) << i << ": " << r.error << r.body;
    EXPECT_NE(r.body.find("from first"), std::string::npos);
  }
  EXPECT_EQ(first.Stop(), 0) << first.Log();
  std::filesystem::remove_all(dir);
}

TEST(Operations, MetricsNeverShowWhatTheClientWrote) {
  const std::string card = "4111111111111111";
  FakeUpstream up(Answer("a"));
  {
    GatewayProcess gw("providers:\n" + Provider("a", up));
    ASSERT_TRUE(gw.started()) << gw.Log();
    TestClient c(gw.port());
    EXPECT_EQ(c.Post("/v1/chat/completions", ChatFor(card)).status, 404);
    EXPECT_EQ(c.Post("/v1/messages",
                     R"({"model":")" + card +
                         R"(","max_tokens":5,"messages":[{"role":"user","content":"hi"}]})")
                  .status,
              404);
    EXPECT_EQ(c.Post("/v1/completions", R"({"model":")" + card + R"(","prompt":"hi"})").status,
              404);
    EXPECT_EQ(c.Post("/v1beta/models/" + card + ":generateContent",
                     R"({"contents":[{"parts":[{"text":"hi"}]}]})")
                  .status,
              404);
    // A model name longer than a log line carries.
    const std::string long_model(300, 'q');
    EXPECT_EQ(c.Post("/v1/chat/completions", ChatFor(long_model)).status, 404);
    EXPECT_EQ(c.Post("/v1/chat/completions", kChat).status, 200);
    const std::string metrics = c.Get("/metrics").body;
    EXPECT_EQ(metrics.find(card), std::string::npos) << metrics;
    EXPECT_EQ(metrics.find("qqqq"), std::string::npos) << metrics;
    EXPECT_NE(metrics.find(R"(route="unknown")"), std::string::npos) << metrics;
    EXPECT_NE(metrics.find(R"(model="m")"), std::string::npos) << metrics;  // config names stay
    EXPECT_EQ(gw.Stop(), 0);
    const std::string log = gw.Log();
    EXPECT_NE(log.find(std::string(128, 'q')), std::string::npos) << log.substr(0, 4000);
    EXPECT_EQ(log.find(std::string(129, 'q')), std::string::npos) << log.substr(0, 4000);
  }
  {
    GatewayProcess gw("limits: {auth_required: true}\nproviders:\n" + Provider("a", up));
    ASSERT_TRUE(gw.started()) << gw.Log();
    TestClient c(gw.port());
    EXPECT_EQ(c.Post("/v1/chat/completions", ChatFor(card)).status, 401);
    EXPECT_EQ(c.Request("POST", "/v1/chat/completions", ChatFor(card),
                        {{"authorization", "Bearer hg-not-a-key"}})
                  .status,
              401);
    EXPECT_EQ(c.Post("/v1/completions", R"({"model":")" + card + R"(","prompt":"hi"})").status,
              401);
    const std::string metrics = c.Get("/metrics").body;
    EXPECT_EQ(metrics.find(card), std::string::npos) << metrics;
    EXPECT_EQ(metrics.find("hg-not-a-key"), std::string::npos) << metrics;
    EXPECT_NE(metrics.find(R"(status="401")"), std::string::npos) << metrics;
    EXPECT_EQ(gw.Stop(), 0);
  }
}

TEST(Operations, ReadyzStaysReadyThroughReloadsUnderLoad) {
  FakeUpstream up(Answer("a"));
  // A long probe interval: after a reload, nothing but the carried-over state says "ready".
  const std::string head = "server: {watch_config: false, health_interval_ms: 60000}\nproviders:\n";
  GatewayProcess gw(head + Provider("a", up));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient probe(gw.port());
  ASSERT_TRUE(FakeUpstream::WaitFor([&] { return probe.Get("/readyz").status == 200; }, 10s));

  std::atomic<bool> stop{false};
  std::atomic<int> polls{0}, chats{0};
  std::vector<std::string> not_ready, failed_chats;
  std::thread readiness([&] {
    TestClient c(gw.port());
    while (!stop) {
      const HttpResult r = c.Get("/readyz");
      ++polls;
      if (r.status != 200) not_ready.push_back(std::to_string(r.status) + " " + r.body);
      std::this_thread::sleep_for(10ms);
    }
  });
  std::thread load([&] {
    TestClient c(gw.port());
    while (!stop) {
      const HttpResult r = c.Post("/v1/chat/completions", kChat);
      ++chats;
      if (r.status != 200) failed_chats.push_back(std::to_string(r.status) + " " + r.body);
      std::this_thread::sleep_for(20ms);
    }
  });
  for (int i = 1; i <= 20; ++i) {
    // Another alias each time: a real new runtime, the same provider.
    gw.RewriteConfig(head + Provider("a", up) + "aliases: {alias" + std::to_string(i) + ": m}\n");
    ASSERT_EQ(kill(gw.pid(), SIGHUP), 0);
    ASSERT_TRUE(FakeUpstream::WaitFor(
        [&] { return Count(gw.Log(), "SIGHUP: config reloaded") == static_cast<size_t>(i); }, 10s))
        << gw.Log().substr(0, 4000);
    std::this_thread::sleep_for(50ms);
  }
  stop = true;
  readiness.join();
  load.join();
  EXPECT_GT(polls.load(), 40);
  EXPECT_GT(chats.load(), 20);
  EXPECT_TRUE(not_ready.empty()) << not_ready.size() << " of " << polls << " /readyz were not "
                                 << "200, the first: " << not_ready.front();
  EXPECT_TRUE(failed_chats.empty()) << failed_chats.front();
  EXPECT_EQ(gw.Stop(), 0) << gw.Log().substr(0, 4000);
}

TEST(Operations, AReloadedProviderIsProbedAtOnceAndDetailsNeedTheAdminKey) {
  FakeUpstream a(Answer("a")), b(Answer("b"));
  setenv("HG_IT_OPS_ADMIN_KEY", "hg-admin-ops", 1);
  const std::string head =
      "server: {watch_config: false, health_interval_ms: 60000}\n"
      "limits: {admin_key_env: HG_IT_OPS_ADMIN_KEY}\nproviders:\n";
  GatewayProcess gw(head + Provider("a", a));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient c(gw.port());
  ASSERT_TRUE(FakeUpstream::WaitFor([&] { return c.Get("/readyz").status == 200; }, 10s));

  gw.RewriteConfig(head + Provider("b", b));
  ASSERT_EQ(kill(gw.pid(), SIGHUP), 0);
  // b is new: probed now, not a minute from now.
  HttpResult ready;
  EXPECT_TRUE(FakeUpstream::WaitFor(
      [&] {
        ready = c.Get("/readyz");
        return ready.status == 200 && ready.body.find(R"("name":"b")") != std::string::npos;
      },
      5s))
      << ready.status << " " << ready.body;
  EXPECT_GE(b.request_count("/v1/models"), 1u);
  // For anyone: ready, names, reachability. Nothing about where the upstreams are.
  const json::value open = json::parse(ready.body);
  EXPECT_TRUE(open.at("ready").as_bool());
  EXPECT_EQ(open.at("providers").at(0).at("name").as_string(), "b");
  EXPECT_TRUE(open.at("providers").at(0).at("reachable").as_bool());
  EXPECT_EQ(open.at("providers").at(0).as_object().size(), 2u) << ready.body;
  EXPECT_EQ(open.as_object().size(), 2u) << ready.body;
  EXPECT_EQ(ready.body.find("127.0.0.1"), std::string::npos) << ready.body;
  EXPECT_EQ(ready.body.find("config.yaml"), std::string::npos) << ready.body;
  // A wrong key is no key.
  const HttpResult wrong =
      c.Request("GET", "/readyz", "", {{"authorization", "Bearer hg-admin-wrong"}});
  EXPECT_EQ(wrong.body, ready.body);
  // With the admin key: where each provider is and what its probe saw.
  const HttpResult admin =
      c.Request("GET", "/readyz", "", {{"authorization", "Bearer hg-admin-ops"}});
  ASSERT_EQ(admin.status, 200) << admin.body;
  const json::value full = json::parse(admin.body);
  EXPECT_EQ(full.at("providers").at(0).at("base_url").as_string(), b.base_url());
  EXPECT_EQ(full.at("providers").at(0).at("detail").as_string(), "ok");
  EXPECT_NE(std::string(full.at("config").as_string()).find("config.yaml"), std::string::npos);
  EXPECT_EQ(gw.Stop(), 0) << gw.Log().substr(0, 4000);
}

// What the server answers a raw request with (the status line and the body, up to the close).
std::string RawExchange(uint16_t port, const std::string& request) {
  asio::io_context ioc;
  tcp::socket s(ioc);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  asio::write(s, asio::buffer(request));
  std::string got;
  boost::system::error_code ec;
  asio::read(s, asio::dynamic_buffer(got), ec);  // the server closes after an error
  return got;
}

TEST(Operations, AmbiguousFramingIsRefusedBeforeTheHandler) {
  FakeUpstream up(Answer("a"));
  GatewayProcess gw("providers:\n" + Provider("a", up));
  ASSERT_TRUE(gw.started()) << gw.Log();
  const std::string post = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n";
  const std::string body = kChat;
  const std::string length = std::to_string(body.size());
  struct Case {
    std::string raw;
    std::string status_line;
  };
  const Case cases[] = {
      {post + "X-Folded: a\r\n b\r\nContent-Length: " + length + "\r\n\r\n" + body,
       "HTTP/1.1 400 "},
      {post + "Content-Length: " + length + ", " + length + "\r\n\r\n" + body, "HTTP/1.1 400 "},
      {post + "Content-Length: " + length + "\r\nContent-Length: " + length + "\r\n\r\n" + body,
       "HTTP/1.1 400 "},
      {post + "Transfer-Encoding: chunked\r\nContent-Length: " + length + "\r\n\r\n" + body,
       "HTTP/1.1 400 "},
      {post + "Transfer-Encoding: gzip\r\n\r\n" + body, "HTTP/1.1 501 "},
      {post + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", "HTTP/1.1 501 "},
  };
  for (const Case& c : cases) {
    const std::string got = RawExchange(gw.port(), c.raw);
    EXPECT_TRUE(got.starts_with(c.status_line)) << c.raw << "\n---\n" << got;
    EXPECT_NE(got.find("Connection: close"), std::string::npos) << got;
    EXPECT_NE(got.find(R"({"error":{"message":"malformed HTTP request: )"), std::string::npos)
        << got;
  }
  EXPECT_EQ(up.request_count(), 0u);  // none of them reached an upstream
  EXPECT_EQ(gw.Stop(), 0) << gw.Log().substr(0, 4000);
}

}  // namespace
}  // namespace hybridgate::testing
