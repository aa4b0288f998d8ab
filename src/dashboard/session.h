// The dashboard's login: the admin key, typed once into /ui/login, becomes a session cookie so
// that the key itself is never kept by the browser (not in storage, not in a script's memory).
// The cookie's value is "<expiry unix seconds>.<hex HMAC-SHA256 over 'hybridgate-ui|<expiry>'
// keyed with the admin key>": nothing is stored server-side, a gateway restart keeps sessions,
// and a new admin key ends every session at once. Pure functions, any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace hybridgate::dashboard {

inline constexpr std::string_view kSessionCookie = "hg_ui_session";
inline constexpr int64_t kSessionSeconds = 12 * 3600;

std::string SessionValue(std::string_view admin_key, int64_t expires_unix_s);
// Whether `value` was issued with `admin_key` and has not expired at `now_unix_s`.
bool SessionValid(std::string_view value, std::string_view admin_key, int64_t now_unix_s);

// The value of cookie `name` in a Cookie header ("a=1; b=2"); empty when absent.
std::string_view CookieValue(std::string_view cookie_header, std::string_view name);

// The value of field `name` in an application/x-www-form-urlencoded body ('+' is a space,
// %XX decoded); empty when absent.
std::string FormValue(std::string_view body, std::string_view name);

}  // namespace hybridgate::dashboard
