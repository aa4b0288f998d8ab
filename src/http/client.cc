#include "http/client.h"

#include <fmt/format.h>
#include <poll.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>
#include <charconv>
#include <cstring>
#include <optional>

#include "http/head.h"
#include "http/read_message.h"
#include "http/write_now.h"

namespace hybridgate::http {

namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr size_t kMaxIdlePerHost = 64;
constexpr auto kMaxIdleAge = std::chrono::seconds(30);
// Beast reads at most a flat_buffer's free capacity, and a new buffer has 512 bytes: a 4 KB
// answer took eight recvmsg calls, each a trip through the event loop. A whole answer is read
// into 4 KB at a time. Streams keep the small buffer: tokens arrive a few at a time, and a
// thousand held streams would pay 9 MB of RSS for room they do not use.
constexpr size_t kReadBuffer = 4096;
// A connection idle for less than this was answering a moment ago: it is reused without the
// poll() liveness check (a syscall per request under load). Should the peer have closed it in
// that window, the stale-connection retry in Exchange() sends the request again on a new one.
constexpr auto kCheckLivenessAfterIdle = std::chrono::milliseconds(500);
constexpr uint64_t kMaxResponseBody = 64ull * 1024 * 1024;

namespace {

int ParseRetryAfter(std::string_view v) {
  if (v.empty()) return -1;
  double seconds = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), seconds);
  if (ec != std::errc() || seconds < 0) return -1;  // HTTP-date form: treat as absent
  return static_cast<int>(seconds * 1000);
}

}  // namespace

// Reads an upstream response straight into an UpstreamResponse: the status, the few header
// fields the gateway uses, and the body. Beast's response_parser first stored every field in a
// heap node of its own, then the gateway looked each one up again: six allocations and a dozen
// case-insensitive scans per answer. Repeated fields: the first one counts, as res[name] had it.
class ResponseReader final : public bhttp::basic_parser<false> {
 public:
  // A whole answer's body goes into head().body. A streamed one goes, piece by piece, into the
  // buffer SetBodyBuffer() names; the read stops with need_buffer when it is full or unset.
  explicit ResponseReader(bool whole_body) : whole_body_(whole_body) {}

  UpstreamResponse& head() { return head_; }
  void SetBodyBuffer(char* data, size_t size) {
    data_ = data;
    room_ = size;
  }
  size_t body_room() const { return room_; }

 private:
  void on_request_impl(bhttp::verb, beast::string_view, beast::string_view, int,
                       beast::error_code&) override {}
  void on_response_impl(int code, beast::string_view, int, beast::error_code&) override {
    head_.status = code;
  }
  void on_field_impl(bhttp::field name, beast::string_view name_string, beast::string_view value,
                     beast::error_code&) override {
    const std::string_view v(value.data(), value.size());
    switch (name) {
      case bhttp::field::content_type:
        if (!seen_content_type_) head_.content_type.assign(v);
        seen_content_type_ = true;
        break;
      case bhttp::field::retry_after:
        if (!seen_retry_after_) retry_after_ms_ = ParseRetryAfter(v);
        seen_retry_after_ = true;
        break;
      case bhttp::field::content_length:
        if (head_.content_length < 0)
          std::from_chars(v.data(), v.data() + v.size(), head_.content_length);
        break;
      case bhttp::field::location:
        if (head_.status >= 300 && head_.status < 400 && head_.location.empty())
          head_.location.assign(v);
        break;
      case bhttp::field::unknown:
        if (beast::iequals(name_string, "x-linked-etag")) {
          if (head_.linked_etag.empty()) head_.linked_etag.assign(v);
        } else if (beast::iequals(name_string, "retry-after-ms") && !seen_retry_after_ms_) {
          seen_retry_after_ms_ = true;  // OpenAI sends it besides (or instead of) Retry-After
          std::from_chars(v.data(), v.data() + v.size(), retry_after_ms_header_);
        }
        break;
      default:
        break;
    }
  }
  void on_header_impl(beast::error_code&) override {
    head_.retry_after_ms = retry_after_ms_ >= 0 ? retry_after_ms_ : retry_after_ms_header_;
  }
  void on_body_init_impl(const boost::optional<uint64_t>& length, beast::error_code&) override {
    if (whole_body_ && length) head_.body.reserve(static_cast<size_t>(*length));
  }
  size_t on_body_impl(beast::string_view body, beast::error_code& ec) override {
    if (whole_body_) {
      head_.body.append(body.data(), body.size());
      return body.size();
    }
    const size_t n = std::min(room_, body.size());
    if (n > 0) {
      std::memcpy(data_, body.data(), n);
      data_ += n;
      room_ -= n;
    }
    if (n < body.size()) ec = bhttp::error::need_buffer;
    return n;
  }
  void on_chunk_header_impl(uint64_t, beast::string_view, beast::error_code&) override {}
  size_t on_chunk_body_impl(uint64_t, beast::string_view body, beast::error_code& ec) override {
    return on_body_impl(body, ec);
  }
  void on_finish_impl(beast::error_code&) override {}

  const bool whole_body_;
  UpstreamResponse head_;
  char* data_ = nullptr;
  size_t room_ = 0;
  int retry_after_ms_ = -1;
  int retry_after_ms_header_ = -1;
  bool seen_content_type_ = false;
  bool seen_retry_after_ = false;
  bool seen_retry_after_ms_ = false;
};

class Connection {
 public:
  explicit Connection(Watchdog& dog) : deadline(dog, nullptr) {}
  std::string key;
  std::optional<tcp::socket> plain;
  std::optional<beast::ssl_stream<tcp::socket>> tls;
  Watchdog::Entry deadline;  // armed around each read and write (and the TLS handshake)
  beast::flat_buffer buffer;
  // The current exchange's reader (kept here, not in Exchange's coroutine frame, which has to
  // stay under the 1020 bytes Asio recycles); a stream's stays until the stream ends.
  std::optional<ResponseReader> parser;
  Clock::time_point idle_since;

  tcp::socket& Lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }
  void Close() {
    beast::error_code ignored;
    Lowest().shutdown(tcp::socket::shutdown_both, ignored);
    Lowest().close(ignored);
  }
  // An idle keep-alive socket that is readable has been closed by the peer (or sent garbage).
  bool LooksAlive() {
    if (!Lowest().is_open()) return false;
    pollfd p{Lowest().native_handle(), POLLIN, 0};
    return ::poll(&p, 1, 0) == 0;
  }
  template <class F>
  auto Visit(F&& f) {
    return tls ? f(*tls) : f(*plain);
  }
};

namespace {

// A request on the wire: its head, then its body. (Made where it is used, not kept: every byte of
// Exchange's frame counts, see there.)
std::array<asio::const_buffer, 2> WireBytes(const std::string& head, const UpstreamRequest& req) {
  return {asio::buffer(head), asio::buffer(req.body)};
}

// What WriteNow did not send (all of it over TLS), through the timed async write. In a frame of
// its own: Exchange's has to stay under the 1020 bytes Asio recycles.
asio::awaitable<std::tuple<beast::error_code, size_t>> WriteRest(
    Connection& c, std::array<asio::const_buffer, 2> bytes, size_t sent) {
  beast::buffers_suffix<std::array<asio::const_buffer, 2>> rest(bytes);
  rest.consume(sent);
  co_return co_await c.Visit([&](auto& s) { return asio::async_write(s, rest, kTuple); });
}

Error IoError(const Endpoint& ep, beast::error_code ec, std::string_view stage, bool cancelled) {
  if (cancelled)
    return MakeError(ErrorCode::kUpstreamUnavailable, "request cancelled by the client");
  if (ec == beast::error::timeout) {
    return MakeError(ErrorCode::kUpstreamTimeout,
                     fmt::format("upstream {} timed out while {}", ep.display, stage));
  }
  return MakeError(ErrorCode::kUpstreamUnavailable,
                   fmt::format("upstream {} failed while {}: {}", ep.display, stage, ec.message()));
}

// A reused connection that fails before any response byte is most likely one the peer closed
// while idle: worth one retry on a fresh connection.
bool StaleConnectionError(beast::error_code ec) {
  return ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == bhttp::error::partial_message;
}

// The request head as Beast would write it for `set()` of each header, keep_alive(true) and
// prepare_payload(): the last value of a repeated name wins, Host unless the headers name one,
// and a Content-Length whenever there is a body or the method expects one.
std::string RequestHead(const Endpoint& ep, const UpstreamRequest& req) {
  std::string out;
  size_t size = 64 + req.target.size() + ep.display.size();
  for (const auto& [k, v] : req.headers) size += k.size() + v.size() + 4;
  out.reserve(size);
  const auto method = bhttp::to_string(req.method);
  out.append(method.data(), method.size());
  out.push_back(' ');
  out.append(req.target);
  out.append(" HTTP/1.1\r\n");
  if (!head::Has(req.headers, "host")) {
    head::AppendField(out, "Host", ep.port == (ep.tls ? 443 : 80) ? ep.host : ep.display);
  }
  head::AppendFields(out, req.headers, {"content-length", "transfer-encoding", "connection"});
  if (!req.body.empty() || req.method == bhttp::verb::post || req.method == bhttp::verb::put ||
      req.method == bhttp::verb::options) {
    out.append("Content-Length: ");
    head::AppendDecimal(out, req.body.size());
    out.append("\r\n");
  }
  out.append("\r\n");
  return out;
}

}  // namespace

Result<Endpoint> Endpoint::FromUrl(std::string_view url, bool verify, const std::string& ca_file) {
  auto u = boost::urls::parse_uri(url);
  if (!u || (u->scheme() != "http" && u->scheme() != "https") || u->host().empty()) {
    return Fail(MakeError(ErrorCode::kInvalidRequest,
                          fmt::format("'{}' is not an http:// or https:// URL", url)));
  }
  Endpoint ep;
  ep.tls = u->scheme() == "https";
  ep.host = u->host_address();
  if (!ep.host.empty() && ep.host.front() == '[') ep.host = ep.host.substr(1, ep.host.size() - 2);
  ep.port = u->has_port() ? u->port_number() : (ep.tls ? 443 : 80);
  ep.base_path = std::string(u->encoded_path());
  while (!ep.base_path.empty() && ep.base_path.back() == '/') ep.base_path.pop_back();
  ep.display = fmt::format("{}:{}", u->host(), ep.port);
  if (ep.tls) {
    auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
    ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                     asio::ssl::context::no_sslv3);
    beast::error_code ec;
    if (!ca_file.empty()) {
      ctx->load_verify_file(ca_file, ec);
      if (ec) {
        return Fail(
            MakeError(ErrorCode::kInvalidRequest,
                      fmt::format("cannot load CA bundle '{}': {}", ca_file, ec.message())));
      }
    } else {
      ctx->set_default_verify_paths(ec);
    }
    ctx->set_verify_mode(verify ? asio::ssl::verify_peer : asio::ssl::verify_none);
    ep.tls_context = std::move(ctx);
  }
  // TLS connections are pooled per trust configuration (one context per provider): a connection
  // opened with verify: false or another CA bundle must never carry a verifying provider's request.
  ep.pool_key = fmt::format("{}://{}:{}#{}", ep.tls ? "https" : "http", ep.host, ep.port,
                            static_cast<const void*>(ep.tls_context.get()));
  return ep;
}

// ---- UpstreamStream ----

UpstreamStream::UpstreamStream(ClientPool& pool, std::unique_ptr<Connection> conn,
                               UpstreamResponse head)
    : pool_(&pool), conn_(std::move(conn)), head_(std::move(head)) {}
UpstreamStream::UpstreamStream(UpstreamStream&&) noexcept = default;
UpstreamStream::~UpstreamStream() { Abort(); }

// Only closes: a read may still be pending on the connection, and it must complete (with
// operation_aborted) before the connection is destroyed with this stream.
void UpstreamStream::Abort() {
  done_ = true;
  if (conn_) conn_->Close();
}

asio::awaitable<Result<size_t>> UpstreamStream::Read(std::string& out, Clock::time_point deadline) {
  if (done_ || !conn_) co_return size_t{0};
  Connection* c = conn_.get();
  auto& parser = *c->parser;
  constexpr size_t kMaxPiece = 16 * 1024;
  const size_t old = out.size();
  // Nothing is set aside in `out` while waiting for the upstream: a stream can idle for minutes,
  // and a thousand held 16 KB each. A read with no body buffer stops (need_buffer) as soon as body
  // bytes sit in the connection's buffer; only then does `out` grow, by what is there. A read may
  // also parse only framing (a chunk header): keep going until body bytes or the end.
  while (!parser.is_done()) {
    const size_t room = std::min(c->buffer.size(), kMaxPiece);
    out.resize(old + room);
    parser.SetBodyBuffer(room > 0 ? out.data() + old : nullptr, room);
    c->deadline.Arm(deadline);
    auto [ec, n] = co_await c->Visit(
        [&](auto& s) { return ReadMessage(s, c->buffer, parser, ReadUntil::kSome); });
    c->deadline.Disarm();
    ec = c->deadline.Reported(ec);
    if (ec == bhttp::error::need_buffer) ec = {};
    const size_t got = room - parser.body_room();
    parser.SetBodyBuffer(nullptr, 0);
    out.resize(old + got);
    if (ec) {
      Abort();
      co_return Fail(
          ec == beast::error::timeout
              ? MakeError(ErrorCode::kUpstreamTimeout, "upstream stream stalled past its deadline")
              : MakeError(ErrorCode::kUpstreamUnavailable,
                          fmt::format("upstream stream broke: {}", ec.message())));
    }
    if (got > 0) co_return got;
  }
  done_ = true;
  if (parser.keep_alive()) {
    pool_->Release(std::move(conn_));
  } else {
    conn_->Close();
  }
  co_return size_t{0};
}

// ---- ClientPool ----

ClientPool::ClientPool(asio::io_context& ioc) : ioc_(ioc) {}
ClientPool::~ClientPool() = default;

size_t ClientPool::idle_connections() const {
  size_t n = 0;
  for (const auto& [k, v] : idle_) n += v.size();
  return n;
}

void ClientPool::Release(std::unique_ptr<Connection> conn) {
  auto& list = idle_[conn->key];
  if (list.size() >= kMaxIdlePerHost) return;  // dropped: closes
  conn->parser.reset();
  conn->idle_since = Clock::now();
  list.push_back(std::move(conn));
}

asio::awaitable<Result<std::unique_ptr<Connection>>> ClientPool::Acquire(const Endpoint& ep,
                                                                         Clock::time_point deadline,
                                                                         bool allow_reuse,
                                                                         bool* reused) {
  const std::string& key = ep.pool_key;
  *reused = false;
  if (allow_reuse) {
    auto& list = idle_[key];
    while (!list.empty()) {
      std::unique_ptr<Connection> c = std::move(list.back());
      list.pop_back();
      const auto idle = Clock::now() - c->idle_since;
      if (idle < kMaxIdleAge && (idle < kCheckLivenessAfterIdle || c->LooksAlive())) {
        *reused = true;
        co_return c;
      }
    }
  }
  auto conn = std::make_unique<Connection>(watchdog_);
  conn->key = key;
  beast::tcp_stream stream(ioc_);
  stream.expires_at(deadline);
  beast::error_code ec;
  const auto addr = asio::ip::make_address(ep.host, ec);
  const bool is_ip = !ec;
  if (is_ip) {
    std::tie(ec) = co_await stream.async_connect(tcp::endpoint(addr, ep.port), kTuple);
  } else {
    tcp::resolver resolver(ioc_);
    auto [rec, results] = co_await resolver.async_resolve(ep.host, std::to_string(ep.port), kTuple);
    if (rec) {
      co_return Fail(
          MakeError(ErrorCode::kUpstreamUnavailable,
                    fmt::format("cannot resolve upstream host '{}': {}", ep.host, rec.message())));
    }
    tcp::endpoint connected;
    std::tie(ec, connected) = co_await stream.async_connect(results, kTuple);
  }
  if (ec) {
    co_return Fail(ec == beast::error::timeout
                       ? MakeError(ErrorCode::kUpstreamTimeout,
                                   fmt::format("connecting to upstream {} timed out", ep.display))
                       : MakeError(ErrorCode::kUpstreamUnavailable,
                                   fmt::format("cannot connect to upstream {}: {}", ep.display,
                                               ec.message())));
  }
  stream.socket().set_option(tcp::no_delay(true), ec);
  stream.socket().non_blocking(true, ec);  // for WriteNow
  if (!ep.tls) {
    conn->plain.emplace(stream.release_socket());
    conn->deadline.set_socket(&*conn->plain);
    co_return conn;
  }
  auto& tls = conn->tls.emplace(stream.release_socket(), *ep.tls_context);
  conn->deadline.set_socket(&beast::get_lowest_layer(tls));
  // SNI carries host names only (RFC 6066 §3): never an IP literal.
  if (!is_ip && !SSL_set_tlsext_host_name(tls.native_handle(), ep.host.c_str())) {
    co_return Fail(MakeError(ErrorCode::kUpstreamUnavailable, "cannot set TLS SNI host name"));
  }
  tls.set_verify_callback(asio::ssl::host_name_verification(ep.host));
  conn->deadline.Arm(deadline);
  std::tie(ec) = co_await tls.async_handshake(asio::ssl::stream_base::client, kTuple);
  conn->deadline.Disarm();
  ec = conn->deadline.Reported(ec);
  if (ec) {
    co_return Fail(MakeError(
        ErrorCode::kUpstreamUnavailable,
        fmt::format("TLS handshake with upstream {} failed: {}", ep.display, ec.message())));
  }
  co_return conn;
}

UpstreamResponse ClientPool::TakeWholeAnswer(std::unique_ptr<Connection> conn) {
  ResponseReader& parser = *conn->parser;
  UpstreamResponse out = std::move(parser.head());
  if (parser.keep_alive()) {
    Release(std::move(conn));
  } else {
    conn->Close();
  }
  return out;
}

template <bool kStream>
asio::awaitable<ClientPool::ExchangeResult<kStream>> ClientPool::Exchange(
    const Endpoint& ep, const UpstreamRequest& req, Deadlines deadlines, CancelToken* cancel) {
  const std::string request_head = RequestHead(ep, req);

  for (int attempt = 0;; ++attempt) {
    bool reused = false;
    auto acquired = co_await Acquire(ep, deadlines.connect, attempt == 0, &reused);
    if (cancel && cancel->cancelled()) co_return Fail(IoError(ep, {}, "", true));
    if (!acquired) co_return Fail(std::move(acquired.error()));
    std::unique_ptr<Connection> conn = std::move(*acquired);
    Connection* c = conn.get();
    if (cancel) cancel->Set([c] { c->Close(); });
    struct Unhook {
      CancelToken* t;
      ~Unhook() {
        if (t) t->Set(nullptr);
      }
    } unhook{cancel};
    c->deadline.Arm(deadlines.response);
    if (!kStream && c->buffer.capacity() < kReadBuffer) c->buffer.reserve(kReadBuffer);

    // Plain connections take the request at once, usually (write_now.h); TLS writes it all here.
    const size_t sent = c->plain ? WriteNow(*c->plain, WireBytes(request_head, req)) : 0;
    beast::error_code wec;
    size_t wn = 0;
    if (sent < request_head.size() + req.body.size()) {
      std::tie(wec, wn) = co_await WriteRest(*c, WireBytes(request_head, req), sent);
      wec = c->deadline.Reported(wec);
    }
    const bool cancelled = cancel && cancel->cancelled();
    if (wec) {
      if (reused && !cancelled && StaleConnectionError(wec)) continue;
      co_return Fail(IoError(ep, wec, "sending the request", cancelled));
    }
    beast::error_code ec;
    auto& parser = c->parser.emplace(/*whole_body=*/!kStream);
    if constexpr (kStream) {
      parser.body_limit(boost::none);
      std::tie(ec, wn) = co_await c->Visit(
          [&](auto& s) { return ReadMessage(s, c->buffer, parser, ReadUntil::kHeader); });
      c->deadline.Disarm();
      ec = c->deadline.Reported(ec);
      if (!ec) co_return std::pair{std::move(parser.head()), std::move(conn)};
    } else {
      parser.body_limit(kMaxResponseBody);
      std::tie(ec, wn) = co_await c->Visit(
          [&](auto& s) { return ReadMessage(s, c->buffer, parser, ReadUntil::kMessage); });
      c->deadline.Disarm();
      ec = c->deadline.Reported(ec);
      if (!ec) co_return TakeWholeAnswer(std::move(conn));
    }
    const bool cancelled_now = cancel && cancel->cancelled();
    if (reused && !cancelled_now && wn == 0 && StaleConnectionError(ec)) continue;
    co_return Fail(IoError(ep, ec, "reading the response", cancelled_now));
  }
}

// Not a coroutine: Exchange<false> is the whole of it, and the caller awaits it at once.
asio::awaitable<Result<UpstreamResponse>> ClientPool::Send(const Endpoint& ep,
                                                           const UpstreamRequest& req,
                                                           Deadlines deadlines,
                                                           CancelToken* cancel) {
  return Exchange<false>(ep, req, deadlines, cancel);
}

asio::awaitable<Result<UpstreamStream>> ClientPool::Open(const Endpoint& ep,
                                                         const UpstreamRequest& req,
                                                         Deadlines deadlines, CancelToken* cancel) {
  auto r = co_await Exchange<true>(ep, req, deadlines, cancel);
  if (!r) co_return Fail(std::move(r.error()));
  co_return UpstreamStream(*this, std::move(r->second), std::move(r->first));
}

}  // namespace hybridgate::http
