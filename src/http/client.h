// The upstream HTTP/1.1 client: a keep-alive connection pool per worker thread (no locks, no
// sharing), plain TCP or TLS (OpenSSL, certificate and host name verification on by default).
// Non-streaming exchanges read the whole response; streaming ones hand the body over piece by
// piece as it arrives. A reused connection that turns out stale is retried once on a fresh one.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/container/small_vector.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/result.h"
#include "http/watchdog.h"

namespace hybridgate::http {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

// Where an upstream lives, parsed once from a provider's base_url.
struct Endpoint {
  std::string host;
  uint16_t port = 0;
  bool tls = false;
  std::string base_path;                            // "/v1" (no trailing slash)
  std::string display;                              // "host:port" for messages
  std::shared_ptr<asio::ssl::context> tls_context;  // shared by all workers (thread-safe once set)
  std::string pool_key;  // idle connections are shared only between identical endpoints

  // `verify` and `ca_file` configure certificate checks for https URLs.
  static Result<Endpoint> FromUrl(std::string_view url, bool verify = true,
                                  const std::string& ca_file = {});
};

// Header names and values are views (string literals, the provider's configuration, the
// request id): like the request itself, what they view must outlive the exchange. No header
// costs an allocation, and up to eight need no heap at all.
using HeaderViews =
    boost::container::small_vector<std::pair<std::string_view, std::string_view>, 8>;

struct UpstreamRequest {
  boost::beast::http::verb method = boost::beast::http::verb::post;
  std::string target;  // path and query
  HeaderViews headers;
  std::string body;
};

struct UpstreamResponse {
  int status = 0;
  std::string content_type;
  int retry_after_ms = -1;
  int64_t content_length = -1;  // -1: not sent (chunked or unknown)
  std::string location;         // redirects
  std::string linked_etag;      // x-linked-etag: a file host's sha256 of the content, if any
  std::string body;
};

struct Deadlines {
  Clock::time_point connect;   // connection established (incl. TLS)
  Clock::time_point response;  // whole response (non-stream) or headers (stream)
};

class Connection;
class ClientPool;

// Lets the owner of an exchange abort it from outside (the client went away): Cancel() closes
// whatever connection the exchange is using. Single-threaded, like everything per worker.
class CancelToken {
 public:
  void Cancel() {
    cancelled_ = true;
    if (on_cancel_) on_cancel_();
  }
  bool cancelled() const { return cancelled_; }
  void Set(std::function<void()> f) { on_cancel_ = std::move(f); }

 private:
  bool cancelled_ = false;
  std::function<void()> on_cancel_;
};

// A response being streamed. Move-only; dropping it early closes the connection.
class UpstreamStream {
 public:
  UpstreamStream(ClientPool& pool, std::unique_ptr<Connection> conn, UpstreamResponse head);
  UpstreamStream(UpstreamStream&&) noexcept;
  ~UpstreamStream();

  const UpstreamResponse& head() const { return head_; }
  // Appends the next piece of the body to `out` (returns the number of bytes, 0 at the end).
  // Each call returns as soon as some bytes arrived: nothing is held back.
  asio::awaitable<Result<size_t>> Read(std::string& out, Clock::time_point deadline);
  // Closes the connection now (client gone, or giving up).
  void Abort();

 private:
  ClientPool* pool_;
  std::unique_ptr<Connection> conn_;
  UpstreamResponse head_;
  bool done_ = false;
};

class ClientPool {
 public:
  explicit ClientPool(asio::io_context& ioc);
  ~ClientPool();

  // Sends and reads a whole response. `req` is written from where it lies: it must outlive the
  // awaited call (as it does when the call is co_awaited directly).
  asio::awaitable<Result<UpstreamResponse>> Send(const Endpoint& ep, const UpstreamRequest& req,
                                                 Deadlines deadlines,
                                                 CancelToken* cancel = nullptr);
  // Sends and reads only the response head; the body is read from the returned stream.
  asio::awaitable<Result<UpstreamStream>> Open(const Endpoint& ep, const UpstreamRequest& req,
                                               Deadlines deadlines, CancelToken* cancel = nullptr);

  size_t idle_connections() const;

 private:
  friend class UpstreamStream;
  // A whole answer out of the connection's reader; the connection goes back to the pool when
  // the upstream keeps it alive, else it closes. Not a coroutine, on purpose: what it moves
  // around stays out of Exchange's frame.
  UpstreamResponse TakeWholeAnswer(std::unique_ptr<Connection> conn);
  asio::awaitable<Result<std::unique_ptr<Connection>>> Acquire(const Endpoint& ep,
                                                               Clock::time_point deadline,
                                                               bool allow_reuse, bool* reused);
  void Release(std::unique_ptr<Connection> conn);
  // Sends the request and reads the answer: whole (kStream false), or its head, with the
  // connection the stream goes on reading from.
  template <bool kStream>
  using ExchangeResult =
      std::conditional_t<kStream, Result<std::pair<UpstreamResponse, std::unique_ptr<Connection>>>,
                         Result<UpstreamResponse>>;
  template <bool kStream>
  asio::awaitable<ExchangeResult<kStream>> Exchange(const Endpoint& ep, const UpstreamRequest& req,
                                                    Deadlines deadlines, CancelToken* cancel);

  asio::io_context& ioc_;
  Watchdog watchdog_{ioc_};  // the connections' read, write and handshake timeouts
  std::map<std::string, std::vector<std::unique_ptr<Connection>>> idle_;
};

}  // namespace hybridgate::http
