// Reading an HTTP message into a Beast parser, as beast::http::async_read, async_read_header and
// async_read_some do, with one awaited socket read_some per read instead of Beast's composed-
// operation layers (read_op over read_some_op, each with its own work tracking and handler
// wrapping): 4.7% of a proxied request's instructions (callgrind, whole process). Same buffer
// sizing, same parser calls, same errors and byte counts. Callers: the server's request reads and
// the client's response reads.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <cstddef>
#include <utility>

namespace hybridgate::http {

enum class ReadUntil {
  kHeader,   // async_read_header: the parser is not eager; stops once the header is parsed
  kMessage,  // async_read: eager; stops once the whole message (body included) is parsed
  kSome,     // async_read_some: stops after the first parse that needs no more bytes, which
             // may be an error such as need_buffer; leaves the parser's eagerness as it is
};

// Reads from `stream` into `buffer` and feeds `parser` until `until` holds or an error occurs.
// Returns the error (beast::http::error::end_of_stream when the peer closed before any byte of the
// message; the socket's own error, e.g. operation_aborted from a Watchdog, as it came) and the
// number of bytes the parser consumed. Bytes already in `buffer` (a pipelined request, the rest of
// an earlier read) are parsed before anything is read.
template <class Stream, bool kRequest>
boost::asio::awaitable<std::pair<boost::beast::error_code, std::size_t>> ReadMessage(
    Stream& stream, boost::beast::flat_buffer& buffer,
    boost::beast::http::basic_parser<kRequest>& parser, ReadUntil until) {
  namespace bhttp = boost::beast::http;
  if (until != ReadUntil::kSome) parser.eager(until == ReadUntil::kMessage);
  const auto done = [&] {
    switch (until) {
      case ReadUntil::kHeader:
        return parser.is_header_done();
      case ReadUntil::kMessage:
        return parser.is_done();
      case ReadUntil::kSome:
        break;
    }
    return false;
  };
  boost::beast::error_code ec;
  std::size_t consumed = 0;
  // Parse what is buffered first; read only when the parser asks for more.
  bool parse = buffer.size() > 0;
  while (!done()) {
    if (parse) {
      const std::size_t used = parser.put(buffer.data(), ec);
      consumed += used;
      buffer.consume(used);
      if (ec != bhttp::error::need_more) {
        if (ec || until == ReadUntil::kSome) break;
        // Progress without an error; a message not done yet wants the rest of the buffer parsed
        // first (as Beast's read_op does), then more bytes.
        parse = buffer.size() > 0 && used > 0;
        continue;
      }
      ec = {};
    }
    const std::size_t size = boost::beast::read_size(buffer, 65536);
    if (size == 0) {
      ec = bhttp::error::buffer_overflow;
      break;
    }
    auto [read_ec, n] = co_await stream.async_read_some(
        buffer.prepare(size), boost::asio::as_tuple(boost::asio::use_awaitable));
    buffer.commit(n);
    if (read_ec == boost::asio::error::eof) {
      if (parser.got_some()) {
        // The peer closed mid-message: the parser decides whether that ends it (a body delimited
        // by the close) or is an error (partial_message).
        parser.put_eof(ec);
      } else {
        ec = bhttp::error::end_of_stream;
      }
      break;
    }
    if (read_ec) {
      ec = read_ec;
      break;
    }
    parse = true;
  }
  co_return std::pair{ec, consumed};
}

}  // namespace hybridgate::http
