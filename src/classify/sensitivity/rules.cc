#include "classify/sensitivity/rules.h"

#include <re2/re2.h>

#include <algorithm>
#include <cmath>

#include "classify/sensitivity/cards.h"
#include "classify/sensitivity/keywords.h"
#include "classify/sensitivity/validators.h"

namespace hybridgate::sensitivity {
namespace {

// Context windows, in bytes between the keyword and the value.
constexpr std::size_t kBirthBefore = 40;
constexpr std::size_t kBirthAfter = 12;
constexpr std::size_t kMrnBefore = 24;
constexpr std::size_t kClinicalBefore = 60;
constexpr std::size_t kClinicalAfter = 20;
constexpr std::size_t kClinicalStrongBefore = 30;
constexpr std::size_t kPhoneBefore = 30;
constexpr std::size_t kSsnBefore = 20;
constexpr std::size_t kVersionBefore = 3;  // "version 1.2.3.4", "ver: 1.2.3.4"

constexpr std::size_t kMaxPemBlock = 16 * 1024;
constexpr std::size_t kMaxToken = 512;
constexpr std::size_t kMaxSecretValue = 256;
constexpr std::size_t kMaxIpv6Run = 64;

std::size_t UpTo(std::string_view text, std::size_t from, std::size_t len) {
  return std::min(text.size(), from + len);
}
std::size_t Back(std::size_t from, std::size_t len) { return from > len ? from - len : 0; }

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsAlnum(char c) { return IsDigit(c) || IsAlpha(c); }
bool IsWord(char c) { return IsAlnum(c) || c == '_'; }
bool IsHex(char c) { return IsDigit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'); }
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c | 0x20) : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

bool ContainsIgnoreCase(std::string_view hay, std::string_view needle) {
  if (needle.size() > hay.size()) return false;
  for (std::size_t i = 0; i + needle.size() <= hay.size(); ++i) {
    if (EqualsIgnoreCase(hay.substr(i, needle.size()), needle)) return true;
  }
  return false;
}

// "2024-123-45-6789", "10.1.2.3.4": the match is a piece of a longer number.
bool PartOfLongerNumber(std::string_view text, std::size_t start, std::size_t end,
                        std::string_view joiners = "-./") {
  auto joiner = [&](char c) { return joiners.find(c) != std::string_view::npos; };
  if (start >= 2 && joiner(text[start - 1]) && IsDigit(text[start - 2])) return true;
  if (end + 1 < text.size() && joiner(text[end]) && IsDigit(text[end + 1])) return true;
  return false;
}

bool WordBefore(std::string_view text, std::size_t start) {
  return start > 0 && IsWord(text[start - 1]);
}
bool WordAfter(std::string_view text, std::size_t end) {
  return end < text.size() && IsWord(text[end]);
}

int CountDigits(std::string_view s) {
  return static_cast<int>(std::count_if(s.begin(), s.end(), IsDigit));
}

// Values people paste instead of a real credential.
bool LooksLikePlaceholder(std::string_view value) {
  static constexpr std::string_view kWords[] = {"your",     "example", "placeholder", "redacted",
                                                "changeme", "xxxx",    "dummy",       "insert",
                                                "replace",  "****",    "...",         "fake"};
  for (std::string_view w : kWords) {
    if (ContainsIgnoreCase(value, w)) return true;
  }
  return false;
}

void Emit(RuleEnv& env, uint32_t type, std::size_t start, std::size_t end) {
  if (end > start) env.out->push_back(Candidate{type, start, end});
}

std::size_t Extend(std::string_view text, std::size_t end, std::string_view set,
                   std::size_t max_len) {
  std::size_t limit = std::min(text.size(), end + max_len);
  while (end < limit && set.find(text[end]) != std::string_view::npos) ++end;
  return end;
}

// Local-part bytes: the ASCII set the pattern allows, plus UTF-8 lead bytes of two-byte
// characters (müller@…) and continuation bytes. Three- and four-byte characters (CJK, emoji) end
// the address, since such text has no spaces to end it at — unless nothing else is left of the
// local part (用户@例子.广告, see LocalPartStart).
bool LocalPartByte(char c) {
  auto u = static_cast<unsigned char>(c);
  if (u >= 0x80) return u <= 0xDF && u != 0xC0 && u != 0xC1;
  return IsAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-' || c == '\'';
}

// The code point of the UTF-8 character that starts at text[i] (lead byte >= 0xC2) and its
// length, or 0 for an invalid one.
std::size_t DecodeUtf8(std::string_view text, std::size_t i, char32_t& cp) {
  const auto lead = static_cast<unsigned char>(text[i]);
  const std::size_t len = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC2 ? 2 : 0;
  if (len == 0 || lead > 0xF4 || i + len > text.size()) return 0;
  cp = lead & (0x7F >> len);
  for (std::size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(text[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  return len;
}

// Letters of the scripts internationalised addresses are written in: Latin with accents, Greek,
// Cyrillic ... Indic, Thai, kana, CJK, Hangul. Not punctuation, symbols or emoji.
bool IsIdnLetter(char32_t cp) {
  return (cp >= 0xC0 && cp <= 0x24F && cp != 0xD7 && cp != 0xF7) || (cp >= 0x370 && cp <= 0x1FFF) ||
         (cp >= 0x3040 && cp <= 0x9FFF) || (cp >= 0xAC00 && cp <= 0xD7AF);
}

// Where the local part before text[at] ('@') starts, or `at` when there is none (or it is longer
// than 64 bytes).
std::size_t LocalPartStart(std::string_view text, std::size_t at) {
  std::size_t start = at;
  std::size_t limit = at > 64 ? at - 64 : 0;
  while (start > limit && LocalPartByte(text[start - 1])) --start;
  if (start == limit && start > 0 && LocalPartByte(text[start - 1])) return at;  // > 64 bytes
  // Skip continuation bytes of a character whose lead byte is not part of the address, and
  // quotes or dots that belong to the surrounding text.
  while (start < at && ((static_cast<unsigned char>(text[start]) & 0xC0) == 0x80 ||
                        text[start] == '.' || text[start] == '\'')) {
    ++start;
  }
  if (start < at || at == 0 || static_cast<unsigned char>(text[at - 1]) < 0x80) return start;
  // 用户@…: a local part of CJK (or other three-byte) letters. Text in those scripts has no
  // spaces, so the address may take words before it along: more is replaced, nothing is missed.
  start = at;
  while (start > limit) {
    std::size_t lead = start - 1;
    while (lead > limit && (static_cast<unsigned char>(text[lead]) & 0xC0) == 0x80) --lead;
    char32_t cp = 0;
    if (static_cast<unsigned char>(text[lead]) >= 0xC2 &&
        DecodeUtf8(text, lead, cp) == start - lead && IsIdnLetter(cp)) {
      start = lead;
    } else if (static_cast<unsigned char>(text[start - 1]) < 0x80 &&
               LocalPartByte(text[start - 1]) && text[start - 1] != '.' &&
               text[start - 1] != '\'') {
      --start;
    } else {
      break;
    }
  }
  return start;
}

// The end of a domain of dot-separated labels starting at text[i]: labels of [A-Za-z0-9-] and,
// when `idn`, letters of other scripts. Sets `labels` and whether the last one (the TLD) is
// alphabetic ASCII of 2..24 bytes or, with `idn`, non-ASCII letters.
std::size_t DomainEnd(std::string_view text, std::size_t i, std::size_t limit, bool idn,
                      int& labels, bool& tld_ok) {
  labels = 0;
  tld_ok = false;
  std::size_t end = i;
  while (i < limit) {
    const std::size_t label = i;
    bool ascii_alpha = true, non_ascii = false;
    while (i < limit) {
      const char c = text[i];
      char32_t cp = 0;
      std::size_t len = 0;
      if (IsAlnum(c) || c == '-') {
        ascii_alpha = ascii_alpha && IsAlpha(c);
        ++i;
      } else if (idn && static_cast<unsigned char>(c) >= 0xC2 &&
                 (len = DecodeUtf8(text, i, cp)) != 0 && IsIdnLetter(cp)) {
        non_ascii = true;
        i += len;
      } else {
        break;
      }
    }
    if (i == label || i - label > 63) break;
    ++labels;
    end = i;
    const std::size_t n = i - label;
    // A label with other scripts' letters ("广告", "bücher") may end a domain if it has no digit.
    tld_ok = non_ascii ? std::none_of(text.begin() + label, text.begin() + i, IsDigit)
                       : ascii_alpha && n >= 2 && n <= 24;
    if (i + 1 >= limit || text[i] != '.') break;
    ++i;
  }
  return end;
}

// A spaced '@' is also how people write @mentions ("thanks @jane.doe") and "sign up @
// example.com": the spaced forms need a common top-level domain (a real one: not "doe"), and
// not one of these words before the '@'.
bool CommonTld(std::string_view tld) {
  static constexpr std::string_view kTlds[] = {
      "com",  "org", "net", "edu", "gov", "mil", "int", "io", "co", "ai", "app", "dev",
      "info", "biz", "me",  "us",  "uk",  "de",  "fr",  "es", "it", "nl", "be",  "ch",
      "at",   "se",  "no",  "dk",  "fi",  "pl",  "cz",  "ru", "ua", "jp", "cn",  "kr",
      "in",   "au",  "nz",  "ca",  "br",  "mx",  "ar",  "za", "ie", "pt", "gr",  "tr",
      "il",   "sg",  "hk",  "tw",  "eu",  "lu",  "hu",  "ro", "sk", "si", "hr",  "cl"};
  for (std::string_view t : kTlds) {
    if (EqualsIgnoreCase(tld, t)) return true;
  }
  return false;
}

bool SpacedAtAfterWord(std::string_view local) {
  static constexpr std::string_view kWords[] = {
      "at",    "me",   "us",    "up",   "in",    "on",        "to",     "via",     "or",
      "and",   "here", "there", "find", "visit", "see",       "go",     "now",     "online",
      "them",  "him",  "her",   "you",  "email", "mail",      "e-mail", "contact", "reach",
      "write", "ping", "dm",    "is",   "found", "available", "order",  "buy",     "shop",
      "live",  "join", "us",    "more", "info",  "details",   "signup", "login"};
  for (std::string_view w : kWords) {
    if (EqualsIgnoreCase(local, w)) return true;
  }
  return false;
}

// An address whose '@' is text[at] and whose domain is text[domain, end): the local part before
// it (after up to two spaces when `spaced`), the domain's TLD, and the shapes that are not
// people (SSH remotes, asset names).
void EmailAt(RuleEnv& env, uint32_t type, std::size_t at, std::size_t domain, std::size_t end,
             bool spaced) {
  std::string_view text = env.text;
  std::size_t local_end = at;
  if (spaced) {
    for (int k = 0;
         k < 2 && local_end > 0 && (text[local_end - 1] == ' ' || text[local_end - 1] == '\t');
         ++k) {
      --local_end;
    }
  }
  const std::size_t start = LocalPartStart(text, local_end);
  if (start == local_end) return;
  const std::string_view local = text.substr(start, local_end - start);
  // "git@github.com:org/repo.git" is an SSH remote, not a person; a no-reply or system mailbox
  // ("Co-Authored-By: Claude <noreply@anthropic.com>" in Claude Code's system prompt) names
  // nobody either.
  static constexpr std::string_view kNobody[] = {"git",           "noreply",      "no-reply",
                                                 "donotreply",    "do-not-reply", "no_reply",
                                                 "mailer-daemon", "postmaster"};
  for (std::string_view nobody : kNobody) {
    if (EqualsIgnoreCase(local, nobody)) return;
  }
  const std::string_view host = text.substr(domain, end - domain);
  std::string_view tld = host.substr(host.rfind('.') + 1);
  if (spaced && (local.size() < 2 || SpacedAtAfterWord(local) || !CommonTld(tld))) return;
  // "logo@2x.png": retina asset names share the shape.
  static constexpr std::string_view kFileExt[] = {"png", "jpg", "jpeg", "gif", "svg", "webp",
                                                  "bmp", "ico", "js",   "css", "ts"};
  for (std::string_view ext : kFileExt) {
    if (EqualsIgnoreCase(tld, ext)) return;
  }
  Emit(env, type, start, end);
}

void Email(RuleEnv& env, uint32_t type, std::size_t end) {
  std::string_view text = env.text;
  std::size_t at = text.rfind('@', end - 1);
  if (at == std::string_view::npos || end - at > 256) return;
  // Domain: dot-separated labels of [A-Za-z0-9-], ending in an alphabetic TLD of 2..24.
  std::string_view domain = text.substr(at + 1, end - at - 1);
  std::size_t last_dot = domain.rfind('.');
  if (last_dot == std::string_view::npos || domain.size() - last_dot - 1 < 2 ||
      domain.size() - last_dot - 1 > 24 || domain.find("..") != std::string_view::npos) {
    return;
  }
  for (std::size_t i = last_dot + 1; i < domain.size(); ++i) {
    if (!IsAlpha(domain[i])) return;
  }
  // "name @example.com": the local part stands apart.
  const bool spaced = at > 0 && (text[at - 1] == ' ' || text[at - 1] == '\t');
  EmailAt(env, type, at, at + 1, end, spaced);
}

// `name @ example.com`, `name@ example.com`: spaces after the '@' (and maybe before).
void EmailSpaced(RuleEnv& env, uint32_t type, std::size_t end) {
  std::string_view text = env.text;
  const std::size_t at = text.rfind('@', end - 1);
  if (at == std::string_view::npos || end - at > 256) return;
  std::size_t domain = at + 1;
  while (domain < end && (text[domain] == ' ' || text[domain] == '\t')) ++domain;
  int labels = 0;
  bool tld_ok = false;
  const std::size_t domain_end = DomainEnd(text, domain, end, false, labels, tld_ok);
  if (domain_end != end || labels < 2 || !tld_ok) return;
  EmailAt(env, type, at, domain, end, true);
}

// An address with a non-ASCII domain: the trigger ends at the domain's first non-ASCII byte.
void EmailIdn(RuleEnv& env, uint32_t type, std::size_t to) {
  std::string_view text = env.text;
  const std::size_t at = text.rfind('@', to - 1);
  if (at == std::string_view::npos) return;
  std::size_t domain = at + 1;
  while (domain < to && (text[domain] == ' ' || text[domain] == '\t')) ++domain;
  int labels = 0;
  bool tld_ok = false;
  const std::size_t end =
      DomainEnd(text, domain, std::min(text.size(), domain + 256), true, labels, tld_ok);
  if (end < to || labels < 2 || !tld_ok) return;
  if (end < text.size() && (IsWord(text[end]) || text[end] == '-')) return;
  EmailAt(env, type, at, domain, end, domain > at + 1);
}

// `\+[1-9]\d{0,2}(?:[ .\-]?\(\d{1,4}\)|[ .\-]?\d{1,5}){2,6}` that ends at a word edge or
// glued to a word of letters ("+44 20 7946 0958USD"), and starts after one ("pay+44 …"), not
// after a digit ("3+4567…") or another '+'.
void PhoneIntl(RuleEnv& env, uint32_t type, std::size_t start, std::size_t end) {
  std::string_view text = env.text;
  if (end < text.size() && IsWord(text[end]) && !LetterWordAt(text, end, false)) return;
  if (start > 0 && (IsDigit(text[start - 1]) || text[start - 1] == '+' || text[start - 1] == '_' ||
                    (IsAlpha(text[start - 1]) && !LetterWordAt(text, start, true)))) {
    return;
  }
  int digits = CountDigits(text.substr(start, end - start));
  if (digits < 8 || digits > 15 || PartOfLongerNumber(text, start, end)) return;
  Emit(env, type, start, end);
}

void PhoneNanp(RuleEnv& env, uint32_t type, std::size_t start, std::size_t end) {
  std::string_view text = env.text;
  // A "1-" / "1 " trunk prefix ("1-800-555-0199"); not part of the pattern because a leading
  // optional group with SOM makes Hyperscan track every digit.
  if (start >= 2 && (text[start - 1] == '-' || text[start - 1] == ' ' || text[start - 1] == '.') &&
      text[start - 2] == '1' &&
      (start == 2 || (!IsWord(text[start - 3]) && text[start - 3] != '+'))) {
    start -= 2;
  }
  if (PartOfLongerNumber(text, start, end) || (start > 0 && text[start - 1] == '+')) return;
  char d[12];
  int n = 0;
  for (std::size_t i = start; i < end && n < 12; ++i) {
    if (IsDigit(text[i])) d[n++] = text[i];
  }
  int offset = n == 11 ? 1 : 0;
  // Area codes start with 2..9. Exchanges do too in the real plan, but fictional numbers like
  // (555) 123-4567 are what people paste into prompts, so the exchange is not checked.
  if (n - offset != 10 || d[offset] < '2') return;
  Emit(env, type, start, end);
}

void PhoneNational(RuleEnv& env, uint32_t type, std::size_t start, std::size_t end) {
  std::string_view text = env.text;
  std::string_view number = text.substr(start, end - start);
  int digits = CountDigits(number);
  bool separated = static_cast<int>(number.size()) != digits;
  // "0049 151 12345678", "004915112345678": the international prefix 00 and a country code,
  // then up to 15 digits as after a '+'; still only after phone context, since zero-padded ids
  // ("0012 3456 7890") look the same.
  const bool international = number.size() > 2 && number[1] == '0' && number[2] != '0';
  if (international ? digits - 2 < 8 || digits - 2 > 15 : !separated || digits < 9 || digits > 12) {
    return;
  }
  if (PartOfLongerNumber(text, start, end)) return;
  if (!KeywordEndsIn(text, KeywordSet::kPhone, Back(start, kPhoneBefore), start)) return;
  Emit(env, type, start, end);
}

// "Chrome/120.0.0.0", "Safari/537.36.0.1": a product token's version, as User-Agent strings
// write them.
bool AfterProductName(std::string_view text, std::size_t start) {
  if (start < 3 || text[start - 1] != '/' || !IsAlpha(text[start - 2])) return false;
  std::size_t w = start - 1;
  while (w > 0 && (IsWord(text[w - 1]) || text[w - 1] == '-')) --w;
  return IsAlpha(text[w]) && (w == 0 || (text[w - 1] != '/' && text[w - 1] != ':'));
}

// A version keyword before a dotted quad, with at most kVersionBefore bytes between
// ("version 1.2.3.4", "ver: 1.2.3.4"), or after JSON or assignment punctuation
// (`"version": "1.2.3.4"`, `cc_version=2.1.197.123`).
bool AfterVersionWord(std::string_view text, std::size_t start) {
  if (KeywordEndsIn(text, KeywordSet::kVersion, Back(start, kVersionBefore), start)) return true;
  std::size_t k = start;
  while (k > 0 && start - k < 5 &&
         (text[k - 1] == ' ' || text[k - 1] == '"' || text[k - 1] == '\'' || text[k - 1] == ':' ||
          text[k - 1] == '=')) {
    --k;
  }
  return k < start && KeywordEndsIn(text, KeywordSet::kVersion, k, k);
}

void Ipv4(RuleEnv& env, uint32_t type, std::size_t start, std::size_t end) {
  std::string_view text = env.text;
  // Only '.' joins: 10.0.0.0/8 and 10.0.0.1-10.0.0.9 are addresses.
  if (!Ipv4Valid(text.substr(start, end - start)) || PartOfLongerNumber(text, start, end, ".")) {
    return;
  }
  if (AfterVersionWord(text, start) || AfterProductName(text, start)) return;
  Emit(env, type, start, end);
}

void Ipv6Trigger(RuleEnv& env, uint32_t type, std::size_t to) {
  std::string_view text = env.text;
  if (to <= env.ipv6_run_end) return;
  auto in_run = [&](std::size_t i) { return IsHex(text[i]) || text[i] == ':' || text[i] == '.'; };
  std::size_t lo = to - 1;
  std::size_t lo_limit = to > kMaxIpv6Run ? to - kMaxIpv6Run : 0;
  while (lo > lo_limit && in_run(lo - 1)) --lo;
  std::size_t hi = to;
  std::size_t hi_limit = std::min(text.size(), to + kMaxIpv6Run);
  while (hi < hi_limit && in_run(hi)) ++hi;
  env.ipv6_run_end = hi;
  if ((lo == lo_limit && lo > 0 && in_run(lo - 1)) || (hi == hi_limit && hi < text.size())) {
    return;  // longer than any address
  }
  while (hi > lo && text[hi - 1] == '.') --hi;              // sentence end
  if (WordBefore(text, lo) || WordAfter(text, hi)) return;  // "std::abc", identifiers
  std::string_view addr = text.substr(lo, hi - lo);
  if (!Ipv6Valid(addr) && addr.size() > 2 && addr.back() == ':' && addr[addr.size() - 2] != ':') {
    addr.remove_suffix(1);
    --hi;
  }
  if (!Ipv6Valid(addr)) return;
  // Two short groups ("ab::cd") are more often code than an address.
  int groups = 0;
  bool long_group = false;
  for (std::size_t i = 0; i < addr.size();) {
    std::size_t j = i;
    while (j < addr.size() && IsHex(addr[j])) ++j;
    if (j > i) ++groups;
    if (j - i == 4) long_group = true;
    i = j + 1;
  }
  if (groups < 3 && !long_group && addr != "::1") return;
  Emit(env, type, lo, hi);
}

void ApiKey(RuleEnv& env, const BuiltinPattern& p, uint32_t type, std::size_t start,
            std::size_t end, bool checked) {
  std::string_view text = env.text;
  // A fixed-length key (`ghp_` + 36) may be glued to a word after it ("ghp_…USD"); one that
  // extends over its characters must end there.
  if (!p.extend.empty()) {
    end = Extend(text, end, p.extend, kMaxToken);
    if (WordAfter(text, end)) return;
  }
  if (checked) {
    std::string_view key = text.substr(start, end - start);
    std::size_t body = key.rfind('-', 12);  // "sk-", "sk-proj-", "sk-ant-api03-"
    std::string_view random = key.substr(body == std::string_view::npos ? 0 : body + 1);
    if (LooksLikePlaceholder(key) || ShannonEntropy(random) < 3.0) return;
  }
  Emit(env, type, start, end);
}

// AWS access key ids (`(?i)\b(?:AKIA|ASIA)[A-Z0-9]{16}\b`, and upper case glued to a word).
// Written upper case and standing alone, as AWS issues them, any such id counts. In lower or
// mixed case ("akiaiosfodnn7example") the id was retyped or folded, and glued to a word
// ("KEYAKIA…", "…EXAMPLEUSD") it may be a slice of upper-case prose: the 16 characters after the
// prefix must then hold a digit, which words such as "asiapacificregions" do not.
void AwsKey(RuleEnv& env, uint32_t type, std::size_t start, std::size_t end) {
  std::string_view key = env.text.substr(start, end - start);
  const bool upper =
      std::none_of(key.begin(), key.end(), [](char c) { return c >= 'a' && c <= 'z'; });
  const bool glued = WordBefore(env.text, start) || WordAfter(env.text, end);
  if ((!upper || glued) && std::none_of(key.begin() + 4, key.end(), IsDigit)) return;
  Emit(env, type, start, end);
}

// `needle` starts with a byte that has no case ('-'), so candidates are found with find().
std::size_t FindIgnoreCase(std::string_view hay, std::string_view needle) {
  for (std::size_t i = hay.find(needle[0]);
       i != std::string_view::npos && i + needle.size() <= hay.size();
       i = hay.find(needle[0], i + 1)) {
    if (EqualsIgnoreCase(hay.substr(i, needle.size()), needle)) return i;
  }
  return std::string_view::npos;
}

// A PEM private key from its BEGIN line (any case) through its END line, the lines broken by
// LF, CRLF or, in a JSON or code string, the escapes `\n` `\r`; a block without its END line
// covers the base64 body that follows the header.
// The first "-----END " (any case) starting in [from, limit), or npos; remembered in `env`.
std::size_t NextPemFooter(RuleEnv& env, std::size_t from, std::size_t limit) {
  constexpr std::string_view kFooter = "-----END ";
  constexpr std::size_t kNone = std::string_view::npos;
  std::size_t start = from;
  if (from >= env.pem_clear_from && from <= env.pem_clear_to) {
    start = env.pem_clear_to;
    if (env.pem_footer != kNone && env.pem_footer >= start) {
      return env.pem_footer < limit ? env.pem_footer : kNone;
    }
  } else {
    env.pem_clear_from = from;
  }
  std::size_t found = kNone;
  if (start < limit) {
    const std::string_view window =
        env.text.substr(start, std::min(env.text.size(), limit + kFooter.size() - 1) - start);
    if (const std::size_t at = FindIgnoreCase(window, kFooter); at != kNone) found = start + at;
  }
  if (found != kNone && found < limit) {
    env.pem_clear_to = found;
    env.pem_footer = found;
    return found;
  }
  env.pem_clear_to = std::max(start, limit);
  env.pem_footer = found;  // one past `limit`, or none
  return kNone;
}

void PrivateKey(RuleEnv& env, uint32_t type, std::size_t start, std::size_t end) {
  std::string_view text = env.text;
  std::string_view window = text.substr(end, std::min(kMaxPemBlock, text.size() - end));
  std::size_t footer = NextPemFooter(env, end, end + window.size());
  if (footer != std::string_view::npos) footer -= end;
  if (footer != std::string_view::npos) {
    std::size_t close = window.find("-----", footer + 9);
    if (close != std::string_view::npos && close - footer < 80) {
      Emit(env, type, start, end + close + 5);
      return;
    }
  }
  std::size_t i = 0;
  while (i < window.size()) {
    const char c = window[i];
    if (IsAlnum(c) || IsSpace(c) || c == '+' || c == '/' || c == '=') {
      ++i;
    } else if (c == '\\' && i + 1 < window.size() &&
               (window[i + 1] == 'n' || window[i + 1] == 'r')) {
      i += 2;
    } else {
      break;
    }
  }
  while (i > 0) {  // trailing line breaks, raw or escaped
    if (IsSpace(window[i - 1])) {
      --i;
    } else if (i >= 2 && window[i - 2] == '\\' && (window[i - 1] == 'n' || window[i - 1] == 'r')) {
      i -= 2;
    } else {
      break;
    }
  }
  Emit(env, type, start, end + i);
}

bool IsQuote(char c) { return c == '"' || c == '\'' || c == '`'; }
bool IsBase64Char(char c) { return IsAlnum(c) || c == '+' || c == '/'; }

// From text[i], past line breaks, raw (LF, CR, spaces) or escaped (`\n`, `\r`).
std::size_t SkipLineBreaks(std::string_view text, std::size_t i, std::size_t limit) {
  while (i < limit) {
    if (IsSpace(text[i])) {
      ++i;
    } else if (text[i] == '\\' && i + 1 < limit && (text[i + 1] == 'n' || text[i + 1] == 'r')) {
      i += 2;
    } else {
      break;
    }
  }
  return i;
}

// The base64 body of a PEM block pasted without its BEGIN line, before its END line at
// text[end_line]: lines of base64 (and '=' padding) broken by LF, CRLF or the escapes `\n` `\r`,
// at most kMaxPemBlock bytes back. Needs 64 base64 characters (a full PEM line) of mixed case,
// so a sentence that ends with a quoted END line ("… ends with\n-----END …") is not one.
void PrivateKeyEnd(RuleEnv& env, uint32_t type, std::size_t end_line, std::size_t to) {
  std::string_view text = env.text;
  const std::size_t limit = Back(end_line, kMaxPemBlock);
  std::size_t i = end_line;
  std::size_t chars = 0;
  bool lower = false, upper = false;
  while (i > limit) {
    const char c = text[i - 1];
    if ((c == 'n' || c == 'r') && i >= limit + 2 && text[i - 2] == '\\') {
      i -= 2;  // an escaped line break (a PEM body has no other backslash)
    } else if (IsBase64Char(c) || c == '=') {
      lower |= c >= 'a' && c <= 'z';
      upper |= c >= 'A' && c <= 'Z';
      chars += c != '=';
      --i;
    } else if (c == '\n' || c == '\r') {
      --i;
    } else {
      break;
    }
  }
  i = SkipLineBreaks(text, i, end_line);
  if (chars < 64 || !lower || !upper) return;
  Emit(env, type, i, to);
}

// The base64 of a private key's DER header at text[start]: the body runs over base64 and line
// breaks (raw or escaped) to its END line or its last base64 character; 200 characters or more
// (100 for the EC and OpenSSH headers, whose keys are shorter), at a boundary on the left.
void PrivateKeyDer(RuleEnv& env, uint32_t type, std::size_t start) {
  std::string_view text = env.text;
  const bool escaped_break =
      start >= 2 && text[start - 2] == '\\' && (text[start - 1] == 'n' || text[start - 1] == 'r');
  if (start > 0 && !escaped_break && (IsBase64Char(text[start - 1]) || text[start - 1] == '=')) {
    return;
  }
  const std::size_t min_chars = text[start + 1] == 'I' && text[start + 2] == 'I' ? 200 : 100;
  const std::size_t limit = UpTo(text, start, kMaxPemBlock);
  std::size_t i = start, end = start, chars = 0;
  while (i < limit) {
    const char c = text[i];
    if (IsBase64Char(c) || c == '=') {
      chars += c != '=';
      end = ++i;
    } else if (c == '\n' || c == '\r' ||
               (c == '\\' && i + 1 < limit && (text[i + 1] == 'n' || text[i + 1] == 'r'))) {
      i += c == '\\' ? 2 : 1;
    } else {
      break;
    }
  }
  if (chars < min_chars) return;
  // Its END line, if it follows.
  const std::size_t footer = SkipLineBreaks(text, end, limit);
  if (EqualsIgnoreCase(text.substr(footer, 9), "-----END ")) {
    const std::size_t close = text.find("-----", footer + 9);
    if (close != std::string_view::npos && close - footer < 80) end = close + 5;
  }
  Emit(env, type, start, end);
}

// An OpenAI key found by the `T3BlbkFJ` (base64 "OpenAI") in it, whatever its prefix: the token
// of [A-Za-z0-9_-] around it, 20 characters at least on each side.
void OpenAiLegacy(RuleEnv& env, uint32_t type, std::size_t marker) {
  std::string_view text = env.text;
  auto key_char = [](char c) { return IsAlnum(c) || c == '_' || c == '-'; };
  std::size_t start = marker;
  while (start > 0 && marker - start < kMaxToken && key_char(text[start - 1])) --start;
  std::size_t end = marker;
  while (end < text.size() && end - marker < kMaxToken && key_char(text[end])) ++end;
  if (marker - start < 20 || end - marker < 28) return;
  Emit(env, type, start, end);
}

// `aws_secret_access_key = …`: 40 base64 characters, with a digit and both cases (AWS issues
// them random), quoted or bare. The documentation's example key is reported, like its key id.
void AwsSecret(RuleEnv& env, uint32_t type, std::size_t to) {
  std::string_view text = env.text;
  std::size_t i = to;
  for (int k = 0; k < 3 && i < text.size() && (text[i] == ' ' || text[i] == '\t'); ++k) ++i;
  while (i < text.size() && i < to + 8 && (text[i] == '\\' || IsQuote(text[i]))) ++i;
  const std::size_t start = i;
  while (i < text.size() && i - start <= 40 && IsBase64Char(text[i])) ++i;
  if (i - start != 40 || (i < text.size() && (IsBase64Char(text[i]) || text[i] == '='))) return;
  const std::string_view key = text.substr(start, 40);
  if (std::none_of(key.begin(), key.end(), IsDigit) ||
      std::none_of(key.begin(), key.end(), [](char c) { return c >= 'a' && c <= 'z'; }) ||
      std::none_of(key.begin(), key.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
    return;
  }
  Emit(env, type, start, i);
}

// Where a quoted value that starts at text[start] ends (the first backslash of its closing
// quote), or npos. The value may be JSON-escaped m times over (tool-call arguments are JSON
// text; a command line inside them quotes with \"): its quotes are then written after
// `level` = 2^m - 1 backslashes (0, 1, 3), and its own escaped backslashes come in 2^(m+1)s.
// So before a quote, a backslash run of `level` (mod 2^(m+1)) closes the value, a run of
// 2*level+1 is a quote inside it (`\"` in JSON), and any other run is a quote of an enclosing
// level: the value did not close where it should have.
std::size_t QuotedValueEnd(std::string_view text, std::size_t start, std::size_t limit, char quote,
                           std::size_t level) {
  std::size_t run = 0;
  for (std::size_t i = start; i < limit; ++i) {
    const char c = text[i];
    if (c == '\\') {
      ++run;
      continue;
    }
    if (c == '\n') return std::string_view::npos;
    if (c == quote) {
      const std::size_t r = run % (2 * (level + 1));
      if (r == level) return i - level;
      if (r != 2 * level + 1) return std::string_view::npos;
    }
    run = 0;
  }
  return std::string_view::npos;
}

// The value after `password=`, `token: "…"`, `Bearer …`. A quoted value runs to its closing
// quote, over escaped quotes (see QuotedValueEnd); a bare one to whitespace or punctuation, and
// to '&' only where a URL parameter follows.
void SecretValue(RuleEnv& env, uint32_t type, std::size_t to, bool after_assign) {
  std::string_view text = env.text;
  std::size_t i = to;
  if (after_assign && i < text.size() && (text[i] == '=' || text[i] == '>' || text[i] == ':')) {
    return;  // "==", "=>", "::"
  }
  for (int k = 0; k < 3 && i < text.size() && (text[i] == ' ' || text[i] == '\t'); ++k) ++i;
  char quote = 0;
  std::size_t level = 0;
  while (level < 4 && i + level < text.size() && text[i + level] == '\\') ++level;
  if ((level == 0 || level == 1 || level == 3) && i + level < text.size() &&
      IsQuote(text[i + level])) {
    quote = text[i + level];
    i += level + 1;
  }
  std::size_t start = i;
  std::size_t limit = std::min(text.size(), start + kMaxSecretValue);
  auto url_parameter_follows = [&](std::size_t amp) {
    std::size_t j = amp + 1;
    while (j < text.size() && j < amp + 32 && IsWord(text[j])) ++j;
    return j > amp + 1 && j < text.size() && text[j] == '=';
  };
  if (quote != 0) {
    i = QuotedValueEnd(text, start, limit, quote, level);
    if (i == std::string_view::npos) return;
  } else {
    auto stop = [](char c) {
      return IsSpace(c) || c == '"' || c == '\'' || c == '`' || c == ',' || c == ';' || c == ')' ||
             c == ']' || c == '}' || c == '(' || c == '[' || c == '{' || c == '<' || c == '>';
    };
    while (i < limit && !stop(text[i]) && !(text[i] == '&' && url_parameter_follows(i))) ++i;
    if (i < text.size() && (text[i] == '(' || text[i] == '[')) return;  // a call, not a literal
    if (i < text.size() && IsQuote(text[i])) {
      while (i > start && text[i - 1] == '\\') --i;  // `\"`: an escaped quote ends it too
    }
    while (i > start && (text[i - 1] == '.' || text[i - 1] == ':')) --i;  // sentence end
  }
  const bool password_key = after_assign && PasswordKeyBefore(text, to);
  if (!SecretValueOk(text.substr(start, i - start), env.entropy_threshold, password_key)) return;
  Emit(env, type, start, i);
}

// "my password is Xk9#…": the value after the verb (and an optional ':'), which must hold a
// digit or a symbol besides passing SecretValueOk, since prose goes on with words ("the
// password is Required", "is stored hashed").
void SecretProse(RuleEnv& env, uint32_t type, std::size_t to) {
  std::string_view text = env.text;
  std::size_t i = to;
  if (i < text.size() && text[i] == ':') ++i;
  if (i >= text.size() || (text[i] != ' ' && text[i] != '\t')) return;
  std::vector<Candidate>& out = *env.out;
  const std::size_t before = out.size();
  SecretValue(env, type, i, false);
  if (out.size() == before) return;
  const Candidate& c = out.back();
  const std::string_view value = text.substr(c.start, c.end - c.start);
  if (std::none_of(value.begin(), value.end(), [](char ch) { return !IsAlpha(ch); })) {
    out.pop_back();
  }
}

// After `\bbearer\b`, one to three whitespace bytes (what `\bbearer\s{1,3}` matched, at a
// quarter of the speed): the value may start after each of them.
void Bearer(RuleEnv& env, uint32_t type, std::size_t to) {
  std::string_view text = env.text;
  auto space = [](char c) { return IsSpace(c) || c == '\v' || c == '\f'; };
  for (std::size_t i = to; i < text.size() && i < to + 3 && space(text[i]); ++i) {
    SecretValue(env, type, i + 1, false);
  }
}

// An ICD-10 code shape: dotted codes within 60 bytes after or 20 before a clinical word;
// undotted ones ("I10", "B12") only within 30 bytes after a diagnostic one.
void Icd10(RuleEnv& env, uint32_t type, std::size_t start, std::size_t end) {
  std::string_view text = env.text;
  if (PartOfLongerNumber(text, start, end)) return;
  bool dotted = text.substr(start, end - start).find('.') != std::string_view::npos;
  bool near =
      (dotted && (KeywordEndsIn(text, KeywordSet::kClinical, Back(start, kClinicalBefore), start) ||
                  KeywordStartsIn(text, KeywordSet::kClinical, end, end + kClinicalAfter))) ||
      KeywordEndsIn(text, KeywordSet::kClinicalStrong, Back(start, kClinicalStrongBefore), start);
  if (near) Emit(env, type, start, end);
}

// Calls `emit(start, end)` for each match of `re` inside text[lo, hi); \b and friends see the
// bytes around the window.
template <class Emit>
void ForEachMatch(const re2::RE2& re, std::string_view text, std::size_t lo, std::size_t hi,
                  Emit emit) {
  re2::StringPiece input(text.data(), text.size());
  re2::StringPiece match;
  while (lo < hi && re.Match(input, lo, hi, re2::RE2::UNANCHORED, &match, 1)) {
    auto start = static_cast<std::size_t>(match.data() - text.data());
    std::size_t end = start + match.size();
    emit(start, end);
    lo = end > start ? end : start + 1;
  }
}

constexpr std::size_t kMaxDate = 32;  // "14th of September, 1985"
constexpr std::size_t kMaxMrn = 16;

}  // namespace

void ContextIndex::Clear() {
  if (!added_) return;
  for (auto& v : spans_) v.clear();
  added_ = false;
}

void ContextIndex::Add(Context context, std::size_t start, std::size_t end) {
  spans_[static_cast<int>(context)].push_back(Span{start, end});
  added_ = true;
}

void ContextIndex::Sort() {
  if (!added_) return;
  for (auto& v : spans_) {
    std::sort(v.begin(), v.end(), [](const Span& a, const Span& b) { return a.end < b.end; });
  }
}

namespace {

// Words that describe a password field rather than fill it ("password: required").
bool DescribesAField(std::string_view value) {
  static constexpr std::string_view kWords[] = {
      "required",  "optional",     "mandatory", "string",    "password",  "passwords", "hidden",
      "masked",    "protected",    "encrypted", "hashed",    "incorrect", "invalid",   "expired",
      "changed",   "unchanged",    "provided",  "missing",   "undefined", "nullable",  "readonly",
      "sensitive", "confidential", "secret",    "secrets",   "default",   "disabled",  "enabled",
      "unknown",   "notset",       "omitted",   "forgotten", "generated", "withheld",  "automatic",
      "anonymous", "username"};
  for (std::string_view w : kWords) {
    if (EqualsIgnoreCase(value, w)) return true;
  }
  return false;
}

}  // namespace

bool LetterWordAt(std::string_view text, std::size_t at, bool before) {
  std::size_t n = 0;
  if (before) {
    while (n <= 24 && n < at && IsAlpha(text[at - 1 - n])) ++n;
    return n >= 1 && n <= 24 && (n == at || !IsWord(text[at - 1 - n]));
  }
  while (n <= 24 && at + n < text.size() && IsAlpha(text[at + n])) ++n;
  return n >= 1 && n <= 24 && !(at + n < text.size() && IsWord(text[at + n]));
}

bool PasswordKeyBefore(std::string_view text, std::size_t end) {
  std::size_t k = end;
  if (k > 0 && (text[k - 1] == ':' || text[k - 1] == '=')) --k;
  while (k > 0 && (text[k - 1] == ' ' || text[k - 1] == '\t' || IsQuote(text[k - 1]) ||
                   text[k - 1] == '\\')) {
    --k;
  }
  static constexpr std::string_view kNames[] = {"password",
                                                "passwd",
                                                "pwd",
                                                "passphrase",
                                                "passcode",
                                                "passwort",
                                                "kennwort",
                                                "senha",
                                                "wachtwoord",
                                                "mot de passe",
                                                "contrase\xC3\xB1"
                                                "a",
                                                "contrase\xC3\x91"
                                                "a",
                                                "contrasena"};
  for (std::string_view name : kNames) {
    if (k >= name.size() && EqualsIgnoreCase(text.substr(k - name.size(), name.size()), name)) {
      return true;
    }
  }
  // `secret:` or `client_secret:`, not `secrets:` or `secretName:`: those hold names.
  constexpr std::string_view kSecret = "secret";
  return k >= kSecret.size() &&
         EqualsIgnoreCase(text.substr(k - kSecret.size(), kSecret.size()), kSecret) &&
         (k == kSecret.size() || !IsAlnum(text[k - kSecret.size() - 1]));
}

bool SecretValueOk(std::string_view value, double entropy_threshold, bool password_key) {
  if (value.size() < 8) return false;
  char first = value.front();
  if (first == '$' || first == '%' || first == '{' || first == '*' || first == '#' ||
      first == '/' || first == '.' || first == '~') {
    return false;  // ${ENV}, %(var)s, {{tmpl}}, ****, paths
  }
  // <your-key>, and the gateway's own <SECRET_1> when a redacted request is scanned again.
  if (first == '<' && value.back() == '>') return false;
  if (value.find("://") != std::string_view::npos || LooksLikePlaceholder(value)) return false;
  bool lower = false, upper = false, digit = false, symbol = false, identifier_chars = true;
  for (char c : value) {
    lower |= c >= 'a' && c <= 'z';
    upper |= c >= 'A' && c <= 'Z';
    digit |= IsDigit(c);
    symbol |= !IsAlnum(c) && c != '_' && c != '-';
    identifier_chars &= IsWord(c) || c == '.';
  }
  // Names rather than secrets: settings.SECRET_KEY, os.environ (dotted identifiers without
  // digits), prod/db/credentials, arn:aws:secretsmanager (no digit and no capital). This gives up
  // all-lowercase passphrases; see README.
  if (identifier_chars && !digit && value.find('.') != std::string_view::npos) return false;
  // A password's own name before it: lower-case letters are a password ("password: sunshine"),
  // unless they describe the field. Words carry less entropy than random characters, so the bar
  // only keeps out repetition ("aaaaaaaa", "abababab").
  const bool letters_only =
      std::all_of(value.begin(), value.end(), [](char c) { return c >= 'a' && c <= 'z'; });
  if (password_key && letters_only && !DescribesAField(value)) {
    const double bar =
        std::min(entropy_threshold, 0.7 * std::log2(static_cast<double>(value.size())));
    return ShannonEntropy(value) >= bar;
  }
  if (!digit && !upper) return false;
  int classes = lower + upper + digit + symbol;
  if (classes < 2 && value.size() < 20) return false;
  // A string of n bytes has at most log2(n) bits per byte, so short values are judged against a
  // proportionally lower bar.
  double bar = std::min(entropy_threshold, 0.8 * std::log2(static_cast<double>(value.size())));
  return ShannonEntropy(value) >= bar;
}

void ApplyRule(const BuiltinPattern& p, uint32_t type, std::size_t from, std::size_t to,
               RuleEnv& env) {
  switch (p.rule) {
    case Rule::kApiKey:
      return ApiKey(env, p, type, from, to, false);
    case Rule::kApiKeyChecked:
      return ApiKey(env, p, type, from, to, true);
    case Rule::kJwt:
      return Emit(env, type, from, Extend(env.text, to, p.extend, kMaxToken));
    default:
      return ApplyRule(p.rule, type, from, to, env);
  }
}

void ApplyRule(Rule rule, uint32_t type, std::size_t from, std::size_t to, RuleEnv& env) {
  const std::string_view text = env.text;
  switch (rule) {
    case Rule::kEmail:
      return Email(env, type, to);
    case Rule::kEmailSpaced:
      return EmailSpaced(env, type, to);
    case Rule::kEmailIdn:
      return EmailIdn(env, type, to);
    case Rule::kPrivateKeyEnd:
      return PrivateKeyEnd(env, type, from, to);
    case Rule::kPrivateKeyDer:
      return PrivateKeyDer(env, type, from);
    case Rule::kOpenAiLegacy:
      return OpenAiLegacy(env, type, from);
    case Rule::kAwsSecret:
      return AwsSecret(env, type, to);
    case Rule::kSecretProse:
      return SecretProse(env, type, to);
    case Rule::kPhoneIntl:
      return PhoneIntl(env, type, from, to);
    case Rule::kPhoneNanp:
      return PhoneNanp(env, type, from, to);
    case Rule::kPhoneNational:
      return PhoneNational(env, type, from, to);
    case Rule::kCardTrigger:
      return CardTrigger(env, type, to);
    case Rule::kIban:
      if (IbanValid(text.substr(from, to - from))) Emit(env, type, from, to);
      return;
    case Rule::kSsn:
      if (!UsSsnValid(text.substr(from, to - from)) || PartOfLongerNumber(text, from, to)) return;
      return Emit(env, type, from, to);
    case Rule::kIpv4:
      return Ipv4(env, type, from, to);
    case Rule::kIpv6Trigger:
      return Ipv6Trigger(env, type, to);
    case Rule::kIcd10:
      return Icd10(env, type, from, to);
    case Rule::kPrivateKey:
      return PrivateKey(env, type, from, to);
    case Rule::kAwsKey:
      return AwsKey(env, type, from, to);
    case Rule::kSecretAssign:
      return SecretValue(env, type, to, true);
    case Rule::kBearer:
      return Bearer(env, type, to);
    case Rule::kApiKey:
    case Rule::kApiKeyChecked:
    case Rule::kJwt:  // need their pattern
    case Rule::kContext:
    case Rule::kCustom:
      return;  // handled by the scanner
  }
}

WindowPatterns::WindowPatterns() {
  RE2::Options options;
  options.set_log_errors(false);
  options.set_case_sensitive(false);
  static constexpr char kMonth[] =
      "(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
      "sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)";
  date = std::make_unique<RE2>(
      std::string(
          R"(\b(?:\d{4}[\-/.]\d{1,2}[\-/.]\d{1,2}|\d{1,2}[\-/.]\d{1,2}[\-/.](?:\d{4}|\d{2}))") +
          R"(|\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?)" + kMonth + R"(\.?,?\s+\d{4})" + "|" + kMonth +
          R"(\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4})\b)",
      options);
  options.set_case_sensitive(true);
  mrn = std::make_unique<RE2>(R"([A-Z]{0,3}\d{5,12}\b)", options);
  ssn_spaced = std::make_unique<RE2>(R"(\b(?:\d{3}[ .\-\t]\d{2}[ .\-\t]\d{4}|\d{9})\b)", options);
}

WindowPatterns::~WindowPatterns() = default;

namespace {

void DateOfBirthWindows(const re2::RE2& re, uint32_t type, RuleEnv& env) {
  const std::string_view text = env.text;
  auto date = [&](std::size_t start, std::size_t end) {
    if (!PartOfLongerNumber(text, start, end) && PlausibleDate(text.substr(start, end - start))) {
      Emit(env, type, start, end);
    }
  };
  for (const Span& k : env.contexts->spans(Context::kBirth)) {
    ForEachMatch(re, text, k.end, UpTo(text, k.end, kBirthBefore + kMaxDate),
                 [&](std::size_t s, std::size_t e) {
                   if (s - k.end <= kBirthBefore) date(s, e);
                 });
    ForEachMatch(re, text, Back(k.start, kBirthAfter + kMaxDate), k.start,
                 [&](std::size_t s, std::size_t e) {
                   if (k.start - e <= kBirthAfter) date(s, e);
                 });
  }
}

void MrnWindows(const re2::RE2& re, uint32_t type, RuleEnv& env) {
  const std::string_view text = env.text;
  for (const Span& k : env.contexts->spans(Context::kMrn)) {
    // "MRN4451234": the number may be glued to the keyword.
    ForEachMatch(re, text, k.end, UpTo(text, k.end, kMrnBefore + kMaxMrn),
                 [&](std::size_t s, std::size_t e) {
                   if (text.substr(s, 3) == "MRN") s += 3;  // the keyword, not the number
                   if (s - k.end <= kMrnBefore && (s == k.end || !IsWord(text[s - 1])) &&
                       !PartOfLongerNumber(text, s, e)) {
                     Emit(env, type, s, e);
                   }
                 });
  }
}

void SpacedSsnWindows(const re2::RE2& re, uint32_t type, RuleEnv& env) {
  const std::string_view text = env.text;
  for (const Span& k : env.contexts->spans(Context::kSsn)) {
    ForEachMatch(re, text, k.end, UpTo(text, k.end, kSsnBefore + 11),
                 [&](std::size_t s, std::size_t e) {
                   std::string_view ssn = text.substr(s, e - s);
                   char dashed[11];
                   if (ssn.size() == 9) {  // "SSN: 536221234": as if written 536-22-1234
                     std::copy_n(ssn.begin(), 3, dashed);
                     dashed[3] = dashed[6] = '-';
                     std::copy_n(ssn.begin() + 3, 2, dashed + 4);
                     std::copy_n(ssn.begin() + 5, 4, dashed + 7);
                     ssn = std::string_view(dashed, 11);
                   }
                   if (s - k.end <= kSsnBefore && UsSsnValidAnySeparators(ssn) &&
                       !PartOfLongerNumber(text, s, e)) {
                     Emit(env, type, s, e);
                   }
                 });
  }
}

}  // namespace

void ContextWindows(const WindowPatterns& patterns, const WindowTypes& types, RuleEnv& env) {
  if (env.contexts->empty()) return;
  if (types.date_of_birth != UINT32_MAX) {
    DateOfBirthWindows(*patterns.date, types.date_of_birth, env);
  }
  if (types.mrn != UINT32_MAX) MrnWindows(*patterns.mrn, types.mrn, env);
  if (types.us_ssn != UINT32_MAX) SpacedSsnWindows(*patterns.ssn_spaced, types.us_ssn, env);
}

}  // namespace hybridgate::sensitivity
