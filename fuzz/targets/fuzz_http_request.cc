// Fuzzes what the server does with a connection's bytes: its RequestReader (Beast's basic_parser,
// keeping the request in one reused Request) with the server's header and body limits (small here,
// so 431 and 413 come up), reading the header first and then the body as Session::ReadRequest does
// (Expect: 100-continue in between), several pipelined requests on one keep-alive connection, the
// input arriving in random reads. Every request parsed then goes through our own code: QueryParam,
// ApiKey and the Gemini ParseModelPath. All requests of the connection share one Request, as in the
// server: nothing of one may show in the next. Checks: a body never exceeds the body limit and
// matches Content-Length; a request that parsed has one framing, stated once (RFC 9112: no obs-fold
// reaches us unrefused, Transfer-Encoding is exactly "chunked", Content-Length one number);
// QueryParam and ApiKey return views into the request; a parsed model path is consistent with the
// path it came from.
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/gemini/gemini.h"
#include "http/query.h"
#include "http/request.h"
#include "invariant.h"
#include "split.h"

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using hybridgate::http::ApiKey;
using hybridgate::http::QueryParam;
using hybridgate::http::Request;
using hybridgate::http::RequestReader;

namespace {

// The client's side of the socket: the input's reads, one per read_some.
class Stream {
 public:
  explicit Stream(std::vector<std::string_view> reads) : reads_(std::move(reads)) {}
  // Appends the next read to `buffer`; false at end of stream.
  bool Read(beast::flat_buffer& buffer) {
    if (next_ == reads_.size()) return false;
    const std::string_view r = reads_[next_++];
    auto out = buffer.prepare(r.size());
    std::memcpy(out.data(), r.data(), r.size());
    buffer.commit(r.size());
    return true;
  }

 private:
  std::vector<std::string_view> reads_;
  size_t next_ = 0;
};

using Parser = RequestReader;

// Beast's read_some: parse what is buffered, read more while the parser needs more, and at end of
// stream either end_of_stream (nothing of this message yet) or put_eof.
beast::error_code ReadSome(Stream& s, beast::flat_buffer& buffer, Parser& p) {
  beast::error_code ec;
  if (buffer.size() > 0) {
    buffer.consume(p.put(buffer.data(), ec));
    if (ec != bhttp::error::need_more) return ec;
    ec = {};
  }
  for (;;) {
    if (!s.Read(buffer)) {
      if (!p.got_some()) return bhttp::error::end_of_stream;
      p.put_eof(ec);
      return ec;
    }
    buffer.consume(p.put(buffer.data(), ec));
    if (ec != bhttp::error::need_more) return ec;
    ec = {};
  }
}

// async_read_header, then (unless the message is done) async_read, like Session::ReadRequest.
beast::error_code ReadRequest(Stream& s, beast::flat_buffer& buffer, Parser& p, bool& continued) {
  beast::error_code ec;
  while (!ec && !p.is_header_done()) ec = ReadSome(s, buffer, p);
  if (ec || p.is_done()) return ec;
  continued = beast::iequals(p.request()[bhttp::field::expect], "100-continue");
  p.eager(true);  // what http::read sets
  while (!ec && !p.is_done()) ec = ReadSome(s, buffer, p);
  return ec;
}

bool Within(std::string_view inner, std::string_view outer) {
  return inner.empty() || (inner.data() >= outer.data() &&
                           inner.data() + inner.size() <= outer.data() + outer.size());
}

void CheckQuery(std::string_view target) {
  for (std::string_view name : {"key", "alt", "", "a"}) {
    const std::string_view v = QueryParam(target, name);
    if (!Within(v, target)) Die("QueryParam returned a view outside the target");
    if (!v.empty() && target.find(std::string(name) + "=" + std::string(v)) == std::string::npos)
      Die("QueryParam value is not name=value in the target");
  }
}

void CheckApiKey(const Request& req, std::string_view target) {
  const std::string_view key = ApiKey(req, target);
  const std::string_view x_api_key = req["x-api-key"];
  const std::string_view auth = req[bhttp::field::authorization];
  const std::string_view goog = req["x-goog-api-key"];
  const std::string_view query = QueryParam(target, "key");
  if (!x_api_key.empty()) {
    if (key != x_api_key || !Within(key, x_api_key)) Die("x-api-key not preferred");
    return;
  }
  const bool bearer = auth.size() > 7 && auth.substr(0, 7) == "Bearer ";
  if (bearer) {
    if (key != auth.substr(7) || !Within(key, auth)) Die("Bearer key not taken");
    return;
  }
  if (!goog.empty()) {
    if (key != goog || !Within(key, goog)) Die("x-goog-api-key not taken");
    return;
  }
  if (key != query || !Within(key, target)) Die("?key= not taken");
}

void CheckModelPath(std::string_view path) {
  auto parsed = hybridgate::api::gemini::ParseModelPath(path);
  if (!parsed) {
    if (parsed.error().message.empty()) Die("ParseModelPath error without a message");
    return;
  }
  const std::string& model = parsed->model;
  const size_t at = path.find("/models/");
  if (at == std::string_view::npos) Die("model path without /models/");
  if (model.empty()) Die("empty model accepted");
  if (parsed->stream != path.ends_with(":streamGenerateContent")) Die("stream flag wrong");
  if (!parsed->stream && !path.ends_with(":generateContent")) Die("method not generateContent");
  const std::string_view raw = path.substr(at + 8, path.rfind(':') - at - 8);
  if (model.size() > raw.size()) Die("decoded model longer than its path segment");
  if (raw.find('%') == std::string_view::npos && model != raw) Die("model differs from the path");
  if (path.find(model) == std::string_view::npos && raw.find('%') == std::string_view::npos)
    Die("model is not a substring of the path");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // The split byte also picks the limits: config's minimum header limit (1 KiB) and up, bodies of
  // 16 bytes to 2 KiB.
  const uint8_t knob = data[size - 1];
  const uint32_t header_limit = 1024u << (knob >> 6);
  const uint64_t body_limit = uint64_t{16} << ((knob >> 3) & 7);
  std::vector<std::string_view> reads;
  hybridgate::fuzz::ForEachChunk(data, size, [&](std::string_view c) { reads.push_back(c); });
  Stream stream(std::move(reads));
  beast::flat_buffer buffer;
  Request req;
  for (int n = 0; n < 64; ++n) {
    std::optional<Parser> parser;
    parser.emplace(req, 256);
    parser->header_limit(header_limit);
    parser->body_limit(body_limit);
    bool continued = false;
    const beast::error_code ec = ReadRequest(stream, buffer, *parser, continued);
    if (ec) {
      // The server answers these and closes; anything else just closes.
      const int status = ec == bhttp::error::body_limit                                       ? 413
                         : ec == bhttp::error::header_limit                                   ? 431
                         : ec == hybridgate::http::RequestError::kUnsupportedTransferEncoding ? 501
                                                                                              : 400;
      (void)status;
      break;
    }
    const bool chunked = parser->chunked();
    const auto content_length = parser->content_length();
    const std::string_view te = req[bhttp::field::transfer_encoding];
    if (!te.empty() && (!beast::iequals(te, "chunked") || !chunked))
      Die("a Transfer-Encoding other than chunked was accepted");
    if (req[bhttp::field::content_length].find(',') != std::string_view::npos)
      Die("a list of Content-Lengths was accepted");
    if (chunked && content_length) Die("both chunked and a Content-Length");
    if (req.body().empty() && req.body().capacity() > 256 && !chunked &&
        content_length.value_or(0) == 0)
      Die("an empty body kept more room than the reader allows");
    if (req.body().size() > body_limit) Die("body over the body limit");
    if (!chunked && content_length && req.body().size() != *content_length)
      Die("body size differs from Content-Length");
    const std::string_view target = req.target();
    if (target.empty()) Die("empty target parsed");
    CheckQuery(target);
    CheckApiKey(req, target);
    const std::string_view path = target.substr(0, target.find('?'));
    CheckModelPath(path);
    CheckModelPath(target);
    (void)continued;
    if (!req.keep_alive()) break;
  }
  return 0;
}
