#include "dashboard/session.h"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <charconv>

#include "http/query.h"

namespace hybridgate::dashboard {

std::string NewNonce() {
  unsigned char bytes[16];
  RAND_bytes(bytes, sizeof bytes);
  std::string out;
  for (unsigned char b : bytes) out += fmt::format("{:02x}", b);
  return out;
}

std::string SessionValue(std::string_view admin_key, int64_t expires_unix_s,
                         std::string_view nonce) {
  const std::string message = fmt::format("hybridgate-ui|{}|{}", expires_unix_s, nonce);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), admin_key.data(), static_cast<int>(admin_key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &size);
  std::string out = fmt::format("{}.{}.", expires_unix_s, nonce);
  for (unsigned int i = 0; i < size; ++i) out += fmt::format("{:02x}", mac[i]);
  return out;
}

std::optional<std::string> SessionNonce(std::string_view value, std::string_view admin_key,
                                        int64_t now_unix_s) {
  if (admin_key.empty()) return std::nullopt;
  const size_t dot = value.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot > 19) return std::nullopt;
  const size_t dot2 = value.find('.', dot + 1);
  if (dot2 == std::string_view::npos || dot2 - dot - 1 != 32) return std::nullopt;
  int64_t expires = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + dot, expires);
  if (ec != std::errc() || end != value.data() + dot || expires <= now_unix_s) return std::nullopt;
  const std::string_view nonce = value.substr(dot + 1, 32);
  const std::string expected = SessionValue(admin_key, expires, nonce);
  if (value.size() != expected.size() ||
      CRYPTO_memcmp(value.data(), expected.data(), expected.size()) != 0) {
    return std::nullopt;
  }
  return std::string(nonce);
}

std::string_view CookieValue(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const size_t semi = header.find(';');
    std::string_view pair = header.substr(0, semi);
    header = semi == std::string_view::npos ? std::string_view() : header.substr(semi + 1);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    const size_t eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) return pair.substr(eq + 1);
  }
  return {};
}

std::string FormValue(std::string_view body, std::string_view name) {
  while (!body.empty()) {
    const size_t amp = body.find('&');
    const std::string_view pair = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view() : body.substr(amp + 1);
    const size_t eq = pair.find('=');
    if (pair.substr(0, eq) != name) continue;
    if (eq == std::string_view::npos) return {};
    std::string value(pair.substr(eq + 1));
    for (char& c : value) {
      if (c == '+') c = ' ';
    }
    return http::PercentDecode(value);
  }
  return {};
}

}  // namespace hybridgate::dashboard
