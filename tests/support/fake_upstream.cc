#include "tests/support/fake_upstream.h"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>
#include <optional>
#include <stdexcept>

namespace hybridgate::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

void Gate::Open() {
  std::lock_guard l(mu_);
  open_ = true;
  cv_.notify_all();
}

bool Gate::WaitOpen(std::chrono::milliseconds timeout) {
  std::unique_lock l(mu_);
  return cv_.wait_for(l, timeout, [&] { return open_; });
}

struct FakeUpstream::Impl {
  FakeUpstream& owner;
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::optional<asio::ssl::context> tls;  // set: HTTPS
  std::thread thread;
  mutable std::mutex mu;
  Script script;
  std::vector<Recorded> requests;

  explicit Impl(FakeUpstream& o) : owner(o) {}

  // Resolves after `d` without blocking the loop.
  asio::awaitable<void> Sleep(std::chrono::milliseconds d) {
    asio::steady_timer t(ioc, d);
    co_await t.async_wait(kTuple);
  }

  // Polls the gate without blocking the loop; false if the peer hung up meanwhile.
  asio::awaitable<bool> WaitGate(std::shared_ptr<Gate> gate, tcp::socket& s) {
    while (!gate->WaitOpen(std::chrono::milliseconds(0))) {
      if (PeerClosed(s)) co_return false;
      co_await Sleep(std::chrono::milliseconds(5));
    }
    co_return true;
  }

  // True if the peer has closed (readable with nothing to read).
  static bool PeerClosed(tcp::socket& s) {
    char c;
    const ssize_t r = ::recv(s.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
  }

  template <class S>
  static tcp::socket& Socket(S& stream) {
    return beast::get_lowest_layer(stream).socket();
  }

  template <class S>
  asio::awaitable<bool> Stream(S& stream, const Action& a, bool keep_alive) {
    http::response<http::empty_body> res{static_cast<http::status>(a.status), 11};
    res.set(http::field::content_type,
            a.content_type.empty() ? "text/event-stream" : a.content_type);
    for (const auto& [k, v] : a.headers) res.set(k, v);
    res.chunked(true);
    res.keep_alive(keep_alive);
    http::response_serializer<http::empty_body> sr{res};
    auto [ec, n] = co_await http::async_write_header(stream, sr, kTuple);
    if (ec) co_return false;
    for (size_t i = 0; i < a.chunks.size(); ++i) {
      if (static_cast<int>(i) == a.cut_after) {
        Socket(stream).close();
        co_return false;
      }
      if (i > 0 && a.chunk_delay.count() > 0) co_await Sleep(a.chunk_delay);
      if (i == 1 && a.gate && !co_await WaitGate(a.gate, Socket(stream))) {
        owner.hangups_++;
        co_return false;
      }
      if (PeerClosed(Socket(stream))) {
        owner.hangups_++;
        co_return false;
      }
      std::tie(ec, n) =
          co_await asio::async_write(stream, http::make_chunk(asio::buffer(a.chunks[i])), kTuple);
      if (ec) {
        owner.hangups_++;
        co_return false;
      }
    }
    if (a.cut_after >= static_cast<int>(a.chunks.size())) {
      Socket(stream).close();
      co_return false;
    }
    std::tie(ec, n) = co_await asio::async_write(stream, http::make_chunk_last(), kTuple);
    co_return !ec;
  }

  asio::awaitable<void> Serve(tcp::socket socket) {
    owner.connections_++;
    if (!tls) {
      beast::tcp_stream stream(std::move(socket));
      co_await ServeHttp(stream);
      co_return;
    }
    beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), *tls);
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(10));
    auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, kTuple);
    if (ec) {
      owner.tls_failures_++;
      co_return;
    }
    beast::get_lowest_layer(stream).expires_never();
    co_await ServeHttp(stream);
  }

  template <class S>
  asio::awaitable<void> ServeHttp(S& stream) {
    beast::flat_buffer buffer;
    for (;;) {
      http::request<http::string_body> req;
      auto [ec, n] = co_await http::async_read(stream, buffer, req, kTuple);
      if (ec) co_return;
      Recorded rec;
      rec.method = std::string(req.method_string());
      rec.target = std::string(req.target());
      for (const auto& f : req) {
        std::string name(f.name_string());
        for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        rec.headers[name] = std::string(f.value());
      }
      rec.body = req.body();
      Action a;
      {
        std::lock_guard l(mu);
        requests.push_back(rec);
        a = script ? script(rec) : Action{.body = ChatCompletionJson("hello")};
      }
      if (a.reset) {
        Socket(stream).set_option(asio::socket_base::linger(true, 0));
        Socket(stream).close();
        co_return;
      }
      if (a.delay.count() > 0) co_await Sleep(a.delay);
      if (a.stall) {
        // Hold the request open until the peer hangs up.
        while (!PeerClosed(Socket(stream))) co_await Sleep(std::chrono::milliseconds(5));
        owner.hangups_++;
        co_return;
      }
      const bool keep_alive = req.keep_alive() && !a.close;
      if (!a.chunks.empty()) {
        if (!co_await Stream(stream, a, keep_alive) || !keep_alive) co_return;
        continue;
      }
      http::response<http::string_body> res{static_cast<http::status>(a.status), 11};
      res.set(http::field::content_type, a.content_type);
      for (const auto& [k, v] : a.headers) res.set(k, v);
      res.keep_alive(keep_alive);
      res.body() = a.body;
      res.prepare_payload();
      std::tie(ec, n) = co_await http::async_write(stream, res, kTuple);
      if (ec || !keep_alive || a.hang_up) co_return;
    }
  }

  asio::awaitable<void> Accept() {
    for (;;) {
      auto [ec, s] = co_await acceptor.async_accept(kTuple);
      if (ec) co_return;
      asio::co_spawn(ioc, Serve(std::move(s)), asio::detached);
    }
  }
};

FakeUpstream::FakeUpstream(Script script) : FakeUpstream(std::move(script), {}) {}

FakeUpstream::FakeUpstream(Script script, FakeUpstreamOptions options)
    : impl_(std::make_unique<Impl>(*this)) {
  impl_->script = std::move(script);
  if (!options.tls_cert_file.empty() || !options.tls_key_file.empty()) {
    auto& ctx = impl_->tls.emplace(asio::ssl::context::tls_server);
    ctx.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                    asio::ssl::context::no_sslv3);
    beast::error_code ec;
    ctx.use_certificate_chain_file(options.tls_cert_file, ec);
    if (!ec) ctx.use_private_key_file(options.tls_key_file, asio::ssl::context::pem, ec);
    if (ec) throw std::runtime_error("fake upstream: cannot load TLS cert/key: " + ec.message());
    tls_ = true;
  }
  tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), options.port);
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.set_option(asio::socket_base::reuse_address(true));
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen();
  port_ = impl_->acceptor.local_endpoint().port();
  asio::co_spawn(impl_->ioc, impl_->Accept(), asio::detached);
  impl_->thread = std::thread([this] { impl_->ioc.run(); });
}

FakeUpstream::~FakeUpstream() {
  impl_->ioc.stop();
  impl_->thread.join();
}

void FakeUpstream::SetScript(Script script) {
  std::lock_guard l(impl_->mu);
  impl_->script = std::move(script);
}

std::vector<Recorded> FakeUpstream::requests(std::string_view target) const {
  std::lock_guard l(impl_->mu);
  std::vector<Recorded> out;
  for (const Recorded& r : impl_->requests) {
    if (target.empty() || r.target == target) out.push_back(r);
  }
  return out;
}

size_t FakeUpstream::request_count(std::string_view target) const {
  return requests(target).size();
}

bool FakeUpstream::WaitFor(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return pred();
}

std::string ChatCompletionJson(std::string_view content, std::string_view model, int prompt_tokens,
                               int completion_tokens) {
  boost::json::object o{{"id", "chatcmpl-fake"},
                        {"object", "chat.completion"},
                        {"created", 1700000000},
                        {"model", model},
                        {"choices", boost::json::array{boost::json::object{
                                        {"index", 0},
                                        {"message", {{"role", "assistant"}, {"content", content}}},
                                        {"finish_reason", "stop"}}}},
                        {"usage",
                         {{"prompt_tokens", prompt_tokens},
                          {"completion_tokens", completion_tokens},
                          {"total_tokens", prompt_tokens + completion_tokens}}}};
  return boost::json::serialize(o);
}

std::vector<std::string> ChatStreamChunks(const std::vector<std::string>& pieces,
                                          std::string_view model, bool usage) {
  std::vector<std::string> out;
  auto chunk = [&](boost::json::object delta, boost::json::value finish) {
    boost::json::object o{
        {"id", "chatcmpl-fake"},
        {"object", "chat.completion.chunk"},
        {"created", 1700000000},
        {"model", model},
        {"choices", boost::json::array{boost::json::object{
                        {"index", 0}, {"delta", delta}, {"finish_reason", finish}}}}};
    return "data: " + boost::json::serialize(o) + "\n\n";
  };
  out.push_back(chunk({{"role", "assistant"}, {"content", ""}}, nullptr));
  for (const auto& p : pieces) out.push_back(chunk({{"content", p}}, nullptr));
  out.push_back(chunk({}, "stop"));
  if (usage) {
    boost::json::object u{{"id", "chatcmpl-fake"},
                          {"object", "chat.completion.chunk"},
                          {"model", model},
                          {"choices", boost::json::array{}},
                          {"usage",
                           {{"prompt_tokens", 5},
                            {"completion_tokens", static_cast<int>(pieces.size())},
                            {"total_tokens", 5 + static_cast<int>(pieces.size())}}}};
    out.push_back("data: " + boost::json::serialize(u) + "\n\n");
  }
  out.push_back("data: [DONE]\n\n");
  return out;
}

namespace {

std::string ChunkEvent(std::string_view model, boost::json::object delta,
                       boost::json::value finish) {
  boost::json::object choice{{"index", 0}, {"delta", delta}, {"finish_reason", finish}};
  boost::json::object o{{"id", "chatcmpl-fake"},
                        {"object", "chat.completion.chunk"},
                        {"created", 1700000000},
                        {"model", model},
                        {"choices", boost::json::array{choice}}};
  return "data: " + boost::json::serialize(o) + "\n\n";
}

}  // namespace

boost::json::array ToolRoundMessages(std::string_view ask, std::string_view function,
                                     std::string_view arguments, std::string_view result,
                                     std::string_view follow_up) {
  namespace json = boost::json;
  return json::array{
      json::object{{"role", "user"}, {"content", ask}},
      json::object{
          {"role", "assistant"},
          {"content", nullptr},
          {"tool_calls",
           json::array{json::object{
               {"id", "call_1"},
               {"type", "function"},
               {"function", json::object{{"name", function}, {"arguments", arguments}}}}}}},
      json::object{{"role", "tool"}, {"tool_call_id", "call_1"}, {"content", result}},
      json::object{{"role", "user"}, {"content", follow_up}}};
}

std::string ToolCallCompletionJson(std::string_view call_id, std::string_view function,
                                   std::string_view arguments, std::string_view model) {
  boost::json::object call{{"id", call_id},
                           {"type", "function"},
                           {"function", {{"name", function}, {"arguments", arguments}}}};
  boost::json::object o{
      {"id", "chatcmpl-fake"},
      {"object", "chat.completion"},
      {"created", 1700000000},
      {"model", model},
      {"choices",
       boost::json::array{boost::json::object{{"index", 0},
                                              {"message",
                                               {{"role", "assistant"},
                                                {"content", nullptr},
                                                {"tool_calls", boost::json::array{call}}}},
                                              {"finish_reason", "tool_calls"}}}},
      {"usage", {{"prompt_tokens", 11}, {"completion_tokens", 9}, {"total_tokens", 20}}}};
  return boost::json::serialize(o);
}

std::vector<std::string> ToolCallStreamChunks(std::string_view call_id, std::string_view function,
                                              const std::vector<std::string>& argument_pieces,
                                              std::string_view model, bool usage) {
  std::vector<std::string> out;
  boost::json::object first{{"index", 0},
                            {"id", call_id},
                            {"type", "function"},
                            {"function", {{"name", function}, {"arguments", ""}}}};
  out.push_back(ChunkEvent(
      model,
      {{"role", "assistant"}, {"content", nullptr}, {"tool_calls", boost::json::array{first}}},
      nullptr));
  for (const auto& piece : argument_pieces) {
    boost::json::object delta{{"index", 0}, {"function", {{"arguments", piece}}}};
    out.push_back(ChunkEvent(model, {{"tool_calls", boost::json::array{delta}}}, nullptr));
  }
  out.push_back(ChunkEvent(model, {}, "tool_calls"));
  if (usage) {
    boost::json::object u{
        {"id", "chatcmpl-fake"},
        {"object", "chat.completion.chunk"},
        {"model", model},
        {"choices", boost::json::array{}},
        {"usage", {{"prompt_tokens", 11}, {"completion_tokens", 9}, {"total_tokens", 20}}}};
    out.push_back("data: " + boost::json::serialize(u) + "\n\n");
  }
  out.push_back("data: [DONE]\n\n");
  return out;
}

}  // namespace hybridgate::testing
