// Percent-encoding (RFC 3986), as in URL paths and userinfo.
#pragma once

#include <string>
#include <string_view>

namespace hybridgate {

// `s` with its %XX escapes decoded ("a%2Fb" -> "a/b"); a malformed escape is kept as it is.
// '+' stays '+': this is for path segments and userinfo, not form-encoded queries.
std::string PercentDecode(std::string_view s);

}  // namespace hybridgate
