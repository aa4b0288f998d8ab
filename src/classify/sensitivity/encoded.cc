#include "classify/sensitivity/encoded.h"

#include <algorithm>
#include <cstdint>

namespace hybridgate::sensitivity {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
bool IsAlnum(char c) { return IsDigit(c) || IsUpper(c) || IsLower(c); }
bool IsHex(char c) { return IsDigit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'); }
// Standard and URL-safe base64 (hex digits are among them).
bool IsBase64(char c) { return IsAlnum(c) || c == '+' || c == '/' || c == '-' || c == '_'; }
// Bytes of a URL that may stand next to a %XX escape.
bool IsUrlByte(char c) {
  return IsAlnum(c) || c == '%' ||
         std::string_view("-._~:/?#[]@!$&'()*+,;=").find(c) != std::string_view::npos;
}

int HexValue(char c) {
  if (IsDigit(c)) return c - '0';
  return (c | 0x20) - 'a' + 10;
}

int Base64Value(char c) {
  if (IsUpper(c)) return c - 'A';
  if (IsLower(c)) return c - 'a' + 26;
  if (IsDigit(c)) return c - '0' + 52;
  return c == '+' || c == '-' ? 62 : 63;  // '/' or '_'
}

// Appends decoded bytes to `out`, each with the encoded bytes it came from, and checks that
// they read as text: no control byte but tab and line breaks, and (unless `any_utf8`) at least
// three quarters printable ASCII. Drops what it appended when they do not.
class Sink {
 public:
  Sink(DecodedRuns& out, bool any_utf8) : out_(out), mark_(out.text.size()), any_utf8_(any_utf8) {}
  // False (stop decoding) at a control byte.
  bool Put(unsigned char b, std::size_t from, std::size_t to) {
    if ((b < 0x20 && b != '\t' && b != '\n' && b != '\r') || b == 0x7F) return ok_ = false;
    high_ += b >= 0x80;
    out_.text.push_back(static_cast<char>(b));
    out_.origin.push_back(Span{from, to});
    return true;
  }
  // Keeps the run (with a '\n' after it) if it reads as text; its last byte covers the encoded
  // run up to `end` (base64 padding).
  bool Finish(std::size_t end) {
    const std::size_t n = out_.text.size() - mark_;
    if (n > 0) out_.origin.back().end = end;
    if (!ok_ || n == 0 || (!any_utf8_ && 4 * high_ > n)) {
      out_.text.resize(mark_);
      out_.origin.resize(mark_);
      return false;
    }
    out_.text.push_back('\n');
    out_.origin.push_back(Span{end, end});
    return true;
  }

 private:
  DecodedRuns& out_;
  std::size_t mark_;
  bool any_utf8_;
  bool ok_ = true;
  std::size_t high_ = 0;
};

void DecodeHex(std::string_view text, std::size_t start, std::size_t end, DecodedRuns& out) {
  Sink sink(out, false);
  for (std::size_t i = start; i + 1 < end; i += 2) {
    if (!sink.Put(static_cast<unsigned char>(HexValue(text[i]) * 16 + HexValue(text[i + 1])), i,
                  i + 2)) {
      break;
    }
  }
  sink.Finish(end);
}

// `end` excludes the '=' padding, `padded_end` includes it. Byte p of a quad's three spans
// characters p and p + 1 of its four.
void DecodeBase64(std::string_view text, std::size_t start, std::size_t end, std::size_t padded_end,
                  DecodedRuns& out) {
  Sink sink(out, false);
  uint32_t acc = 0;
  int bits = 0;
  for (std::size_t i = start; i < end; ++i) {
    acc = (acc << 6) | static_cast<uint32_t>(Base64Value(text[i]));
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      const std::size_t first = i - 1;  // the byte's bits began in the previous character
      if (!sink.Put(static_cast<unsigned char>((acc >> bits) & 0xFF), first, i + 1)) break;
    }
  }
  sink.Finish(padded_end);
}

void DecodePercent(std::string_view text, std::size_t start, std::size_t end, DecodedRuns& out) {
  Sink sink(out, true);
  for (std::size_t i = start; i < end;) {
    if (text[i] == '%' && i + 2 < end && IsHex(text[i + 1]) && IsHex(text[i + 2])) {
      if (!sink.Put(static_cast<unsigned char>(HexValue(text[i + 1]) * 16 + HexValue(text[i + 2])),
                    i, i + 3)) {
        break;
      }
      i += 3;
    } else {
      if (!sink.Put(static_cast<unsigned char>(text[i]), i, i + 1)) break;
      ++i;
    }
  }
  sink.Finish(end);
}

bool EscapeAt(std::string_view text, std::size_t i) {
  return i + 2 < text.size() && text[i] == '%' && IsHex(text[i + 1]) && IsHex(text[i + 2]);
}

// The run of URL bytes around the escape at text[p]; returns its end.
std::size_t PercentRun(std::string_view text, std::size_t p, DecodedRuns& out) {
  std::size_t start = p;
  while (start > 0 && p - start < kMaxEncodedRun && IsUrlByte(text[start - 1])) --start;
  std::size_t end = p;
  while (end < text.size() && end - p < kMaxEncodedRun && IsUrlByte(text[end])) ++end;
  DecodePercent(text, start, end, out);
  return end;
}

// Whether a base64 run starts with the encoding of a private key's DER header: PKCS#1 and
// PKCS#8 (SEQUENCE, two length bytes, INTEGER version 0: `MII??[AQgw]IBA`; certificates and
// public keys have a SEQUENCE there: `MII??[AQgw]CC`, `MIIBIjAN`), SEC1 and PKCS#8 EC keys, and
// OpenSSH's "openssh-key-v1".
bool IsKeyHeader(std::string_view run) {
  if (run.size() >= 9 && run.starts_with("MII") && run.substr(6, 3) == "IBA" &&
      std::string_view("AQgw").find(run[5]) != std::string_view::npos) {
    return true;
  }
  for (std::string_view h :
       {"MHcCAQEE", "MIGkAgEBBD", "MIHcAgEBBE", "MIGHAgEAMBMG", "b3BlbnNzaC1rZXktdjE"}) {
    if (run.starts_with(h)) return true;
  }
  return false;
}

// The run of base64 characters around text[e]; returns its end.
std::size_t Base64Run(std::string_view text, std::size_t e, DecodedRuns& out) {
  std::size_t start = e;
  while (start > 0 && IsBase64(text[start - 1])) --start;
  // "\nMIIE…" in a JSON string or code: the escape's letter is not part of the run.
  if (start > 0 && text[start - 1] == '\\' && (text[start] == 'n' || text[start] == 'r')) {
    ++start;
  }
  std::size_t end = e;
  while (end < text.size() && IsBase64(text[end])) ++end;
  std::size_t padded = end;
  while (padded < text.size() && padded - end < 2 && text[padded] == '=') ++padded;
  const std::size_t n = end - start;
  if (n < kMinBase64Run || n > kMaxEncodedRun) return padded;
  const std::string_view run = text.substr(start, n);
  if (IsKeyHeader(run)) out.key_headers.push_back(start);
  if (n >= 40) {
    for (std::size_t m = run.find("T3BlbkFJ"); m != std::string_view::npos;
         m = run.find("T3BlbkFJ", m + 8)) {
      out.openai_markers.push_back(start + m);
    }
  }
  bool hex = true, upper = false, lower = false;
  for (std::size_t i = start; i < end; ++i) {
    const char c = text[i];
    hex = hex && IsHex(c);
    upper = upper || IsUpper(c);
    lower = lower || IsLower(c);
  }
  if (hex && n >= kMinHexRun && n % 2 == 0 && padded == end) {
    DecodeHex(text, start, end, out);
  } else if (upper && lower && n % 4 != 1) {
    DecodeBase64(text, start, end, padded, out);
  }
  return padded;
}

}  // namespace

void EncodedRuns::Percent(std::size_t i) {
  if (i >= done_ && EscapeAt(text_, i)) done_ = std::max(done_, PercentRun(text_, i, out_));
}

std::size_t EncodedRuns::Run(std::size_t e) { return Base64Run(text_, e, out_); }

}  // namespace hybridgate::sensitivity
