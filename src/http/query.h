// What a request carries besides its body, read without the server: query parameters of the
// target and the caller's API key wherever each dialect's SDK puts it. Pure functions over views
// into the request; split from server.h so the fuzzers can test them without the server.
#pragma once

#include <string>
#include <string_view>

#include "http/request.h"

namespace hybridgate::http {

// The raw (still percent-encoded) value of query parameter `name` in a request target
// ("/path?a=1&b=2"); empty when absent.
std::string_view QueryParam(std::string_view target, std::string_view name);

// `s` with its %XX escapes decoded ("a%2Fb" -> "a/b"); a malformed escape is kept as it is, and
// so is all of `s` when its escapes decode to bytes that are not UTF-8 ("%E0%A4").
// '+' stays '+': this is for path segments, not form-encoded queries.
std::string PercentDecode(std::string_view s);

// The caller's API key, a view into `headers` or `target`: x-api-key (Anthropic), else
// Authorization: Bearer (OpenAI), else x-goog-api-key or ?key= (Google); empty when none.
std::string_view ApiKey(const Request& headers, std::string_view target);

}  // namespace hybridgate::http
