#include "http/request.h"

#include <gtest/gtest.h>

#include <boost/beast/http/error.hpp>
#include <string>

namespace hybridgate::http {
namespace {

namespace bhttp = boost::beast::http;

TEST(Request, StartLineFieldsAndBodyAreKept) {
  Request r;
  const auto ec = ParseRequest(
      "POST /v1/chat/completions?alt=sse HTTP/1.1\r\n"
      "Host: gw\r\n"
      "Authorization: Bearer hg-abc\r\n"
      "X-HybridGate-Route: fast\r\n"
      "x-hybridgate-route: second\r\n"
      "Content-Type: application/json\r\n"
      "Content-Length: 7\r\n"
      "\r\n"
      "{\"a\":1}",
      r);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(r.method(), bhttp::verb::post);
  EXPECT_EQ(r.method_string(), "POST");
  EXPECT_EQ(r.target(), "/v1/chat/completions?alt=sse");
  EXPECT_EQ(r.version(), 11u);
  EXPECT_TRUE(r.keep_alive());
  EXPECT_EQ(r.body(), "{\"a\":1}");
  EXPECT_EQ(r.field_count(), 6u);
  // By name, case-insensitively; the first of a repeated name, as Beast's fields[] gave it.
  EXPECT_EQ(r["authorization"], "Bearer hg-abc");
  EXPECT_EQ(r[bhttp::field::authorization], "Bearer hg-abc");
  EXPECT_EQ(r["X-HYBRIDGATE-ROUTE"], "fast");
  EXPECT_EQ(r[bhttp::field::content_type], "application/json");
  EXPECT_EQ(r["x-api-key"], "");
  EXPECT_EQ(r[bhttp::field::expect], "");
  EXPECT_EQ(r[bhttp::field::unknown], "");
}

TEST(Request, ChunkedBodiesAndKeepAliveRules) {
  Request r;
  ASSERT_FALSE(
      ParseRequest("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
                   "Connection: close\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
                   r));
  EXPECT_EQ(r.body(), "abcde");
  EXPECT_FALSE(r.keep_alive());
  ASSERT_FALSE(ParseRequest("GET /healthz HTTP/1.0\r\n\r\n", r));
  EXPECT_EQ(r.version(), 10u);
  EXPECT_FALSE(r.keep_alive());  // HTTP/1.0 without keep-alive
  ASSERT_FALSE(ParseRequest("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", r));
  EXPECT_TRUE(r.keep_alive());
}

// The server parses each request of a connection into the same Request: nothing of one may show
// through in the next (a key, a route header, a body).
TEST(Request, ANewRequestForgetsEveryPartOfThePreviousOne) {
  Request r;
  ASSERT_FALSE(
      ParseRequest("POST /v1/messages HTTP/1.1\r\nx-api-key: hg-first\r\n"
                   "x-hybridgate-data-class: 4\r\nContent-Length: 11\r\n\r\nfirst body!",
                   r));
  EXPECT_EQ(r["x-api-key"], "hg-first");
  ASSERT_FALSE(ParseRequest("GET /v1/models HTTP/1.1\r\nHost: b\r\n\r\n", r));
  EXPECT_EQ(r.method(), bhttp::verb::get);
  EXPECT_EQ(r.target(), "/v1/models");
  EXPECT_EQ(r["x-api-key"], "");
  EXPECT_EQ(r["x-hybridgate-data-class"], "");
  EXPECT_EQ(r.body(), "");
  EXPECT_EQ(r.field_count(), 1u);
  EXPECT_EQ(r["host"], "b");
}

TEST(Request, ClearKeepsTheBodysRoomOnlyUpToItsLimit) {
  Request r;
  const std::string small(1000, 'x');
  ASSERT_FALSE(ParseRequest("POST / HTTP/1.1\r\nContent-Length: 1000\r\n\r\n" + small, r));
  const size_t room = r.body().capacity();
  r.Clear(16 * 1024);
  EXPECT_TRUE(r.body().empty());
  EXPECT_EQ(r.body().capacity(), room);  // a small body's room is reused
  const std::string big(100 * 1024, 'y');
  ASSERT_FALSE(ParseRequest("POST / HTTP/1.1\r\nContent-Length: 102400\r\n\r\n" + big, r));
  EXPECT_EQ(r.body(), big);
  r.Clear(16 * 1024);
  EXPECT_LT(r.body().capacity(), 16u * 1024);  // a big one's is given back
}

TEST(Request, BeastsLimitsAndErrorsStillApply) {
  Request r;
  {
    RequestReader reader(r, 0);
    reader.body_limit(4);
    boost::beast::error_code ec;
    const std::string raw = "POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello";
    reader.put(boost::asio::buffer(raw), ec);
    EXPECT_EQ(ec, bhttp::error::body_limit);
  }
  {
    RequestReader reader(r, 0);
    reader.header_limit(64);
    boost::beast::error_code ec;
    const std::string raw = "GET / HTTP/1.1\r\nX-Long: " + std::string(100, 'a') + "\r\n\r\n";
    reader.put(boost::asio::buffer(raw), ec);
    EXPECT_EQ(ec, bhttp::error::header_limit);
  }
  EXPECT_EQ(ParseRequest("GET / HTTP/1.1\r\nHost: x\r\n", r), bhttp::error::partial_message);
  EXPECT_EQ(ParseRequest("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", r), bhttp::error::bad_field);
}

// RFC 9112 where Beast is lenient: each of these is a request two parsers can frame differently
// (request smuggling through a proxy in front), so it is refused rather than guessed at.
TEST(Request, AmbiguousFramingIsRefused) {
  struct Case {
    const char* why;
    std::string raw;
    RequestError want;
  };
  const Case cases[] = {
      {"obs-fold continues a field", "GET / HTTP/1.1\r\nX-A: one\r\n two\r\n\r\n",
       RequestError::kObsFold},
      {"obs-fold with a tab", "GET / HTTP/1.1\r\nX-A: one\r\n\ttwo\r\n\r\n",
       RequestError::kObsFold},
      {"obs-fold after an empty value", "GET / HTTP/1.1\r\nX-A:\r\n two\r\n\r\n",
       RequestError::kObsFold},
      {"obs-fold of a blank line", "GET / HTTP/1.1\r\nX-A: one\r\n \r\nHost: x\r\n\r\n",
       RequestError::kObsFold},
      {"obs-fold in Content-Length", "POST / HTTP/1.1\r\nContent-Length:\r\n 3\r\n\r\nabc",
       RequestError::kObsFold},
      {"a list of equal lengths", "POST / HTTP/1.1\r\nContent-Length: 3, 3\r\n\r\nabc",
       RequestError::kContentLengthList},
      {"the field twice, same value",
       "POST / HTTP/1.1\r\nContent-Length: 3\r\ncontent-length: 3\r\n\r\nabc",
       RequestError::kContentLengthList},
      {"gzip alone (Beast: no body)",
       "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\nGET /admin HTTP/1.1\r\n\r\n",
       RequestError::kUnsupportedTransferEncoding},
      {"gzip, then chunked", "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
       RequestError::kUnsupportedTransferEncoding},
      {"chunked twice in one field",
       "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
       RequestError::kUnsupportedTransferEncoding},
      {"identity", "POST / HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n",
       RequestError::kUnsupportedTransferEncoding},
      {"gzip before a Content-Length",
       "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\nContent-Length: 3\r\n\r\nabc",
       RequestError::kUnsupportedTransferEncoding},
  };
  for (const Case& c : cases) {
    Request r;
    const auto ec = ParseRequest(c.raw, r);
    EXPECT_EQ(ec, make_error_code(c.want)) << c.why << ": " << ec.message();
    EXPECT_EQ(ec.category(), RequestErrorCategory()) << c.why;
  }
  // Beast's own checks cover the rest: both framings, in either order, and unequal lengths.
  Request r;
  EXPECT_EQ(ParseRequest("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3"
                         "\r\n\r\n0\r\n\r\n",
                         r),
            bhttp::error::bad_content_length);
  EXPECT_EQ(ParseRequest("POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked"
                         "\r\n\r\nabc",
                         r),
            bhttp::error::bad_transfer_encoding);
  EXPECT_EQ(ParseRequest("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabc", r),
            bhttp::error::multiple_content_length);
  // What stays accepted: exactly "chunked" (any case), one Content-Length, spaces around values.
  ASSERT_FALSE(
      ParseRequest("POST / HTTP/1.1\r\nTransfer-Encoding:  Chunked \r\n\r\n"
                   "3\r\nabc\r\n0\r\n\r\n",
                   r));
  EXPECT_EQ(r.body(), "abc");
  ASSERT_FALSE(
      ParseRequest("POST / HTTP/1.1\r\nContent-Length:\t3 \r\nX-Empty:\r\n"
                   "X-Spaced:   \r\n\r\nabc",
                   r));
  EXPECT_EQ(r.body(), "abc");
  EXPECT_EQ(r["x-empty"], "");
  EXPECT_EQ(r.field_count(), 3u);
}

}  // namespace
}  // namespace hybridgate::http
