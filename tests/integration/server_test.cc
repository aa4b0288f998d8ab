// Server behaviour through the real binary: graceful drain on SIGTERM, slow clients, the CLI.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <boost/asio.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <thread>

#include "tests/support/fake_upstream.h"
#include "tests/support/gateway_process.h"

namespace hybridgate::testing {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

std::string OneProvider(const FakeUpstream& up, const std::string& server = "") {
  return server + "providers:\n  - {name: fake, type: openai, base_url: '" + up.base_url() +
         "', models: [{name: m}]}\n";
}

const std::string kChat = R"({"model":"m","messages":[{"role":"user","content":"hi"}]})";

TEST(Server, SigtermDrainsInFlightRequestsThenExitsZero) {
  FakeUpstream up(
      [](const Recorded&) { return Action{.body = ChatCompletionJson("late"), .delay = 800ms}; });
  GatewayProcess gw(OneProvider(up));
  ASSERT_TRUE(gw.started()) << gw.Log();
  HttpResult r;
  std::thread t([&] {
    TestClient c(gw.port());
    r = c.Post("/v1/chat/completions", kChat);
  });
  ASSERT_TRUE(FakeUpstream::WaitFor([&] { return up.request_count() >= 1; }, 5s));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(gw.Stop(), 0) << gw.Log();
  t.join();
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_NE(r.body.find("late"), std::string::npos);
  EXPECT_EQ(r.headers["connection"], "close");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  // Stopped: nothing listens any more.
  TestClient after(gw.port());
  EXPECT_EQ(after.Get("/healthz").status, 0);
}

std::string ReadFirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// What top, ps -o comm and gdb show: the process is "hybridgate" (not "exe" after the malloc
// re-exec), each event loop is "hg-worker-N", the helpers keep their own names.
TEST(Server, ProcessAndThreadsAreNamed) {
  FakeUpstream up([](const Recorded&) { return Action{.body = ChatCompletionJson("hi")}; });
  GatewayProcess gw(OneProvider(up, "server: {workers: 2}\n"));
  ASSERT_TRUE(gw.started()) << gw.Log();
  const std::string proc = "/proc/" + std::to_string(gw.pid());
  EXPECT_EQ(ReadFirstLine(proc + "/comm"), "hybridgate");
  std::multiset<std::string> names;
  for (const auto& task : std::filesystem::directory_iterator(proc + "/task")) {
    names.insert(ReadFirstLine(task.path().string() + "/comm"));
  }
  EXPECT_EQ(names.count("hg-worker-0"), 1u);
  EXPECT_EQ(names.count("hg-worker-1"), 1u);
  EXPECT_EQ(names.count("hg-worker-2"), 0u);
  EXPECT_EQ(names.count("exe"), 0u);
  EXPECT_EQ(gw.Stop(), 0) << gw.Log();
}

TEST(Server, SlowClientIsCutOffByTheHeaderTimeout) {
  FakeUpstream up;
  GatewayProcess gw(OneProvider(up, "server: {header_timeout_ms: 300}\n"));
  ASSERT_TRUE(gw.started()) << gw.Log();
  asio::io_context ioc;
  tcp::socket s(ioc);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), gw.port()));
  asio::write(s, asio::buffer(std::string("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n")));
  const auto start = std::chrono::steady_clock::now();
  // Half a request, then nothing: the server answers 408 in the OpenAI error shape and closes.
  std::string got;
  boost::system::error_code ec;
  asio::read(s, asio::dynamic_buffer(got), ec);  // blocks until the server closes the connection
  EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_TRUE(got.starts_with("HTTP/1.1 408 ")) << got;
  EXPECT_NE(got.find("Connection: close"), std::string::npos) << got;
  EXPECT_NE(got.find(R"("code":"request_timeout")"), std::string::npos) << got;
}

TEST(Server, ConnectionsOverTheLimitAreRefusedAndServiceResumesBelowIt) {
  FakeUpstream up;
  GatewayProcess gw(OneProvider(up, "server: {max_connections: 2, workers: 1}\n"));
  ASSERT_TRUE(gw.started()) << gw.Log();
  // Two kept-alive connections hold the limit. The readiness probe's connection counts until the
  // server has read its EOF, so the second one may have to wait for that slot to come free.
  TestClient a(gw.port());
  ASSERT_EQ(a.Get("/healthz").status, 200);
  std::optional<TestClient> b;
  ASSERT_TRUE(FakeUpstream::WaitFor(
      [&] {
        b.emplace(gw.port());
        return b->Get("/healthz").status == 200;
      },
      5s));
  TestClient c(gw.port());
  EXPECT_EQ(c.Get("/healthz").status, 0) << "a third connection must be closed, not queued";
  a.Close();
  EXPECT_TRUE(FakeUpstream::WaitFor(
      [&] {
        TestClient d(gw.port());
        return d.Get("/healthz").status == 200;
      },
      5s));
  EXPECT_EQ(b->Get("/healthz").status, 200);
}

TEST(Server, MalformedHttpGetsA400AndTheConnectionCloses) {
  FakeUpstream up;
  GatewayProcess gw(OneProvider(up));
  ASSERT_TRUE(gw.started()) << gw.Log();
  asio::io_context ioc;
  tcp::socket s(ioc);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), gw.port()));
  asio::write(s, asio::buffer(std::string("GARBAGE\x01 / HTTP/9.9\r\n\r\n")));
  std::string got;
  char buf[1024];
  boost::system::error_code ec;
  while (!ec) {
    size_t n = s.read_some(asio::buffer(buf), ec);
    got.append(buf, n);
  }
  EXPECT_EQ(got.rfind("HTTP/1.1 400", 0), 0u) << got;
  EXPECT_NE(got.find("malformed HTTP request"), std::string::npos) << got;
}

int RunCli(const std::string& args, std::string* output) {
  const std::string cmd = BinaryPath() + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) output->append(buf, n);
  const int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(Cli, ConfigCheckNamesFileLineAndKeyAndExitsTwo) {
  const std::string path = "/tmp/hybridgate-cli-test.yaml";
  std::ofstream(path) << "providers:\n  - name: a\n    type: openai\n    base_url: http://x/v1\n"
                         "    modles: []\n";
  std::string out;
  EXPECT_EQ(RunCli("config check " + path, &out), 2);
  EXPECT_NE(out.find(path + ":5: 'providers[0].modles': unknown key"), std::string::npos) << out;

  std::ofstream(path)
      << "providers:\n  - {name: a, type: openai, base_url: 'http://x/v1', models: [{name: m}]}\n";
  out.clear();
  EXPECT_EQ(RunCli("config check " + path, &out), 0) << out;
  EXPECT_NE(out.find("OK (1 providers, 1 models)"), std::string::npos) << out;

  out.clear();
  EXPECT_EQ(RunCli("config check /nonexistent.yaml", &out), 2);
  EXPECT_NE(out.find("cannot open config file"), std::string::npos);
}

TEST(Cli, HelpVersionAndUsageErrors) {
  for (const std::string args :
       {"--help", "serve --help", "config --help", "config check --help"}) {
    std::string out;
    EXPECT_EQ(RunCli(args, &out), 0) << args;
    EXPECT_NE(out.find("Usage"), std::string::npos) << args << ": " << out;
  }
  std::string out;
  EXPECT_EQ(RunCli("--version", &out), 0);
  EXPECT_EQ(out.rfind("hybridgate ", 0), 0u) << out;
  out.clear();
  EXPECT_EQ(RunCli("serve", &out), 2);  // --config is required
  EXPECT_NE(out.find("--config"), std::string::npos) << out;
  out.clear();
  EXPECT_EQ(RunCli("frobnicate", &out), 2);
}

}  // namespace
}  // namespace hybridgate::testing
