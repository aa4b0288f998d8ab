#include "http/server.h"

#include <fmt/format.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/intrusive/list.hpp>
#include <chrono>
#include <condition_variable>
#include <latch>
#include <mutex>
#include <set>
#include <thread>

#include "common/json_writer.h"
#include "common/thread.h"
#include "http/exclusive_listen.h"
#include "http/head.h"
#include "http/read_message.h"
#include "http/watchdog.h"

namespace hybridgate::http {

namespace http = beast::http;
using tcp = asio::ip::tcp;
using std::chrono::milliseconds;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
// The most a request's read buffer is grown to at once for its body, and what an idle keep-alive
// connection may keep of it.
constexpr uint64_t kMaxBodyReserve = 256 * 1024;
constexpr size_t kIdleBufferKeep = 16 * 1024;

// Exchanges whose client-gone watch is due, oldest first (see Exchange::OnClientGone).
using PendingWatches = boost::intrusive::list<
    Exchange,
    boost::intrusive::member_hook<Exchange, decltype(Exchange::watch_hook), &Exchange::watch_hook>,
    boost::intrusive::constant_time_size<false>>;
constexpr auto kWatchAfter = milliseconds(50);
// Accept's back-off while it fails (out of file descriptors, mostly), and the least time between
// two log lines about it.
constexpr auto kAcceptBackoffFirst = milliseconds(50);
constexpr auto kAcceptBackoffMax = milliseconds(1000);
constexpr auto kAcceptLogEvery = std::chrono::seconds(10);

// A log line in the process's JSON shape (the logger's pattern opens the object with "ts").
void Log(spdlog::level::level_enum level, std::string_view msg) {
  std::string fields = R"("level":")";
  const auto name = spdlog::level::to_string_view(level);
  fields.append(name.data(), name.size());
  fields.append(R"(","msg":)");
  AppendJsonString(fields, msg);
  fields.push_back('}');
  spdlog::log(level, "{}", fields);
}

struct Server::Worker {
  int index = 0;
  std::set<Session*> sessions;     // before ioc: destroying ioc destroys suspended sessions
  PendingWatches pending_watches;  // before ioc too: their exchanges unlink themselves
  // One thread runs it, and only that thread touches its sockets (Shutdown posts here): no lock
  // per socket operation. Timers and posts from other threads (the engine's decode thread, the
  // resolver's, the signal thread) still take the scheduler's and the reactor's locks.
  asio::io_context ioc{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
  asio::steady_timer watch_timer{ioc};
  bool watch_timer_armed = false;
  Watchdog watchdog{ioc};  // the sessions' read and write timeouts
  std::optional<tcp::acceptor> acceptor;
  std::thread thread;
};

class Session {
 public:
  Session(Server& server, Server::Worker& worker, tcp::socket socket)
      : server_(server), worker_(worker), socket_(std::move(socket)) {
    worker_.sessions.insert(this);
  }
  ~Session() { worker_.sessions.erase(this); }

  asio::awaitable<void> Run();
  // Closes the connection if it is between requests (used when draining).
  void CloseIfIdle() {
    beast::error_code ignored;
    if (idle_) socket_.cancel(ignored);
  }
  // Ends the request in flight as if its client had gone (the shutdown deadline passed).
  void GiveUp() {
    if (exchange_) exchange_->GiveUp();
  }

 private:
  friend class Exchange;
  asio::awaitable<bool> ReadRequest(RequestReader& parser, bool first);
  asio::awaitable<void> SendError(int status, std::string_view message);

  Server& server_;
  Server::Worker& worker_;
  tcp::socket socket_;
  Watchdog::Entry deadline_{worker_.watchdog, &socket_};
  beast::flat_buffer buffer_;
  Request request_;   // the current request; its storage is reused by the next one
  std::string head_;  // response heads, reused across the connection's responses
  bool idle_ = true;
  Exchange* exchange_ = nullptr;  // the request being handled, if any
};

namespace {

std::string ErrorBody(std::string_view message, std::string_view type, std::string_view code) {
  // Same shape as every other error the gateway sends (OpenAI's).
  std::string out = R"({"error":{"message":)";
  AppendJsonString(out, message);
  out.append(R"(,"type":")");
  out.append(type);
  out.append(R"(","param":null,"code":")");
  out.append(code);
  out.append("\"}}");
  return out;
}

// Into `out`: the status line and the fields both kinds of response carry, as Beast would write
// them for set() of each field (the last value of a repeated name wins) and keep_alive().
void ResponseHead(std::string& out, int status, std::string_view content_type,
                  std::string_view cache_control, const HeaderList& headers, bool keep_alive) {
  out.clear();
  out.append("HTTP/1.1 ");
  head::AppendDecimal(out, static_cast<size_t>(status));
  out.push_back(' ');
  const auto reason = http::obsolete_reason(static_cast<http::status>(status));
  out.append(reason.data(), reason.size());
  out.append("\r\n");
  if (!head::Has(headers, "content-type")) head::AppendField(out, "Content-Type", content_type);
  if (!cache_control.empty() && !head::Has(headers, "cache-control"))
    head::AppendField(out, "Cache-Control", cache_control);
  head::AppendFields(out, headers, {"content-length", "transfer-encoding", "connection"});
  if (!keep_alive) head::AppendField(out, "Connection", "close");
}

}  // namespace

asio::awaitable<void> Session::SendError(int status, std::string_view message) {
  std::string_view code = status == 413   ? "payload_too_large"
                          : status == 431 ? "headers_too_large"
                          : status == 408 ? "request_timeout"
                          : status == 501 ? "not_implemented"
                                          : "bad_request";
  http::response<http::string_body> res{static_cast<http::status>(status), 11};
  res.set(http::field::content_type, "application/json");
  res.keep_alive(false);
  res.body() = ErrorBody(message, "invalid_request_error", code);
  res.prepare_payload();
  deadline_.ArmAfter(milliseconds(server_.config_.write_timeout_ms));
  co_await http::async_write(socket_, res, kTuple);
  deadline_.Disarm();
}

asio::awaitable<bool> Session::ReadRequest(RequestReader& parser, bool first) {
  const auto& cfg = server_.config_;
  parser.header_limit(static_cast<uint32_t>(cfg.max_header_bytes));
  parser.body_limit(static_cast<uint64_t>(cfg.max_body_bytes));
  idle_ = true;
  deadline_.ArmAfter(milliseconds(first ? cfg.header_timeout_ms : cfg.idle_timeout_ms));
  auto [ec, n] = co_await ReadMessage(socket_, buffer_, parser, ReadUntil::kHeader);
  ec = deadline_.Reported(ec);
  idle_ = false;
  if (!ec && !parser.is_done()) {
    // Beast reads at most the buffer's free capacity (512 bytes to begin with): a 30 KB prompt
    // took sixty reads. Room for the announced body (up to kMaxBodyReserve) makes it a few.
    if (const auto length = parser.content_length()) {
      const size_t want =
          buffer_.size() + static_cast<size_t>(std::min<uint64_t>(
                               *length, std::min<uint64_t>(kMaxBodyReserve, cfg.max_body_bytes)));
      if (want > buffer_.capacity()) buffer_.reserve(want);
    }
    if (beast::iequals(parser.request()[http::field::expect], "100-continue")) {
      http::response<http::empty_body> cont{http::status::continue_, 11};
      deadline_.ArmAfter(milliseconds(cfg.write_timeout_ms));
      std::tie(ec, n) = co_await http::async_write(socket_, cont, kTuple);
      ec = deadline_.Reported(ec);
    }
    if (!ec) {
      deadline_.ArmAfter(milliseconds(cfg.read_timeout_ms));
      std::tie(ec, n) = co_await ReadMessage(socket_, buffer_, parser, ReadUntil::kMessage);
      ec = deadline_.Reported(ec);
    }
  }
  deadline_.Disarm();
  if (!ec) co_return true;
  if (ec == http::error::body_limit) {
    co_await SendError(
        413, fmt::format("request body exceeds the limit of {} bytes", cfg.max_body_bytes));
  } else if (ec == http::error::header_limit) {
    co_await SendError(431, "request headers too large");
  } else if (ec == beast::error::timeout && n > 0) {
    co_await SendError(408, "request not received in time");
  } else if (ec.category() == RequestErrorCategory()) {
    // Framing RFC 9112 forbids or this server does not implement: refused, never guessed at.
    co_await SendError(ec == RequestError::kUnsupportedTransferEncoding ? 501 : 400,
                       fmt::format("malformed HTTP request: {}", ec.message()));
  } else if (ec != http::error::end_of_stream && ec != beast::error::timeout &&
             ec != asio::error::operation_aborted && ec != asio::error::connection_reset &&
             ec != asio::error::eof &&
             ec.category() == http::make_error_code(http::error::bad_target).category()) {
    co_await SendError(400, fmt::format("malformed HTTP request: {}", ec.message()));
  }
  co_return false;
}

asio::awaitable<void> Session::Run() {
  bool first = true;
  while (!server_.draining()) {
    RequestReader parser(request_, kIdleBufferKeep);
    if (!co_await ReadRequest(parser, first)) break;
    first = false;
    Exchange ex(*this, request_, worker_.index);
    ex.keep_alive_ = request_.keep_alive();
    exchange_ = &ex;
    try {
      co_await server_.handler_(ex);
    } catch (const std::exception& e) {
      server_.internal_errors_.fetch_add(1, std::memory_order_relaxed);
      Log(spdlog::level::err, fmt::format("handler threw: {}", e.what()));
    }
    exchange_ = nullptr;
    if (!ex.finished_) {
      if (!ex.started_) {
        co_await ex.Respond(500, "application/json",
                            ErrorBody("internal error", "server_error", "internal"));
      }
      break;
    }
    if (!ex.keep_alive_ || ex.client_gone_) break;
    if (buffer_.capacity() > kIdleBufferKeep && buffer_.size() == 0) buffer_.shrink_to_fit();
  }
  beast::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_send, ignored);
  socket_.close(ignored);
}

// ---- Exchange ----

struct Exchange::WatchState {
  bool active = true;
  Exchange* exchange = nullptr;
};

Exchange::~Exchange() { StopWatching(); }

void Exchange::StopWatching() {
  watch_hook.unlink();
  on_gone_.clear();  // they hold references into the handler's frame
  if (!watch_) return;
  watch_->active = false;
  watch_.reset();
  beast::error_code ignored;
  session_.socket_.cancel(ignored);
}

void Exchange::GiveUp() {
  if (client_gone_) return;
  client_gone_ = true;
  keep_alive_ = false;
  auto callbacks = std::move(on_gone_);
  on_gone_.clear();
  for (auto& cb : callbacks) cb();
}

void Exchange::OnClientGone(std::function<void()> on_gone) {
  if (client_gone_) {
    on_gone();
    return;
  }
  on_gone_.push_back(std::move(on_gone));
  if (watch_ || watch_hook.is_linked()) return;
  watch_due_ = std::chrono::steady_clock::now() + kWatchAfter;
  session_.worker_.pending_watches.push_back(*this);
  SweepWatches(session_.worker_);
}

// Arms the worker's one timer for the oldest pending watch; when it fires, starts every watch
// that is due and arms it again for the next.
template <class Worker>
void Exchange::SweepWatches(Worker& w) {
  if (w.watch_timer_armed || w.pending_watches.empty()) return;
  w.watch_timer_armed = true;
  w.watch_timer.expires_at(w.pending_watches.front().watch_due_);
  w.watch_timer.async_wait([&w](beast::error_code ec) {
    w.watch_timer_armed = false;
    if (ec) return;  // the worker is stopping
    const auto now = std::chrono::steady_clock::now();
    while (!w.pending_watches.empty() && w.pending_watches.front().watch_due_ <= now) {
      Exchange& ex = w.pending_watches.front();
      w.pending_watches.pop_front();
      ex.StartWatching();
    }
    SweepWatches(w);
  });
}

void Exchange::StartWatching() {
  watch_ = std::make_shared<WatchState>();
  watch_->exchange = this;
  tcp::socket& socket = session_.socket_;
  // Readable while we are still answering means EOF/reset (or a pipelined request, which we
  // leave alone): wait for readability without consuming anything.
  socket.async_wait(tcp::socket::wait_read, [state = watch_, &socket](beast::error_code ec) {
    if (!state->active || ec == asio::error::operation_aborted) return;
    char byte;
    const ssize_t r = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (r > 0) return;  // data, not a hang-up
    Exchange& ex = *state->exchange;
    ex.client_gone_ = true;
    ex.keep_alive_ = false;
    auto callbacks = std::move(ex.on_gone_);
    ex.on_gone_.clear();
    for (auto& cb : callbacks) cb();
  });
}

asio::awaitable<void> Exchange::Respond(int status, std::string_view content_type, std::string body,
                                        const HeaderList& headers) {
  keep_alive_ = keep_alive_ && !session_.server_.draining();
  status_ = status;
  std::string& wire = session_.head_;
  ResponseHead(wire, status, content_type, {}, headers, keep_alive_);
  // As Beast's prepare_payload: 1xx, 204 and 304 carry neither a body nor a Content-Length.
  const bool bodyless = status < 200 || status == 204 || status == 304;
  if (!bodyless) {
    wire.append("Content-Length: ");
    head::AppendDecimal(wire, body.size());
    wire.append("\r\n");
  }
  wire.append("\r\n");
  const std::array<asio::const_buffer, 2> bytes{
      asio::buffer(wire), asio::const_buffer(body.data(), bodyless ? 0 : body.size())};
  started_ = true;
  StopWatching();
  session_.deadline_.ArmAfter(milliseconds(session_.server_.config().write_timeout_ms));
  auto [ec, n] = co_await asio::async_write(session_.socket_, bytes, kTuple);
  session_.deadline_.Disarm();
  finished_ = true;
  if (ec) {
    client_gone_ = true;
    keep_alive_ = false;
  }
}

asio::awaitable<bool> Exchange::BeginStream(int status, std::string_view content_type,
                                            const HeaderList& headers) {
  keep_alive_ = keep_alive_ && !session_.server_.draining();
  status_ = status;
  // Not the session's reused head_: a stream may stay open for minutes, and its head is one-off.
  std::string wire;
  ResponseHead(wire, status, content_type, "no-cache", headers, keep_alive_);
  wire.append("Transfer-Encoding: chunked\r\n\r\n");
  started_ = true;
  session_.deadline_.ArmAfter(milliseconds(session_.server_.config().write_timeout_ms));
  auto [ec, n] = co_await asio::async_write(session_.socket_, asio::buffer(wire), kTuple);
  session_.deadline_.Disarm();
  if (ec) client_gone_ = true;
  // Nor is the request's read buffer needed while the stream lasts (unless it holds a pipelined
  // request).
  if (session_.buffer_.size() == 0) session_.buffer_.shrink_to_fit();
  co_return !client_gone_;
}

// Chunked framing by hand: "<hex size>\r\n" data "\r\n", one gather write per chunk.
asio::awaitable<bool> Exchange::Write(std::string_view chunk) {
  if (client_gone_) co_return false;
  if (chunk.empty()) co_return true;  // an empty chunk would end the response
  char size_line[head::kChunkLineMax];
  const std::array<asio::const_buffer, 3> bytes{
      asio::const_buffer(size_line, head::ChunkLine(size_line, chunk.size())),
      asio::const_buffer(chunk.data(), chunk.size()), asio::const_buffer("\r\n", 2)};
  session_.deadline_.ArmAfter(milliseconds(session_.server_.config().write_timeout_ms));
  auto [ec, n] = co_await asio::async_write(session_.socket_, bytes, kTuple);
  session_.deadline_.Disarm();
  if (ec) client_gone_ = true;
  co_return !client_gone_;
}

asio::awaitable<void> Exchange::End() {
  StopWatching();
  if (!client_gone_) {
    session_.deadline_.ArmAfter(milliseconds(session_.server_.config().write_timeout_ms));
    auto [ec, n] =
        co_await asio::async_write(session_.socket_, asio::const_buffer("0\r\n\r\n", 5), kTuple);
    session_.deadline_.Disarm();
    if (ec) client_gone_ = true;
  }
  finished_ = true;
  if (client_gone_) keep_alive_ = false;
}

// ---- Server ----

Server::Server(const config::ServerConfig& config, Handler handler)
    : config_(config), handler_(std::move(handler)) {
  int n =
      config_.workers > 0 ? config_.workers : static_cast<int>(std::thread::hardware_concurrency());
  if (n <= 0) n = 1;
  for (int i = 0; i < n; ++i) {
    auto w = std::make_unique<Worker>();
    w->index = i;
    workers_.push_back(std::move(w));
  }
}

Server::~Server() {
  for (auto& w : workers_) {
    if (w->thread.joinable()) w->thread.join();
  }
}

asio::io_context& Server::worker_context(int i) { return workers_.at(i)->ioc; }

Status Server::Listen() {
  auto listen = config::ParseListen(config_.listen);
  if (!listen) return Fail(listen.error());
  beast::error_code ec;
  const auto address = asio::ip::make_address(listen->first, ec);
  if (ec) {
    return Fail(MakeError(ErrorCode::kInvalidRequest,
                          fmt::format("listen address '{}' is not an IP address", listen->first)));
  }
  uint16_t port = listen->second;
  // SO_REUSEPORT below would let us join another process's port: refuse instead.
  if (port != 0) {
    if (auto free = CheckNobodyListens(tcp::endpoint(address, port), config_.listen); !free) {
      return free;
    }
  }
  std::vector<int> fds;
  for (auto& w : workers_) {
    tcp::acceptor& acc = w->acceptor.emplace(w->ioc);
    const tcp::endpoint ep(address, port);
    acc.open(ep.protocol(), ec);
    if (!ec) acc.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) {
      int one = 1;
      if (::setsockopt(acc.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
        ec = beast::error_code(errno, boost::system::system_category());
      }
    }
    if (!ec) acc.bind(ep, ec);
    if (!ec) acc.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return Fail(MakeError(ErrorCode::kInternal,
                            fmt::format("cannot listen on {}: {}", config_.listen, ec.message())));
    }
    port = acc.local_endpoint().port();  // port 0: every worker shares the first one's
    fds.push_back(acc.native_handle());
  }
  if (auto alone = CheckOnlyOursListen(fds, address, port, config_.listen); !alone) {
    for (auto& w : workers_) w->acceptor.reset();
    return alone;
  }
  port_ = port;
  return {};
}

void LogFailure::operator()(std::exception_ptr e) const {
  if (!e) return;
  if (errors != nullptr) errors->fetch_add(1, std::memory_order_relaxed);
  std::string why = "unknown exception";
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    why = x.what();
  } catch (...) {
  }
  Log(spdlog::level::err, fmt::format("{} failed with an exception: {}", what, why));
}

// Accept fails at once, again and again, while the process is out of file descriptors (EMFILE,
// ENFILE): the connection stays queued and the acceptor readable. So a failure waits
// (kAcceptBackoffFirst, doubling to kAcceptBackoffMax, back to none once one succeeds), and is
// logged once per back-off episode at most and no more than every kAcceptLogEvery; every failure
// is counted (accept_errors()).
asio::awaitable<void> Server::AcceptLoop(Worker& w) {
  asio::steady_timer pause(w.ioc);
  auto backoff = milliseconds(0);
  auto last_log = std::chrono::steady_clock::time_point();
  uint64_t unlogged = 0;  // failures since the last log line
  for (;;) {
    auto [ec, socket] = co_await w.acceptor->async_accept(kTuple);
    if (ec) {
      if (ec == asio::error::operation_aborted || !w.acceptor->is_open()) co_return;
      accept_errors_.fetch_add(1, std::memory_order_relaxed);
      ++unlogged;
      // A client that reset its connection while it was queued: nothing to wait for.
      if (ec == asio::error::connection_aborted) continue;
      const auto now = std::chrono::steady_clock::now();
      if (backoff.count() == 0 && now - last_log >= kAcceptLogEvery) {
        Log(spdlog::level::warn,
            fmt::format("accept failed on worker {}: {}; retrying after {} ms, backing off to {} "
                        "ms while it fails ({} failed accepts since the last such line)",
                        w.index, ec.message(), kAcceptBackoffFirst.count(),
                        kAcceptBackoffMax.count(), unlogged));
        last_log = now;
        unlogged = 0;
      }
      backoff =
          backoff.count() == 0 ? kAcceptBackoffFirst : std::min(backoff * 2, kAcceptBackoffMax);
      pause.expires_after(backoff);
      co_await pause.async_wait(kTuple);
      continue;
    }
    backoff = milliseconds(0);
    if (connections_.load(std::memory_order_relaxed) >= config_.max_connections) {
      beast::error_code ignored;
      socket.close(ignored);  // over the limit: refuse rather than queue without bound
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    connections_.fetch_add(1, std::memory_order_relaxed);
    asio::co_spawn(
        w.ioc,
        [this, &w, s = std::move(socket)]() mutable -> asio::awaitable<void> {
          Session session(*this, w, std::move(s));
          co_await session.Run();
        },
        [this](std::exception_ptr e) {
          // Here rather than after Run in the coroutine, so that an exception cannot skip it.
          connections_.fetch_sub(1, std::memory_order_relaxed);
          LogFailure{"a connection", &internal_errors_}(e);
        });
  }
}

void Server::DrainWorker(Worker& w) {
  beast::error_code ignored;
  if (w.acceptor) w.acceptor->close(ignored);
  for (Session* s : w.sessions) s->CloseIfIdle();
}

void Server::Shutdown() {
  if (draining_.exchange(true)) return;
  for (auto& w : workers_) asio::post(w->ioc, [this, wp = w.get()] { DrainWorker(*wp); });
}

void Server::Run() {
  for (auto& w : workers_) {
    asio::co_spawn(w->ioc, AcceptLoop(*w),
                   LogFailure{"the accept loop of a worker", &internal_errors_});
  }
  // Work guards keep idle workers alive until the drain below releases them.
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  for (auto& w : workers_) guards.emplace_back(w->ioc.get_executor());
  // No worker accepts before every worker has its name: what ps and gdb show is settled by the
  // time the first request can be answered.
  std::latch named(static_cast<std::ptrdiff_t>(workers_.size()));
  for (size_t i = 0; i < workers_.size(); ++i) {
    workers_[i]->thread = std::thread([wp = workers_[i].get(), i, &named] {
      NameThisThread(fmt::format("hg-worker-{}", i).c_str());
      named.arrive_and_wait();
      wp->ioc.run();
    });
  }
  while (!draining()) std::this_thread::sleep_for(milliseconds(20));
  const auto deadline = std::chrono::steady_clock::now() + milliseconds(config_.shutdown_grace_ms);
  if (background_.close) background_.close();
  auto background = [this] { return background_.outstanding ? background_.outstanding() : 0; };
  while ((active_connections() > 0 || background() > 0) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  if (active_connections() > 0) {
    Log(spdlog::level::warn,
        fmt::format("shutdown deadline reached with {} connections still open; closing them",
                    active_connections()));
    // Their requests end as if their clients had gone: the calls in flight are cancelled and
    // recorded (a ledger row each) before the event loops stop.
    for (auto& w : workers_) {
      asio::post(w->ioc, [wp = w.get()] {
        for (Session* s : wp->sessions) s->GiveUp();
      });
    }
    const auto last = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (active_connections() > 0 && std::chrono::steady_clock::now() < last) {
      std::this_thread::sleep_for(milliseconds(10));
    }
  }
  if (background() > 0 && background_.cancel) {
    // Cancelled work records what it did (a ledger row for a call made) and ends promptly.
    Log(spdlog::level::warn,
        fmt::format("shutdown deadline reached with {} background jobs running; cancelling them",
                    background()));
    background_.cancel();
    const auto last = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (background() > 0 && std::chrono::steady_clock::now() < last) {
      std::this_thread::sleep_for(milliseconds(10));
    }
  }
  guards.clear();
  for (auto& w : workers_) w->ioc.stop();
  for (auto& w : workers_) {
    if (w->thread.joinable()) w->thread.join();
  }
}

}  // namespace hybridgate::http
