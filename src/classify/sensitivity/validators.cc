#include "classify/sensitivity/validators.h"

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace hybridgate::sensitivity {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// Parses a run of digits; returns false when `text` is empty or holds a non-digit.
bool ParseInt(std::string_view text, int& out) {
  if (text.empty() || text.size() > 9) return false;
  int value = 0;
  for (char c : text) {
    if (!IsDigit(c)) return false;
    value = value * 10 + (c - '0');
  }
  out = value;
  return true;
}

int PrefixValue(std::string_view digits, std::size_t n) {
  int value = 0;
  for (std::size_t i = 0; i < n && i < digits.size(); ++i) value = value * 10 + (digits[i] - '0');
  return value;
}

struct IbanCountry {
  char code[3];
  int length;
};

// ISO 13616 registry lengths for the countries we expect to see.
constexpr IbanCountry kIbanCountries[] = {
    {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16}, {"BG", 22},
    {"BH", 22}, {"BR", 29}, {"CH", 21}, {"CR", 22}, {"CY", 28}, {"CZ", 24}, {"DE", 22}, {"DK", 18},
    {"DO", 28}, {"EE", 20}, {"EG", 29}, {"ES", 24}, {"FI", 18}, {"FO", 18}, {"FR", 27}, {"GB", 22},
    {"GE", 22}, {"GI", 23}, {"GL", 18}, {"GR", 27}, {"GT", 28}, {"HR", 21}, {"HU", 28}, {"IE", 22},
    {"IL", 23}, {"IS", 26}, {"IT", 27}, {"JO", 30}, {"KW", 30}, {"KZ", 20}, {"LB", 28}, {"LI", 21},
    {"LT", 20}, {"LU", 20}, {"LV", 21}, {"MC", 27}, {"MD", 24}, {"ME", 22}, {"MK", 19}, {"MR", 27},
    {"MT", 31}, {"MU", 30}, {"NL", 18}, {"NO", 15}, {"PK", 24}, {"PL", 28}, {"PS", 29}, {"PT", 25},
    {"QA", 29}, {"RO", 24}, {"RS", 22}, {"SA", 24}, {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27},
    {"TN", 24}, {"TR", 26}, {"UA", 29}, {"VG", 24}, {"XK", 20},
};

}  // namespace

int IbanLength(char a, char b) {
  for (const IbanCountry& c : kIbanCountries) {
    if (c.code[0] == a && c.code[1] == b) return c.length;
  }
  return 0;
}

namespace {

// Parses one IPv6 hex group (1..4 hex digits).
bool HexGroup(std::string_view g) {
  if (g.empty() || g.size() > 4) return false;
  for (char c : g) {
    if (!IsHex(c)) return false;
  }
  return true;
}

}  // namespace

bool LuhnValid(std::string_view text) {
  int sum = 0;
  int count = 0;
  bool dbl = false;
  for (std::size_t i = text.size(); i-- > 0;) {
    char c = text[i];
    if (!IsDigit(c)) continue;
    int d = c - '0';
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    dbl = !dbl;
    ++count;
  }
  return count > 0 && sum % 10 == 0;
}

bool KnownCardPrefix(std::string_view d) { return KnownCardIin(d.substr(0, 4), d.size()); }

bool KnownCardIin(std::string_view d, std::size_t n) {
  if (n < 13 || n > 19 || d.size() < 4) return false;
  const int p1 = PrefixValue(d, 1);
  const int p2 = PrefixValue(d, 2);
  const int p3 = PrefixValue(d, 3);
  const int p4 = PrefixValue(d, 4);
  if (p1 == 4) return n == 13 || n == 16 || n == 19;                                 // Visa
  if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return n == 16;          // Mastercard
  if (p2 == 34 || p2 == 37) return n == 15;                                          // Amex
  if (p4 == 6011 || (p3 >= 644 && p3 <= 649) || p2 == 65) return n >= 16;            // Discover
  if (p4 >= 3528 && p4 <= 3589) return n >= 16;                                      // JCB
  if ((p3 >= 300 && p3 <= 305) || p2 == 36 || p2 == 38 || p2 == 39) return n >= 14;  // Diners
  if (p2 == 62) return n >= 16;                                                      // UnionPay
  // Maestro ranges that do not collide with the networks above.
  if (p4 == 5018 || p4 == 5020 || p4 == 5038 || p4 == 5893 || p4 == 6304 || p4 == 6759 ||
      (p4 >= 6761 && p4 <= 6763)) {
    return n >= 13;
  }
  return false;
}

bool IbanValid(std::string_view text) {
  char buf[40];
  std::size_t n = 0;
  for (char c : text) {
    if (c == ' ' || c == '-' || c == '.' || c == '\t' || c == '\r' || c == '\n') continue;
    if (n == sizeof(buf)) return false;
    buf[n++] = c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
  }
  if (n < 15 || !IsUpper(buf[0]) || !IsUpper(buf[1]) || !IsDigit(buf[2]) || !IsDigit(buf[3])) {
    return false;
  }
  if (IbanLength(buf[0], buf[1]) != static_cast<int>(n)) return false;
  // Move the first four characters to the end; letters count as 10..35.
  uint32_t rem = 0;
  for (std::size_t k = 0; k < n; ++k) {
    char c = buf[(k + 4) % n];
    if (IsDigit(c)) {
      rem = (rem * 10 + static_cast<uint32_t>(c - '0')) % 97;
    } else if (IsUpper(c)) {
      rem = (rem * 100 + static_cast<uint32_t>(c - 'A' + 10)) % 97;
    } else {
      return false;
    }
  }
  return rem == 1;
}

bool UsSsnValid(std::string_view text) {
  return UsSsnValidAnySeparators(text) && text[3] == text[6];
}

bool UsSsnValidAnySeparators(std::string_view text) {
  if (text.size() != 11) return false;
  int area = 0, group = 0, serial = 0;
  if (!ParseInt(text.substr(0, 3), area) || !ParseInt(text.substr(4, 2), group) ||
      !ParseInt(text.substr(7, 4), serial)) {
    return false;
  }
  if (IsDigit(text[3]) || IsDigit(text[6])) return false;
  return area != 0 && area != 666 && area < 900 && group != 0 && serial != 0;
}

bool Ipv4Valid(std::string_view text) {
  int parts = 0;
  std::size_t i = 0;
  while (i <= text.size()) {
    std::size_t j = text.find('.', i);
    if (j == std::string_view::npos) j = text.size();
    std::string_view octet = text.substr(i, j - i);
    int value = 0;
    if (!ParseInt(octet, value) || octet.size() > 3 || value > 255) return false;
    if (octet.size() > 1 && octet[0] == '0') return false;
    ++parts;
    if (j == text.size()) break;
    i = j + 1;
  }
  return parts == 4;
}

bool Ipv6Valid(std::string_view text) {
  if (text.size() < 2 || text.size() > 45) return false;
  int groups = 0;
  bool compressed = false;
  std::size_t i = 0;
  if (text.substr(0, 2) == "::") {
    compressed = true;
    i = 2;
    if (i == text.size()) return true;  // "::"
  } else if (text[0] == ':') {
    return false;
  }
  while (i < text.size()) {
    std::size_t j = text.find(':', i);
    std::string_view part = text.substr(i, (j == std::string_view::npos ? text.size() : j) - i);
    if (j == std::string_view::npos && part.find('.') != std::string_view::npos) {
      if (!Ipv4Valid(part)) return false;
      groups += 2;
      break;
    }
    if (!HexGroup(part)) return false;
    ++groups;
    if (j == std::string_view::npos) break;
    if (j + 1 == text.size()) return false;  // trailing single ':'
    if (text[j + 1] == ':') {
      if (compressed) return false;  // at most one "::"
      compressed = true;
      i = j + 2;
      if (i == text.size()) break;
    } else {
      i = j + 1;
    }
  }
  return compressed ? groups <= 7 : groups == 8;
}

double ShannonEntropy(std::string_view text) {
  if (text.empty()) return 0.0;
  std::array<uint32_t, 256> counts{};
  for (unsigned char c : text) ++counts[c];
  double entropy = 0.0;
  const double n = static_cast<double>(text.size());
  for (uint32_t count : counts) {
    if (count == 0) continue;
    double p = count / n;
    entropy -= p * std::log2(p);
  }
  return entropy;
}

namespace {

constexpr std::string_view kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                        "jul", "aug", "sep", "oct", "nov", "dec"};

// Splits `text` into up to three fields of digits or letters, dropping separators and ordinal
// suffixes ("14th"). Returns the number of fields found.
int SplitDate(std::string_view text, std::string_view (&fields)[3]) {
  int n = 0;
  std::size_t i = 0;
  while (i < text.size() && n < 4) {
    char c = text[i];
    std::size_t j = i;
    if (IsDigit(c)) {
      while (j < text.size() && IsDigit(text[j])) ++j;
      if (n == 3) return 4;
      fields[n++] = text.substr(i, j - i);
      // Skip an ordinal suffix glued to a day number.
      while (j < text.size() && ((text[j] | 0x20) >= 'a' && (text[j] | 0x20) <= 'z')) ++j;
    } else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') {
      while (j < text.size() && ((text[j] | 0x20) >= 'a' && (text[j] | 0x20) <= 'z')) ++j;
      std::string_view word = text.substr(i, j - i);
      if (word.size() == 2 && (word[0] | 0x20) == 'o' && (word[1] | 0x20) == 'f') {
        i = j;  // "14th of March"
        continue;
      }
      if (n == 3) return 4;
      fields[n++] = word;
    } else {
      ++j;
    }
    i = j;
  }
  return n;
}

int MonthFromName(std::string_view word) {
  if (word.size() < 3) return 0;
  char lower[3] = {static_cast<char>(word[0] | 0x20), static_cast<char>(word[1] | 0x20),
                   static_cast<char>(word[2] | 0x20)};
  for (int m = 0; m < 12; ++m) {
    if (std::memcmp(lower, kMonths[m].data(), 3) == 0) return m + 1;
  }
  return 0;
}

bool YearOk(std::string_view field, int year) {
  if (field.size() == 2) return true;
  return field.size() == 4 && year >= 1900 && year <= 2099;
}

}  // namespace

bool PlausibleDate(std::string_view text) {
  std::string_view f[3];
  if (SplitDate(text, f) != 3) return false;
  int v[3] = {0, 0, 0};
  int month_field = -1;
  for (int k = 0; k < 3; ++k) {
    if (IsDigit(f[k][0])) {
      if (!ParseInt(f[k], v[k])) return false;
    } else {
      v[k] = MonthFromName(f[k]);
      if (v[k] == 0) return false;
      month_field = k;
    }
  }
  auto day_ok = [](int d) { return d >= 1 && d <= 31; };
  auto month_ok = [](int m) { return m >= 1 && m <= 12; };
  if (month_field == 0) return day_ok(v[1]) && YearOk(f[2], v[2]);  // March 14, 1985
  if (month_field == 1) return day_ok(v[0]) && YearOk(f[2], v[2]);  // 14 March 1985
  if (month_field == 2) return false;
  if (f[0].size() == 4) return YearOk(f[0], v[0]) && month_ok(v[1]) && day_ok(v[2]);  // ISO
  if (!YearOk(f[2], v[2]) || f[2].size() == 3 || f[2].size() == 1) return false;
  return (month_ok(v[0]) && day_ok(v[1])) || (day_ok(v[0]) && month_ok(v[1]));
}

}  // namespace hybridgate::sensitivity
