#include "tests/support/gateway_process.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace hybridgate::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::string BinaryPath() {
  const char* bin = std::getenv("HYBRIDGATE_BIN");
  if (bin == nullptr) throw std::runtime_error("HYBRIDGATE_BIN is not set (run through ctest)");
  return bin;
}

uint16_t FreePort() {
  asio::io_context ioc;
  tcp::acceptor a(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

namespace {

// The socket inodes among the descriptors of `proc` ("self" or a pid): "socket:[inode]".
std::set<std::string> SocketInodes(const std::string& proc) {
  std::set<std::string> inodes;
  std::error_code ec;
  for (const auto& fd : std::filesystem::directory_iterator("/proc/" + proc + "/fd", ec)) {
    const std::string target = std::filesystem::read_symlink(fd.path(), ec).string();
    if (!ec && target.starts_with("socket:[")) inodes.insert(target.substr(8, target.size() - 9));
  }
  return inodes;
}

// The port on 127.0.0.1 where process `pid` has a socket in the LISTEN state, or 0: its sockets
// (less this process's own, which a child holds until exec) matched against /proc/net/tcp.
uint16_t ListeningPort(pid_t pid) {
  std::set<std::string> inodes = SocketInodes(std::to_string(pid));
  for (const std::string& own : SocketInodes("self")) inodes.erase(own);
  std::ifstream tcp("/proc/net/tcp");
  std::string line;
  std::getline(tcp, line);  // the column names
  while (std::getline(tcp, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
    fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >>
        timeout >> inode;
    if (state == "0A" && local.starts_with("0100007F:") && inodes.contains(inode)) {
      return static_cast<uint16_t>(std::stoul(local.substr(9), nullptr, 16));
    }
  }
  return 0;
}

}  // namespace

GatewayProcess::GatewayProcess(const std::string& config_yaml,
                               std::vector<std::string> extra_args) {
  char tmpl[] = "/tmp/hybridgate-test-XXXXXX";
  dir_ = mkdtemp(tmpl);
  // Port 0: the gateway binds a port the kernel picks, found from its own sockets. Picking a
  // free port here and passing it on races with every other test process: another gateway
  // could take it first, this one would refuse to start, and the health check below would
  // then be answered by the other one.
  const std::string config_path = dir_ + "/config.yaml";
  std::ofstream(config_path) << "listen: 127.0.0.1:0\n" << config_yaml;
  const std::string bin = BinaryPath();
  const std::string log = dir_ + "/stderr.log";
  pid_ = fork();
  if (pid_ == 0) {
    freopen(log.c_str(), "w", stderr);
    freopen("/dev/null", "w", stdout);
    std::vector<std::string> args = {bin, "serve", "--config", config_path, "--workers", "2"};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(bin.c_str(), argv.data());
    _exit(127);
  }
  // Wait until it listens and answers /healthz there (or exits). Generous: a sanitizer
  // build on a loaded 2-core machine starts slowly, and a failure says what the wait saw (Log()
  // shows it first).
  using Clock = std::chrono::steady_clock;
  const auto begin = Clock::now();
  int attempts = 0, last_status = 0;
  auto last_took = Clock::duration::zero();
  while (Clock::now() - begin < std::chrono::seconds(30)) {
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      start_note_ =
          "exited during startup with status " +
          std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
      return;
    }
    if (port_ == 0 && (port_ = ListeningPort(pid_)) == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
      continue;
    }
    TestClient c(port_);
    const auto t0 = Clock::now();
    last_status = c.Get("/healthz").status;
    last_took = Clock::now() - t0;
    ++attempts;
    if (last_status == 200) {
      started_ = true;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  const auto ms = [](Clock::duration d) {
    return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
  };
  start_note_ = "no 200 from GET /healthz on port " +
                (port_ == 0 ? std::string("(none listening yet)") : std::to_string(port_)) +
                " in " + ms(Clock::now() - begin) + " ms: " + std::to_string(attempts) +
                " attempts, the last answered status " + std::to_string(last_status) +
                " (0: no answer) after " + ms(last_took) + " ms";
}

void GatewayProcess::RewriteConfig(const std::string& config_yaml) const {
  const std::string tmp = dir_ + "/config.yaml.new";
  {
    std::ofstream out(tmp);
    out << "listen: 127.0.0.1:0\n" << config_yaml;  // as started: the port stays
  }
  std::filesystem::rename(tmp, dir_ + "/config.yaml");
}

GatewayProcess::~GatewayProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

int GatewayProcess::Stop(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return -1;
}

std::string GatewayProcess::Log() const {
  std::ifstream in(dir_ + "/stderr.log");
  std::stringstream ss;
  if (!start_note_.empty()) ss << "[test harness: " << start_note_ << "]\n";
  ss << in.rdbuf();
  return ss.str();
}

namespace {
// Longer than any request a test makes on purpose; only a hung gateway reaches it.
constexpr std::chrono::milliseconds kRequestTimeout = std::chrono::seconds(60);
}  // namespace

struct TestClient::Impl {
  uint16_t port;
  asio::io_context ioc;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;
  std::optional<http::response_parser<http::buffer_body>> parser;
  int connects = 0;
  bool failed = false;

  // Runs one asynchronous operation to its end, or cancels it at `timeout` and answers
  // asio::error::timed_out with the stream still usable: a broken gateway fails a test, never
  // hangs it (a blocking read on the socket would wait forever).
  template <class Start>
  beast::error_code Bounded(std::chrono::milliseconds timeout, Start start) {
    bool done = false;
    beast::error_code ec;
    start([&](beast::error_code e, std::size_t) {
      done = true;
      ec = e;
    });
    ioc.restart();
    ioc.run_for(timeout);
    if (done) return ec;
    beast::error_code ignored;
    stream->socket().cancel(ignored);
    ioc.restart();
    ioc.run();
    return asio::error::timed_out;
  }

  bool Connect() {
    stream.emplace(ioc);
    beast::error_code ec;
    stream->socket().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
    buffer.clear();
    if (!ec) connects++;
    return !ec;
  }
};

TestClient::TestClient(uint16_t port) : impl_(std::make_unique<Impl>()) { impl_->port = port; }
TestClient::~TestClient() = default;
int TestClient::connects() const { return impl_->connects; }

void TestClient::Close() {
  if (impl_->stream) {
    beast::error_code ec;
    impl_->stream->socket().shutdown(tcp::socket::shutdown_both, ec);
    impl_->stream->socket().close(ec);
    impl_->stream.reset();
  }
}

namespace {

template <class Fields>
std::map<std::string, std::string> Headers(const Fields& fields) {
  std::map<std::string, std::string> out;
  for (const auto& f : fields) {
    std::string name(f.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out[name] = std::string(f.value());
  }
  return out;
}

}  // namespace

HttpResult TestClient::Request(const std::string& method, const std::string& target,
                               const std::string& body,
                               const std::map<std::string, std::string>& headers) {
  HttpResult out;
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!impl_->stream && !impl_->Connect()) {
      out.error = "connect failed";
      return out;
    }
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, "127.0.0.1");
    req.set(http::field::content_type, "application/json");
    for (const auto& [k, v] : headers) req.set(k, v);
    req.body() = body;
    req.prepare_payload();
    req.keep_alive(true);
    http::response_parser<http::string_body> parser;
    parser.body_limit(256 * 1024 * 1024);
    beast::error_code ec = impl_->Bounded(
        kRequestTimeout, [&](auto done) { http::async_write(*impl_->stream, req, done); });
    if (!ec) {
      ec = impl_->Bounded(kRequestTimeout, [&](auto done) {
        http::async_read(*impl_->stream, impl_->buffer, parser, done);
      });
    }
    if (ec) {
      Close();
      out.error = ec.message();
      if (attempt == 0 &&
          (ec == http::error::end_of_stream || ec == asio::error::connection_reset)) {
        continue;
      }
      return out;
    }
    auto& res = parser.get();
    out.status = static_cast<int>(res.result_int());
    out.headers = Headers(res);
    out.body = res.body();
    if (!res.keep_alive()) Close();
    return out;
  }
  return out;
}

HttpResult TestClient::StartStream(const std::string& target, const std::string& body,
                                   const std::map<std::string, std::string>& headers) {
  HttpResult out;
  if (!impl_->stream && !impl_->Connect()) {
    out.error = "connect failed";
    return out;
  }
  http::request<http::string_body> req{http::verb::post, target, 11};
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::content_type, "application/json");
  for (const auto& [name, value] : headers) req.set(name, value);
  req.body() = body;
  req.prepare_payload();
  beast::error_code ec = impl_->Bounded(
      kRequestTimeout, [&](auto done) { http::async_write(*impl_->stream, req, done); });
  impl_->failed = false;
  auto& p = impl_->parser.emplace();
  p.body_limit(boost::none);
  if (!ec) {
    ec = impl_->Bounded(kRequestTimeout, [&](auto done) {
      http::async_read_header(*impl_->stream, impl_->buffer, p, done);
    });
  }
  if (ec) {
    out.error = ec.message();
    return out;
  }
  out.status = static_cast<int>(p.get().result_int());
  out.headers = Headers(p.get());
  return out;
}

std::string TestClient::ReadSome(std::chrono::milliseconds timeout) {
  if (!impl_->parser || impl_->parser->is_done()) return "";
  char buf[65536];
  auto& p = *impl_->parser;
  p.get().body().data = buf;
  p.get().body().size = sizeof buf;
  beast::error_code ec = impl_->Bounded(
      timeout, [&](auto done) { http::async_read_some(*impl_->stream, impl_->buffer, p, done); });
  if (ec == http::error::need_buffer || ec == asio::error::timed_out) ec = {};
  if (ec) {
    impl_->failed = true;
    return "";
  }
  return std::string(buf, sizeof buf - p.get().body().size);
}

bool TestClient::stream_done() const { return impl_->parser && impl_->parser->is_done(); }
bool TestClient::stream_failed() const { return impl_->failed; }

std::string TestClient::ReadAll(std::chrono::milliseconds timeout) {
  std::string out;
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (!stream_done() && !stream_failed()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        end - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      impl_->failed = true;
      break;
    }
    out += ReadSome(left);
  }
  return out;
}

}  // namespace hybridgate::testing
