// The dashboard's login: the admin key, typed once into /ui/login, becomes a session cookie so
// that the key itself is never kept by the browser (not in storage, not in a script's memory).
// The cookie's value is "<expiry unix seconds>.<nonce>.<hex HMAC-SHA256 over
// 'hybridgate-ui|<expiry>|<nonce>' keyed with the admin key>". The MAC proves the gateway issued
// it; the gateway also keeps the nonces it issued (Dashboard), so that signing out, a restart or
// a new admin key ends a session. Pure functions, any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hybridgate::dashboard {

inline constexpr std::string_view kSessionCookie = "hg_ui_session";
inline constexpr int64_t kSessionSeconds = 12 * 3600;

// A fresh random nonce (16 bytes, hex).
std::string NewNonce();
std::string SessionValue(std::string_view admin_key, int64_t expires_unix_s,
                         std::string_view nonce);
// The nonce of `value` when it was issued with `admin_key` and has not expired at `now_unix_s`.
std::optional<std::string> SessionNonce(std::string_view value, std::string_view admin_key,
                                        int64_t now_unix_s);

// The value of cookie `name` in a Cookie header ("a=1; b=2"); empty when absent.
std::string_view CookieValue(std::string_view cookie_header, std::string_view name);

// The value of field `name` in an application/x-www-form-urlencoded body ('+' is a space,
// %XX decoded); empty when absent.
std::string FormValue(std::string_view body, std::string_view name);

}  // namespace hybridgate::dashboard
