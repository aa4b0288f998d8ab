#include "http/read_message.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/connect_pair.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <string>
#include <thread>

#include "http/request.h"

namespace hybridgate::http {
namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using Socket = asio::local::stream_protocol::socket;
using ReadResult = std::pair<boost::beast::error_code, std::size_t>;

// A connected pair: the test writes bytes on `peer` and reads with ReadMessage on `ours`.
struct Pair {
  asio::io_context ioc;
  Socket ours{ioc};
  Socket peer{ioc};
  boost::beast::flat_buffer buffer;
  Pair() { asio::local::connect_pair(ours, peer); }
  void Send(std::string_view bytes) { asio::write(peer, asio::buffer(bytes)); }
  template <bool kRequest>
  ReadResult Read(bhttp::basic_parser<kRequest>& parser, ReadUntil until) {
    ReadResult got;
    bool finished = false;
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> { got = co_await ReadMessage(ours, buffer, parser, until); },
        [&](std::exception_ptr e) {
          if (e) std::rethrow_exception(e);
          finished = true;
        });
    ioc.restart();
    ioc.run();
    EXPECT_TRUE(finished);
    return got;
  }
};

TEST(ReadMessage, AWholeRequestAndThenAPipelinedOneFromTheSameBytes) {
  Pair p;
  const std::string first = "POST /a HTTP/1.1\r\nContent-Length: 5\r\nX-Key: one\r\n\r\nhello";
  const std::string second = "GET /b HTTP/1.1\r\nX-Key: two\r\n\r\n";
  p.Send(first + second);
  Request req;
  {
    RequestReader parser(req, 0);
    auto [ec, n] = p.Read(parser, ReadUntil::kMessage);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(n, first.size());  // what the parser consumed: this request, not the next
    EXPECT_EQ(req.target(), "/a");
    EXPECT_EQ(req.body(), "hello");
    EXPECT_EQ(req["x-key"], "one");
  }
  // The second request is already buffered: it is parsed without a read (nothing more is sent,
  // so a read would never complete).
  RequestReader parser(req, 0);
  auto [ec, n] = p.Read(parser, ReadUntil::kMessage);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(n, second.size());
  EXPECT_EQ(req.target(), "/b");
  EXPECT_EQ(req["x-key"], "two");
  EXPECT_EQ(p.buffer.size(), 0u);
}

TEST(ReadMessage, HeaderFirstThenTheBodyAcrossSeveralWrites) {
  Pair p;
  p.Send("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab");
  Request req;
  RequestReader parser(req, 0);
  auto [hec, hn] = p.Read(parser, ReadUntil::kHeader);
  ASSERT_FALSE(hec) << hec.message();
  EXPECT_TRUE(parser.is_header_done());
  EXPECT_FALSE(parser.is_done());
  EXPECT_EQ(req.target(), "/x");
  // The rest of the body comes in pieces; the message read waits for all of them.
  std::thread writer([&] {
    p.Send("c\r\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    p.Send("2\r\nde\r\n0\r\n\r\n");
  });
  auto [ec, n] = p.Read(parser, ReadUntil::kMessage);
  writer.join();
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_TRUE(parser.is_done());
  EXPECT_EQ(req.body(), "abcde");
}

TEST(ReadMessage, ThePeerClosingBeforeAnyByteIsEndOfStream) {
  Pair p;
  p.peer.close();
  Request req;
  RequestReader parser(req, 0);
  auto [ec, n] = p.Read(parser, ReadUntil::kHeader);
  EXPECT_EQ(ec, bhttp::error::end_of_stream);
  EXPECT_EQ(n, 0u);
}

// A response read to the peer's close: whole when the close delimits the body, cut short (and an
// error) when a Content-Length said more was coming.
TEST(ReadMessage, TheCloseEndsABodyDelimitedByItAndCutsAnyOther) {
  for (const bool delimited : {true, false}) {
    Pair p;
    p.Send(delimited ? "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it"
                     : "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    p.peer.close();
    bhttp::response_parser<bhttp::string_body> parser;
    const auto ec = p.Read(parser, ReadUntil::kMessage).first;
    if (delimited) {
      ASSERT_FALSE(ec) << ec.message();
      EXPECT_TRUE(parser.is_done());
      EXPECT_EQ(parser.get().body(), "all of it");
    } else {
      EXPECT_EQ(ec, bhttp::error::partial_message);
    }
  }
}

// The error a request read ends with, for `bytes` and then nothing, through a reader that
// `limit` has set up.
template <class Limit>
boost::beast::error_code RequestReadError(const std::string& bytes, ReadUntil until, Limit limit) {
  Pair p;
  p.Send(bytes);
  Request req;
  RequestReader parser(req, 0);
  limit(parser);
  return p.Read(parser, until).first;
}

TEST(ReadMessage, TheParsersLimitsAreItsErrors) {
  EXPECT_EQ(RequestReadError("GET / HTTP/1.1\r\nX-Long: " + std::string(2000, 'a') + "\r\n\r\n",
                             ReadUntil::kHeader, [](auto& r) { r.header_limit(1024); }),
            bhttp::error::header_limit);
  EXPECT_EQ(RequestReadError("POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\n", ReadUntil::kMessage,
                             [](auto& r) { r.body_limit(10); }),
            bhttp::error::body_limit);
  const auto ec = RequestReadError("NOT HTTP AT ALL\r\n\r\n", ReadUntil::kHeader, [](auto&) {});
  EXPECT_TRUE(ec && ec != bhttp::error::need_more) << ec.message();
}

TEST(ReadMessage, SomeStopsAfterTheFirstParseThatNeedsNoMoreBytes) {
  Pair p;
  p.Send("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nabc");
  bhttp::response_parser<bhttp::string_body> parser;
  ASSERT_FALSE(p.Read(parser, ReadUntil::kHeader).first);
  // One piece of the body, not the whole: the rest has not been sent.
  auto [ec, n] = p.Read(parser, ReadUntil::kSome);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(n, 3u);
  EXPECT_FALSE(parser.is_done());
  EXPECT_EQ(parser.get().body(), "abc");
  p.Send("def");
  ASSERT_FALSE(p.Read(parser, ReadUntil::kSome).first);
  EXPECT_TRUE(parser.is_done());
  EXPECT_EQ(parser.get().body(), "abcdef");
}

}  // namespace
}  // namespace hybridgate::http
