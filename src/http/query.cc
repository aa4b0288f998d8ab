#include "http/query.h"

#include <simdjson.h>

#include "common/percent.h"

namespace hybridgate::http {

std::string_view QueryParam(std::string_view target, std::string_view name) {
  const size_t q = target.find('?');
  if (q == std::string_view::npos) return {};
  for (std::string_view query = target.substr(q + 1); !query.empty();) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name) return eq == std::string_view::npos ? "" : pair.substr(eq + 1);
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

std::string PercentDecode(std::string_view s) {
  std::string out = hybridgate::PercentDecode(s);
  // Escapes that decode to bytes that are not UTF-8 name nothing this gateway serves, and would
  // make an error message echoing them invalid JSON: keep the segment as it came.
  if (!simdjson::validate_utf8(out)) return std::string(s);
  return out;
}

std::string_view ApiKey(const Request& headers, std::string_view target) {
  std::string_view secret = headers["x-api-key"];
  const std::string_view auth = headers[boost::beast::http::field::authorization];
  if (secret.empty() && auth.size() > 7 && auth.substr(0, 7) == "Bearer ") secret = auth.substr(7);
  if (secret.empty()) secret = headers["x-goog-api-key"];
  if (secret.empty()) secret = QueryParam(target, "key");
  return secret;
}

}  // namespace hybridgate::http
