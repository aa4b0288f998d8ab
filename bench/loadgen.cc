// loadgen: the bench's own HTTP/1.1 load generator (loopback only), for what wrk cannot do.
//   rate    — open loop at R requests/s over keep-alive connections; each latency is measured from
//             the request's *scheduled* time, so a stalled target is charged for the queue it
//             causes (no coordinated omission). --stream also records time to the first body byte.
//   count   — closed loop (--rate 0): exactly --requests requests, back to back (callgrind runs).
//   streams — holds --streams streaming responses open at once and samples --pid's RSS meanwhile.
// Prints one JSON object on stdout. Single-threaded (one io_context): it shares the machine with
// what it measures, so it should cost as little as possible.
#include <algorithm>
#include <boost/asio.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using boost::system::error_code;
constexpr auto kNoThrow = asio::as_tuple(use_awaitable);

struct Options {
  std::string host = "127.0.0.1";
  std::string port = "80";
  std::string path = "/";
  std::string body;
  std::vector<std::string> headers;
  double rate = 0;          // requests per second; 0: closed loop
  double duration_s = 10;   // measured part of the schedule
  double warmup_s = 1;      // schedule run before it, not recorded
  int64_t requests = 1000;  // closed loop: how many
  int connections = 16;
  bool stream = false;  // record time to first body byte
  int64_t streams = 0;  // streams mode: how many to hold open
  double hold_s = 5;    // streams mode: how long to hold them once open
  double open_timeout_s = 30;
  int pid = 0;         // streams mode: process whose RSS is sampled
  double drain_s = 5;  // after the schedule: how long answers may still come
};

[[noreturn]] void Usage(const char* why) {
  std::fprintf(
      stderr,
      "loadgen: %s\nusage: loadgen --url http://127.0.0.1:PORT/PATH [--body-file F | --body S]"
      " [-H 'Name: value']... [--rate R --duration S --warmup S | --requests N]"
      " [--connections C] [--stream] [--streams N --hold S --pid PID]\n",
      why);
  std::exit(2);
}

bool ParseUrl(std::string url, Options& o) {
  constexpr std::string_view kScheme = "http://";
  if (!url.starts_with(kScheme)) return false;
  url.erase(0, kScheme.size());
  auto slash = url.find('/');
  std::string authority = url.substr(0, slash);
  o.path = slash == std::string::npos ? "/" : url.substr(slash);
  auto colon = authority.rfind(':');
  o.host = authority.substr(0, colon);
  o.port = colon == std::string::npos ? "80" : authority.substr(colon + 1);
  return !o.host.empty();
}

Options Parse(int argc, char** argv) {
  Options o;
  bool have_url = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) Usage(("missing value after " + a).c_str());
      return argv[++i];
    };
    if (a == "--url") {
      have_url = ParseUrl(next(), o);
      if (!have_url) Usage("--url must be http://host:port/path");
    } else if (a == "--body") {
      o.body = next();
    } else if (a == "--body-file") {
      std::ifstream in(next(), std::ios::binary);
      if (!in) Usage("cannot read --body-file");
      o.body.assign(std::istreambuf_iterator<char>(in), {});
    } else if (a == "-H") {
      o.headers.push_back(next());
    } else if (a == "--rate") {
      o.rate = std::stod(next());
    } else if (a == "--duration") {
      o.duration_s = std::stod(next());
    } else if (a == "--warmup") {
      o.warmup_s = std::stod(next());
    } else if (a == "--requests") {
      o.requests = std::stoll(next());
    } else if (a == "--connections") {
      o.connections = std::stoi(next());
    } else if (a == "--stream") {
      o.stream = true;
    } else if (a == "--streams") {
      o.streams = std::stoll(next());
      o.stream = true;
    } else if (a == "--hold") {
      o.hold_s = std::stod(next());
    } else if (a == "--open-timeout") {
      o.open_timeout_s = std::stod(next());
    } else if (a == "--pid") {
      o.pid = std::stoi(next());
    } else if (a == "--drain") {
      o.drain_s = std::stod(next());
    } else {
      Usage(("unknown option " + a).c_str());
    }
  }
  if (!have_url) Usage("--url is required");
  if (o.connections < 1 || o.rate < 0 || o.duration_s <= 0 || o.requests < 1) Usage("bad numbers");
  // Bounded by construction: a schedule of at most 10M requests.
  if (o.rate * (o.duration_s + o.warmup_s) > 1e7) Usage("rate × duration above 10M requests");
  return o;
}

std::string BuildRequest(const Options& o) {
  std::string r =
      "POST " + o.path + " HTTP/1.1\r\nHost: " + o.host + ":" + o.port +
      "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(o.body.size()) +
      "\r\n";
  for (const auto& h : o.headers) r += h + "\r\n";
  return r + "\r\n" + o.body;
}

// One exchange's outcome; times in microseconds from when it was due.
struct Sample {
  double total_us = 0;
  double ttfb_us = 0;  // first body byte
};

struct Stats {
  std::vector<Sample> samples;
  int64_t sent = 0, ok = 0, non2xx = 0, errors = 0;
  int64_t body_bytes = 0;
};

// A keep-alive connection that sends the prebuilt request and reads the answer to its end.
class Connection {
 public:
  explicit Connection(asio::any_io_executor ex) : socket_(ex) {}

  awaitable<error_code> Connect(const tcp::resolver::results_type& endpoints) {
    error_code ec;
    socket_.close(ec);
    buffer_.clear();
    auto [cec, ep] = co_await asio::async_connect(socket_, endpoints, kNoThrow);
    if (!cec) socket_.set_option(tcp::no_delay(true), ec);
    co_return cec;
  }

  // Writes the request and reads the answer to its end; `on_first_byte` runs once, when the first
  // body byte arrives (or at the end of an empty body). Returns the status (0: transport error).
  template <typename F>
  awaitable<unsigned> Exchange(const std::string& request, int64_t& body_bytes, F on_first_byte) {
    auto [wec, wn] = co_await asio::async_write(socket_, asio::buffer(request), kNoThrow);
    if (wec) co_return 0;
    http::response_parser<http::buffer_body> parser;
    parser.body_limit(boost::none);
    auto [hec, hn] = co_await http::async_read_header(socket_, buffer_, parser, kNoThrow);
    if (hec) co_return 0;
    bool first = true;
    while (!parser.is_done()) {
      parser.get().body().data = chunk_;
      parser.get().body().size = sizeof chunk_;
      auto [rec, rn] = co_await http::async_read_some(socket_, buffer_, parser, kNoThrow);
      if (rec && rec != http::error::need_buffer) co_return 0;
      size_t got = sizeof chunk_ - parser.get().body().size;
      body_bytes += static_cast<int64_t>(got);
      if (got > 0 && first) {
        first = false;
        on_first_byte();
      }
    }
    if (first) on_first_byte();  // an empty body: its end is its first byte
    keep_alive_ = parser.keep_alive();
    co_return parser.get().result_int();
  }

  bool keep_alive() const { return keep_alive_ && socket_.is_open(); }
  void Close() {
    error_code ec;
    socket_.close(ec);
  }

 private:
  tcp::socket socket_;
  beast::flat_buffer buffer_;
  char chunk_[16 * 1024];
  bool keep_alive_ = false;
};

double Micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

// One due request: runs it on `conn` (reconnecting when needed) and records it if `record`.
awaitable<void> RunOne(Connection& conn, const tcp::resolver::results_type& endpoints,
                       const std::string& request, Clock::time_point due, bool record,
                       Stats& stats) {
  if (!conn.keep_alive() && co_await conn.Connect(endpoints)) {
    if (record) ++stats.errors;
    co_return;
  }
  Clock::time_point first{};
  int64_t bytes = 0;
  unsigned status = co_await conn.Exchange(request, bytes, [&] { first = Clock::now(); });
  auto end = Clock::now();
  if (status == 0) conn.Close();
  if (!record) co_return;
  stats.body_bytes += bytes;
  if (status == 0) {
    ++stats.errors;
  } else if (status / 100 != 2) {
    ++stats.non2xx;
  } else {
    ++stats.ok;
    stats.samples.push_back({Micros(end - due), Micros(first - due)});
  }
}

using DueChannel = asio::experimental::channel<void(error_code, Clock::time_point)>;

// Open loop: request i is due at start + i/rate whatever happened to earlier ones.
awaitable<void> Schedule(const Options& o, DueChannel& due, Clock::time_point start,
                         int64_t total) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  const double period_ns = 1e9 / o.rate;
  for (int64_t i = 0; i < total; ++i) {
    auto at = start + std::chrono::nanoseconds(static_cast<int64_t>(i * period_ns));
    if (at > Clock::now()) {
      timer.expires_at(at);
      co_await timer.async_wait(kNoThrow);
    }
    co_await due.async_send(error_code{}, at, kNoThrow);
  }
  due.close();
}

awaitable<void> RateWorker(const Options& o, const tcp::resolver::results_type& endpoints,
                           const std::string& request, DueChannel& due,
                           Clock::time_point record_from, Stats& stats) {
  Connection conn(co_await asio::this_coro::executor);
  for (;;) {
    auto [ec, at] = co_await due.async_receive(kNoThrow);
    if (ec) break;
    bool record = at >= record_from;
    if (record) ++stats.sent;
    co_await RunOne(conn, endpoints, request, at, record, stats);
  }
  conn.Close();
}

awaitable<void> CountWorker(const tcp::resolver::results_type& endpoints,
                            const std::string& request, int64_t& left, Stats& stats) {
  Connection conn(co_await asio::this_coro::executor);
  while (left > 0) {
    --left;
    ++stats.sent;
    co_await RunOne(conn, endpoints, request, Clock::now(), true, stats);
  }
  conn.Close();
}

// ---- streams mode ------------------------------------------------------------------------------

int64_t RssKb(int pid) {
  if (pid <= 0) return 0;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("VmRSS:")) return std::atoll(line.c_str() + 6);
  }
  return 0;
}

struct StreamsState {
  int64_t open = 0;      // first byte seen, end not yet
  int64_t opened = 0;    // ever reached first byte
  int64_t finished = 0;  // read to the end
  int64_t failed = 0;
  bool stopping = false;
};

awaitable<void> HoldStream(const tcp::resolver::results_type& endpoints, const std::string& request,
                           StreamsState& st, std::vector<Connection*>& all) {
  Connection conn(co_await asio::this_coro::executor);
  all.push_back(&conn);
  bool was_open = false;
  int64_t bytes = 0;
  unsigned status = 0;
  if (!co_await conn.Connect(endpoints)) {
    status = co_await conn.Exchange(request, bytes, [&] {
      was_open = true;
      ++st.open;
      ++st.opened;
    });
  }
  if (was_open) --st.open;
  if (status / 100 == 2) {
    ++st.finished;
  } else if (!st.stopping) {
    ++st.failed;
  }
  std::erase(all, &conn);
  conn.Close();
}

struct StreamsReport {
  int64_t rss_before_kb = 0, rss_max_kb = 0, rss_end_kb = 0, open_min = 0, open_max = 0;
  double open_after_s = -1;  // when every stream had its first byte; -1: never
};

awaitable<void> SampleStreams(const Options& o, StreamsState& st, std::vector<Connection*>& all,
                              StreamsReport& rep) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  auto start = Clock::now();
  auto open_deadline = start + std::chrono::duration_cast<Clock::duration>(
                                   std::chrono::duration<double>(o.open_timeout_s));
  while (st.opened < o.streams && st.failed + st.opened < o.streams &&
         Clock::now() < open_deadline) {
    timer.expires_after(std::chrono::milliseconds(20));
    co_await timer.async_wait(kNoThrow);
    rep.open_max = std::max(rep.open_max, st.open);
  }
  if (st.opened >= o.streams)
    rep.open_after_s = std::chrono::duration<double>(Clock::now() - start).count();
  auto hold_end = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double>(o.hold_s));
  rep.open_min = st.open;
  while (Clock::now() < hold_end) {
    rep.rss_max_kb = std::max(rep.rss_max_kb, RssKb(o.pid));
    rep.open_min = std::min(rep.open_min, st.open);
    rep.open_max = std::max(rep.open_max, st.open);
    timer.expires_after(std::chrono::milliseconds(100));
    co_await timer.async_wait(kNoThrow);
  }
  rep.rss_end_kb = RssKb(o.pid);
  rep.open_min = std::min(rep.open_min, st.open);
  st.stopping = true;
  for (auto* c : std::vector<Connection*>(all)) c->Close();
}

// ---- report ------------------------------------------------------------------------------------

double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t i = static_cast<size_t>(p / 100.0 * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(i, sorted.size() - 1)];
}

std::string Distribution(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  double sum = 0;
  for (double x : v) sum += x;
  char out[256];
  std::snprintf(out, sizeof out,
                "{\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f,\"mean\":%.1f}",
                Percentile(v, 50), Percentile(v, 90), Percentile(v, 99), Percentile(v, 99.9),
                v.empty() ? 0.0 : v.back(), v.empty() ? 0.0 : sum / static_cast<double>(v.size()));
  return out;
}

void PrintRequests(const Options& o, const Stats& s, double elapsed_s) {
  std::vector<double> total, ttfb;
  for (const auto& x : s.samples) {
    total.push_back(x.total_us);
    ttfb.push_back(x.ttfb_us);
  }
  std::printf(
      "{\"mode\":\"%s\",\"rate\":%.1f,\"connections\":%d,\"sent\":%lld,\"ok\":%lld,"
      "\"non2xx\":%lld,\"errors\":%lld,\"unfinished\":%lld,\"elapsed_s\":%.3f,"
      "\"achieved_rps\":%.1f,\"body_bytes\":%lld,\"latency_us\":%s",
      o.rate > 0 ? "rate" : "count", o.rate, o.connections, static_cast<long long>(s.sent),
      static_cast<long long>(s.ok), static_cast<long long>(s.non2xx),
      static_cast<long long>(s.errors), static_cast<long long>(s.sent - s.ok - s.non2xx - s.errors),
      elapsed_s, elapsed_s > 0 ? static_cast<double>(s.ok) / elapsed_s : 0.0,
      static_cast<long long>(s.body_bytes), Distribution(total).c_str());
  if (o.stream) std::printf(",\"ttfb_us\":%s", Distribution(ttfb).c_str());
  std::printf("}\n");
}

int RunRequests(const Options& o, const tcp::resolver::results_type& endpoints) {
  asio::io_context ctx(1);
  const std::string request = BuildRequest(o);
  Stats stats;
  stats.samples.reserve(o.rate > 0 ? static_cast<size_t>(o.rate * o.duration_s) + 16
                                   : static_cast<size_t>(o.requests));
  auto start = Clock::now() + std::chrono::milliseconds(50);  // connections open meanwhile
  Clock::time_point record_from = start;
  std::optional<DueChannel> due;
  int64_t left = o.requests;
  if (o.rate > 0) {
    int64_t warm = static_cast<int64_t>(o.rate * o.warmup_s);
    int64_t total = warm + static_cast<int64_t>(o.rate * o.duration_s);
    record_from = start + std::chrono::nanoseconds(static_cast<int64_t>(warm * 1e9 / o.rate));
    due.emplace(ctx, static_cast<size_t>(total));  // never blocks the schedule
    asio::co_spawn(ctx, Schedule(o, *due, start, total), asio::detached);
    for (int i = 0; i < o.connections; ++i) {
      asio::co_spawn(ctx, RateWorker(o, endpoints, request, *due, record_from, stats),
                     asio::detached);
    }
    // Everything is bounded: the schedule, then at most drain_s for the last answers.
    auto stop_at =
        start + std::chrono::duration_cast<Clock::duration>(
                    std::chrono::duration<double>(o.warmup_s + o.duration_s + o.drain_s));
    ctx.run_until(stop_at);
  } else {
    record_from = Clock::now();
    for (int i = 0; i < o.connections; ++i) {
      asio::co_spawn(ctx, CountWorker(endpoints, request, left, stats), asio::detached);
    }
    ctx.run_for(std::chrono::seconds(600));
  }
  double elapsed =
      o.rate > 0 ? o.duration_s : std::chrono::duration<double>(Clock::now() - record_from).count();
  PrintRequests(o, stats, elapsed);
  return 0;
}

int RunStreams(const Options& o, const tcp::resolver::results_type& endpoints) {
  asio::io_context ctx(1);
  const std::string request = BuildRequest(o);
  StreamsState st;
  StreamsReport rep;
  std::vector<Connection*> all;
  rep.rss_before_kb = RssKb(o.pid);
  for (int64_t i = 0; i < o.streams; ++i) {
    asio::co_spawn(ctx, HoldStream(endpoints, request, st, all), asio::detached);
  }
  asio::co_spawn(ctx, SampleStreams(o, st, all, rep), asio::detached);
  ctx.run_for(std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(o.open_timeout_s + o.hold_s + 10)));
  std::printf(
      "{\"mode\":\"streams\",\"streams\":%lld,\"opened\":%lld,\"finished_early\":%lld,"
      "\"failed\":%lld,\"all_open_after_s\":%.2f,\"open_min_during_hold\":%lld,"
      "\"open_max\":%lld,\"hold_s\":%.1f,\"pid\":%d,\"rss_before_kb\":%lld,"
      "\"rss_max_kb\":%lld,\"rss_end_kb\":%lld}\n",
      static_cast<long long>(o.streams), static_cast<long long>(st.opened),
      static_cast<long long>(st.finished), static_cast<long long>(st.failed), rep.open_after_s,
      static_cast<long long>(rep.open_min), static_cast<long long>(rep.open_max), o.hold_s, o.pid,
      static_cast<long long>(rep.rss_before_kb), static_cast<long long>(rep.rss_max_kb),
      static_cast<long long>(rep.rss_end_kb));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = Parse(argc, argv);
  asio::io_context resolve_ctx;
  error_code ec;
  auto endpoints = tcp::resolver(resolve_ctx).resolve(o.host, o.port, ec);
  if (ec) Usage(("cannot resolve " + o.host + ":" + o.port + ": " + ec.message()).c_str());
  for (const auto& e : endpoints) {
    if (!e.endpoint().address().is_loopback()) Usage("only loopback targets are allowed");
  }
  return o.streams > 0 ? RunStreams(o, endpoints) : RunRequests(o, endpoints);
}
