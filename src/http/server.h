// The HTTP/1.1 server: one io_context per worker thread, each with its own SO_REUSEPORT acceptor,
// one coroutine per connection (no thread per request). Enforces the limits in ServerConfig
// (body 413, header 431, header/read/idle/write timeouts, max connections) and drains gracefully:
// Shutdown() stops accepting, closes idle keep-alive connections, lets in-flight exchanges finish
// (answering them with Connection: close), and force-stops whatever remains at the deadline.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/http.hpp>
#include <boost/container/small_vector.hpp>
#include <boost/intrusive/list_hook.hpp>
#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "config/config.h"
#include "http/query.h"
#include "http/request.h"

namespace hybridgate::http {

namespace asio = boost::asio;
namespace beast = boost::beast;

// A response's extra fields. The values are views: they must outlive the Respond or BeginStream
// call they are handed to. Room for a gateway answer's fields without a heap allocation.
using HeaderList =
    boost::container::small_vector<std::pair<std::string_view, std::string_view>, 16>;

class Session;

// One request and its response, handed to the Handler. Lives for the duration of the handler's
// coroutine; all calls on the worker's thread.
class Exchange {
 public:
  Exchange(Session& session, Request& request, int worker)
      : session_(session), request_(request), worker_(worker) {}
  Exchange(const Exchange&) = delete;
  Exchange& operator=(const Exchange&) = delete;
  ~Exchange();

  Request& request() { return request_; }
  int worker() const { return worker_; }

  // Sends a complete response (Content-Length).
  asio::awaitable<void> Respond(int status, std::string_view content_type, std::string body,
                                const HeaderList& headers = {});
  // Starts a chunked response; then Write() pieces as they come and End(). Each Write is flushed
  // to the socket before it returns. Return false once the client is gone.
  asio::awaitable<bool> BeginStream(int status, std::string_view content_type,
                                    const HeaderList& headers = {});
  asio::awaitable<bool> Write(std::string_view chunk);
  asio::awaitable<void> End();

  // Registers `on_gone`, called (on this thread) if the client closes its connection before the
  // response is complete. The socket is watched from 50 ms into the exchange: a quicker answer
  // never pays for the watch (an epoll_ctl and a cancel), and a hang-up stops a slower one.
  void OnClientGone(std::function<void()> on_gone);
  bool client_gone() const { return client_gone_; }
  bool started() const { return started_; }  // any response byte sent
  int status() const { return status_; }     // the response's status; 0 before one began
  bool keep_alive() const { return keep_alive_; }

  // Links the exchange into its worker's queue of watches yet to start (server.cc only).
  boost::intrusive::list_member_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>>
      watch_hook;

 private:
  friend class Session;
  struct WatchState;
  template <class Worker>
  static void SweepWatches(Worker& w);
  void StartWatching();
  void StopWatching();

  Session& session_;
  Request& request_;
  int worker_;
  bool started_ = false;
  bool finished_ = false;
  int status_ = 0;
  bool keep_alive_ = true;
  bool client_gone_ = false;
  std::chrono::steady_clock::time_point watch_due_;
  boost::container::small_vector<std::function<void()>, 2> on_gone_;
  std::shared_ptr<WatchState> watch_;
  // As if the client had hung up (the shutdown deadline passed): the handler's client-gone
  // callbacks run, so a call in flight is cancelled and recorded, not abandoned.
  void GiveUp();
};

using Handler = std::function<asio::awaitable<void>(Exchange&)>;

// The completion handler for a coroutine started with co_spawn and never awaited, in place of
// asio::detached, which drops an exception that escapes the coroutine without a trace: logs it
// (naming `what`, a string literal) and counts it in `*errors` (may be null). Any thread.
struct LogFailure {
  const char* what;
  std::atomic<uint64_t>* errors;
  void operator()(std::exception_ptr e) const;
};

class Server {
 public:
  Server(const config::ServerConfig& config, Handler handler);
  ~Server();

  // Binds the listening sockets. With port 0 the kernel picks one: see port(). Fails, naming the
  // address, when another process listens there already (the workers' SO_REUSEPORT sockets
  // would otherwise share the port with it; see exclusive_listen.h).
  Status Listen();
  uint16_t port() const { return port_; }
  int workers() const { return static_cast<int>(workers_.size()); }
  asio::io_context& worker_context(int i);

  // Runs the worker threads; returns after Shutdown() has drained (or hit its deadline).
  void Run();
  // Thread- and signal-safe to request (call from any thread).
  void Shutdown();
  bool draining() const { return draining_.load(std::memory_order_relaxed); }

  // Work besides the connections that a shutdown lets finish in the same grace period (the
  // gateway's background runners): `close` is called when draining starts (take nothing new),
  // `outstanding` is polled, and `cancel` is called once the grace period is over with work left,
  // which must then end within a second or two. Set before Run().
  struct Background {
    std::function<void()> close;
    std::function<int64_t()> outstanding;
    std::function<void()> cancel;
  };
  void SetBackground(Background background) { background_ = std::move(background); }

  int64_t active_connections() const { return connections_.load(std::memory_order_relaxed); }
  // Failed accepts (EMFILE and the like), and exceptions that escaped a connection's coroutine
  // or its handler, since the start. For /metrics.
  uint64_t accept_errors() const { return accept_errors_.load(std::memory_order_relaxed); }
  uint64_t internal_errors() const { return internal_errors_.load(std::memory_order_relaxed); }
  const config::ServerConfig& config() const { return config_; }

 private:
  struct Worker;
  friend class Session;
  asio::awaitable<void> AcceptLoop(Worker& w);
  void DrainWorker(Worker& w);

  config::ServerConfig config_;
  Handler handler_;
  std::vector<std::unique_ptr<Worker>> workers_;
  uint16_t port_ = 0;
  std::atomic<bool> draining_{false};
  std::atomic<int64_t> connections_{0};
  std::atomic<uint64_t> accept_errors_{0};
  std::atomic<uint64_t> internal_errors_{0};
  Background background_;
};

}  // namespace hybridgate::http
