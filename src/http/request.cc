#include "http/request.h"

#include <boost/beast/core/string.hpp>

namespace hybridgate::http {

namespace bhttp = boost::beast::http;

namespace {

class RequestErrorCategoryImpl final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "hybridgate.http.request"; }
  std::string message(int ev) const override {
    switch (static_cast<RequestError>(ev)) {
      case RequestError::kObsFold:
        return "obsolete line folding in a header field";
      case RequestError::kContentLengthList:
        return "more than one Content-Length";
      case RequestError::kUnsupportedTransferEncoding:
        return "unsupported Transfer-Encoding (only chunked is)";
    }
    return "bad request";
  }
};

// Whether Beast unfolded the field: its value then is not the text that follows "name:" and
// spaces on the same line. `name` points into the input, whose line goes on to a CRLF, so the
// scan stays inside it; the value is only compared by address (Beast may have copied it).
bool Folded(std::string_view name, std::string_view value) {
  const char* p = name.data() + name.size();  // the ':'
  ++p;
  while (*p == ' ' || *p == '\t') ++p;
  return p != value.data();
}

}  // namespace

const boost::system::error_category& RequestErrorCategory() {
  static const RequestErrorCategoryImpl category;
  return category;
}

boost::system::error_code make_error_code(RequestError e) {
  return {static_cast<int>(e), RequestErrorCategory()};
}

std::string_view Request::operator[](std::string_view name) const {
  for (const Field& f : fields_) {
    if (f.name.size == name.size() && boost::beast::iequals(Text(f.name), name)) {
      return Text(f.value);
    }
  }
  return {};
}

std::string_view Request::operator[](bhttp::field name) const {
  if (name == bhttp::field::unknown) return {};
  for (const Field& f : fields_) {
    if (f.id == name) return Text(f.value);
  }
  return {};
}

void Request::Clear(size_t keep_body) {
  method_ = bhttp::verb::unknown;
  version_ = 11;
  keep_alive_ = true;
  method_at_ = {};
  target_at_ = {};
  text_.clear();
  fields_.clear();
  body_.clear();
  if (body_.capacity() > keep_body) std::string().swap(body_);
}

Request::Span Request::Append(std::string_view s) {
  // The parser's header_limit (a uint32_t) bounds the text: offsets fit.
  const Span span{static_cast<uint32_t>(text_.size()), static_cast<uint32_t>(s.size())};
  text_.append(s);
  return span;
}

void RequestReader::on_request_impl(bhttp::verb method, boost::beast::string_view method_str,
                                    boost::beast::string_view target, int version,
                                    boost::beast::error_code&) {
  req_.method_ = method;
  req_.method_at_ = req_.Append(std::string_view(method_str.data(), method_str.size()));
  req_.target_at_ = req_.Append(std::string_view(target.data(), target.size()));
  req_.version_ = static_cast<unsigned>(version);
}

void RequestReader::on_field_impl(bhttp::field name, boost::beast::string_view name_string,
                                  boost::beast::string_view value, boost::beast::error_code& ec) {
  const std::string_view name_view(name_string.data(), name_string.size());
  const std::string_view value_view(value.data(), value.size());
  if (Folded(name_view, value_view)) {
    ec = RequestError::kObsFold;
    return;
  }
  // Beast takes a list of equal lengths, or the field repeated with the same value, as one.
  if (name == bhttp::field::content_length) {
    if (seen_content_length_ || value_view.find(',') != std::string_view::npos) {
      ec = RequestError::kContentLengthList;
      return;
    }
    seen_content_length_ = true;
  }
  // Beast reads "gzip, chunked" as chunked and "gzip" as no body at all (the bytes that follow
  // become the next request); a Content-Length after "gzip" is not refused either.
  if (name == bhttp::field::transfer_encoding && !boost::beast::iequals(value_view, "chunked")) {
    ec = RequestError::kUnsupportedTransferEncoding;
    return;
  }
  const Request::Span n = req_.Append(std::string_view(name_string.data(), name_string.size()));
  const Request::Span v = req_.Append(std::string_view(value.data(), value.size()));
  req_.fields_.push_back({name, n, v});
}

void RequestReader::on_header_impl(boost::beast::error_code&) { req_.keep_alive_ = keep_alive(); }

void RequestReader::on_body_init_impl(const boost::optional<uint64_t>& length,
                                      boost::beast::error_code&) {
  // basic_parser has already refused a Content-Length over body_limit.
  if (length) req_.body_.reserve(static_cast<size_t>(*length));
}

size_t RequestReader::on_body_impl(boost::beast::string_view body, boost::beast::error_code&) {
  req_.body_.append(body.data(), body.size());
  return body.size();
}

boost::beast::error_code ParseRequest(std::string_view raw, Request& out) {
  RequestReader reader(out, 0);
  reader.eager(true);
  boost::beast::error_code ec;
  while (!reader.is_done()) {
    const size_t used = reader.put(boost::asio::const_buffer(raw.data(), raw.size()), ec);
    raw.remove_prefix(used);
    if (ec == bhttp::error::need_more) {
      ec = {};
      reader.put_eof(ec);  // the end: complete (a body up to EOF) or partial_message
      return ec;
    }
    if (ec) return ec;
    if (used == 0) break;
  }
  return ec;
}

}  // namespace hybridgate::http
