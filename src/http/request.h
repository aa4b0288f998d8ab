// A request as the server reads it, and the parser that reads it. Beast's request_parser kept
// every header field in a heap node of its own, in an ordered set, and looked each one up again
// by name; a request paid five allocations for it, and its destruction. Here the start line and
// the fields are copied back to back into one string that keeps its capacity from one request of
// a connection to the next, and a field is found by a scan of a dozen entries. The reader is
// stricter than Beast where RFC 9112 asks a server to be (see RequestError).
#pragma once

#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/container/small_vector.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

namespace hybridgate::http {

// What RequestReader refuses on top of Beast 1.81's own checks, which let these through: each is
// a way for two parsers (ours and a proxy's in front) to disagree about where a request ends.
enum class RequestError {
  kObsFold = 1,                  // a field line continued on the next (RFC 9112 5.2): 400
  kContentLengthList,            // "Content-Length: 5, 5" or the field twice (6.3): 400
  kUnsupportedTransferEncoding,  // Transfer-Encoding other than exactly "chunked" (6.1): 501
};
const boost::system::error_category& RequestErrorCategory();
boost::system::error_code make_error_code(RequestError e);

class Request {
 public:
  boost::beast::http::verb method() const { return method_; }
  std::string_view method_string() const { return Text(method_at_); }
  std::string_view target() const { return Text(target_at_); }
  unsigned version() const { return version_; }
  bool keep_alive() const { return keep_alive_; }
  std::string& body() { return body_; }
  const std::string& body() const { return body_; }

  // The value of the first field named `name` (case-insensitively), as Beast's fields[] gave it;
  // empty when there is none.
  std::string_view operator[](std::string_view name) const;
  std::string_view operator[](boost::beast::http::field name) const;
  size_t field_count() const { return fields_.size(); }

  // Empties the request for the next one, keeping the text's capacity (and the body's, up to
  // `keep_body` bytes).
  void Clear(size_t keep_body);

 private:
  friend class RequestReader;
  struct Span {
    uint32_t at = 0;
    uint32_t size = 0;
  };
  struct Field {
    boost::beast::http::field id;  // unknown for names Beast does not know
    Span name;
    Span value;
  };
  std::string_view Text(Span s) const { return std::string_view(text_).substr(s.at, s.size); }
  Span Append(std::string_view s);

  boost::beast::http::verb method_ = boost::beast::http::verb::unknown;
  unsigned version_ = 11;
  bool keep_alive_ = true;
  Span method_at_;
  Span target_at_;
  std::string text_;  // the method, the target, then each field's name and value
  boost::container::small_vector<Field, 12> fields_;
  std::string body_;
};

// Parses one request into a Request (cleared first). The limits and the reading are Beast's
// (basic_parser: header_limit, body_limit, chunked bodies, keep-alive); this only keeps what it
// is handed. One reader per request, like Beast's parsers.
class RequestReader final : public boost::beast::http::basic_parser<true> {
 public:
  // `keep_body`: see Request::Clear.
  RequestReader(Request& into, size_t keep_body) : req_(into) { req_.Clear(keep_body); }
  Request& request() { return req_; }

 private:
  void on_request_impl(boost::beast::http::verb method, boost::beast::string_view method_str,
                       boost::beast::string_view target, int version,
                       boost::beast::error_code& ec) override;
  void on_response_impl(int, boost::beast::string_view, int, boost::beast::error_code&) override {}
  void on_field_impl(boost::beast::http::field name, boost::beast::string_view name_string,
                     boost::beast::string_view value, boost::beast::error_code& ec) override;
  void on_header_impl(boost::beast::error_code&) override;
  void on_body_init_impl(const boost::optional<uint64_t>& length,
                         boost::beast::error_code&) override;
  size_t on_body_impl(boost::beast::string_view body, boost::beast::error_code&) override;
  void on_chunk_header_impl(uint64_t, boost::beast::string_view,
                            boost::beast::error_code&) override {}
  size_t on_chunk_body_impl(uint64_t, boost::beast::string_view body,
                            boost::beast::error_code& ec) override {
    return on_body_impl(body, ec);
  }
  void on_finish_impl(boost::beast::error_code&) override {}

  Request& req_;
  bool seen_content_length_ = false;
};

// Parses one whole request held in `raw` into `out` (for tests and tools; the server reads from
// its socket). Returns what Beast's parser reported (partial_message when `raw` stops short).
boost::beast::error_code ParseRequest(std::string_view raw, Request& out);

}  // namespace hybridgate::http

template <>
struct boost::system::is_error_code_enum<hybridgate::http::RequestError> : std::true_type {};
