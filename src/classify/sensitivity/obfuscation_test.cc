// Values written to slip past ASCII detectors: other separators, full-width or other scripts'
// digits, zero-width and bidi characters inside, no-break spaces, Unicode dashes, lower case.
// Each must be found with its type, and the finding must cover exactly the bytes planted in the
// caller's text (redaction replaces those bytes), through Scan and through Classify.
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "classify/sensitivity/scanner.h"

namespace hybridgate::sensitivity {
namespace {

const Scanner& DefaultScanner() {
  static const Scanner* scanner = [] {
    auto s = Scanner::Create({});
    EXPECT_TRUE(s) << s.error().message;
    return new Scanner(std::move(*s));
  }();
  return *scanner;
}

std::string Utf8(char32_t c) {
  std::string out;
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
  return out;
}

// Every ASCII digit written in the script whose zero is `zero`.
std::string Digits(std::string_view s, char32_t zero) {
  std::string out;
  for (char c : s)
    out += c >= '0' && c <= '9' ? Utf8(zero + static_cast<char32_t>(c - '0')) : std::string(1, c);
  return out;
}

// Full-width forms of every printable ASCII byte but the space.
std::string FullWidth(std::string_view s) {
  std::string out;
  for (char c : s)
    out += c > ' ' && c <= '~' ? Utf8(static_cast<char32_t>(c) + 0xFEE0) : std::string(1, c);
  return out;
}

std::string Replace(std::string_view s, char from, std::string_view to) {
  std::string out;
  for (char c : s) {
    if (c == from) {
      out += to;
    } else {
      out += c;
    }
  }
  return out;
}

// `ins` after every `n` bytes of an ASCII `s`, never at its ends.
std::string Every(std::string_view s, std::size_t n, std::string_view ins) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i > 0 && i % n == 0) out += ins;
    out += s[i];
  }
  return out;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = c >= 'A' && c <= 'Z' ? static_cast<char>(c | 0x20) : c;
  return out;
}

const std::string kZwsp = Utf8(0x200B), kZwj = Utf8(0x200D), kWordJoiner = Utf8(0x2060),
                  kBom = Utf8(0xFEFF), kSoftHyphen = Utf8(0x00AD), kRlo = Utf8(0x202E),
                  kNbsp = Utf8(0x00A0), kNarrowNbsp = Utf8(0x202F), kIdeoSpace = Utf8(0x3000),
                  kHyphen = Utf8(0x2010), kNbHyphen = Utf8(0x2011), kEnDash = Utf8(0x2013),
                  kEmDash = Utf8(0x2014), kMinus = Utf8(0x2212), kFwHyphen = Utf8(0xFF0D);
constexpr char32_t kFullWidthZero = 0xFF10, kArabicZero = 0x0660, kPersianZero = 0x06F0,
                   kDevanagariZero = 0x0966, kBengaliZero = 0x09E6, kThaiZero = 0x0E50;

struct Planted {
  std::string name;
  std::string type;
  std::string before;
  std::string value;  // exactly what the finding must cover
  std::string after;
};

std::vector<Planted> Cases() {
  std::vector<Planted> c;
  // Payment cards: separators of each kind, runs of them, mixed; look-alike digits; invisible
  // characters; card context for numbers outside the brand table.
  const std::string visa = "4111 1111 1111 1111";
  auto card = [&](std::string name, std::string value) {
    c.push_back({"card_" + name, "credit_card", "charge ", std::move(value), " today"});
  };
  card("space", visa);
  card("dash", Replace(visa, ' ', "-"));
  card("dot", Replace(visa, ' ', "."));
  card("slash", Replace(visa, ' ', "/"));
  card("tab", Replace(visa, ' ', "\t"));
  card("lf", Replace(visa, ' ', "\n"));
  card("crlf", Replace(visa, ' ', "\r\n"));
  card("spaced_dash", Replace(visa, ' ', " - "));
  card("double_space", Replace(visa, ' ', "  "));
  card("mixed", "4111 1111-1111.1111");
  card("nbsp", Replace(visa, ' ', kNbsp));
  card("narrow_nbsp", Replace(visa, ' ', kNarrowNbsp));
  card("ideographic_space", Replace(visa, ' ', kIdeoSpace));
  card("en_dash", Replace(visa, ' ', kEnDash));
  card("minus", Replace(visa, ' ', kMinus));
  card("nb_hyphen", Replace(visa, ' ', kNbHyphen));
  card("fullwidth_digits", Digits(visa, kFullWidthZero));
  card("fullwidth_all", FullWidth("4111-1111-1111-1111"));
  card("arabic_digits", Digits(visa, kArabicZero));
  card("persian_digits", Digits("4111111111111111", kPersianZero));
  card("devanagari_digits", Digits(visa, kDevanagariZero));
  card("bengali_digits", Digits(visa, kBengaliZero));
  card("thai_digits", Digits(visa, kThaiZero));
  card("zwsp_inside", Every("4111111111111111", 4, kZwsp));
  card("zwj_every_digit", Every("4111111111111111", 1, kZwj));
  card("word_joiner", Every("4111111111111111", 3, kWordJoiner));
  card("bom_inside", Every("4111111111111111", 8, kBom));
  card("soft_hyphen", Every("4111111111111111", 4, kSoftHyphen));
  card("bidi_override", Every("4111111111111111", 4, kRlo));
  card("zwsp_and_nbsp", "4111" + kZwsp + kNbsp + "1111 1111" + kZwsp + " 1111");
  card("amex_dots", "3782.822463.10005");
  card("mastercard_slash", "5555/5555/5555/4444");
  c.push_back(
      {"card_context_off_brand", "credit_card", "card number: ", "3712 3456 7890 1234", ""});
  c.push_back(
      {"card_context_unknown_iin", "credit_card", "Visa ", "9123-4567-8901-2348", " exp 04/27"});
  c.push_back(
      {"card_context_after", "credit_card", "charge ", "3712345678901234", " to the card on file"});
  c.push_back({"card_context_cvv", "credit_card", "", "88.0012.3456.7890.1232", " CVV 123"});
  c.push_back({"card_context_german", "credit_card", "Kartennummer ", "3712 3456 7890 1234", ""});
  c.push_back(
      {"card_context_french", "credit_card", "num\xc3\xa9ro de carte ", "3712-3456-7890-1234", ""});
  c.push_back({"card_context_spanish", "credit_card", "n\xc3\xbamero de tarjeta ",
               "3712.3456.7890.1234", ""});
  c.push_back({"card_context_camel", "credit_card", "userCardNumber=", "3712345678901234", ""});
  c.push_back({"card_context_fullwidth", "credit_card", "debit card ",
               Digits("3712 3456 7890 1234", kFullWidthZero), ""});
  // Field and list delimiters between the groups, one and the same throughout.
  card("underscore", Replace(visa, ' ', "_"));
  card("comma", Replace(visa, ' ', ","));
  card("pipe", Replace(visa, ' ', "|"));
  card("spaced_pipe", Replace(visa, ' ', " | "));
  card("colon", Replace(visa, ' ', ":"));
  card("semicolon", Replace(visa, ' ', ";"));
  card("plus", Replace(visa, ' ', "+"));
  card("star", Replace(visa, ' ', "*"));
  c.push_back(
      {"card_context_mixed_delimiters", "credit_card", "card: ", "3712_3456,7890|1234", ""});
  // Glued to letters: the letters are card context themselves.
  c.push_back({"card_glued_both", "credit_card", "card", "4111111111111111", "exp 04/27"});
  c.push_back({"card_glued_camel", "credit_card", "userCard", "3712345678901234", ""});
  c.push_back(
      {"card_glued_after_context", "credit_card", "credit card no. X", "4111111111111111", ""});
  // Digits in other forms: circled, parenthesized, superscript, subscript, keycaps, and
  // combining marks on ASCII digits.
  auto each = [](std::string_view digits, auto&& form) {
    std::string out;
    for (char d : digits) out += form(d);
    return out;
  };
  card("circled", each("4111111111111111", [](char d) {
         return d == '0' ? Utf8(0x24EA) : Utf8(0x2460 + static_cast<char32_t>(d - '1'));
       }));
  card("dingbat_circled", each("5555555555554444", [](char d) {
         return d == '0' ? Utf8(0x1F10B) : Utf8(0x2776 + static_cast<char32_t>(d - '1'));
       }));
  card("superscript", each("4111111111111111", [](char d) {
         static const char32_t kSup[] = {0x2070, 0xB9,   0xB2,   0xB3,   0x2074,
                                         0x2075, 0x2076, 0x2077, 0x2078, 0x2079};
         return Utf8(kSup[d - '0']);
       }));
  card("subscript", each("4111111111111111",
                         [](char d) { return Utf8(0x2080 + static_cast<char32_t>(d - '0')); }));
  card("keycaps", each("4111111111111111",
                       [](char d) { return std::string(1, d) + Utf8(0xFE0F) + Utf8(0x20E3); }));
  card("combining_underline",
       each("4111111111111111", [](char d) { return std::string(1, d) + Utf8(0x0332); }));
  card("combining_mixed", "4" + Utf8(0x0301) + "111 1111 " + Utf8(0x2460) + Utf8(0x0332) + "111 1" +
                              Utf8(0xFE0F) + "111");
  // Split over two strings of a request, which reach the scanner a line each (body_strings.h).
  c.push_back({"card_split_lines", "credit_card", "content: my card is ",
               "4111 1111\nrole: user\ncontent: 1111 1111", "\n"});
  c.push_back({"card_split_fields_off_brand", "credit_card",
               "card_number_1: ", "3712 3456\ncard_number_two: 7890 1234", "\n"});
  c.push_back({"card_split_crlf", "credit_card", "Visa ", "4111 1111 \r\n 1111 1111", ""});

  // IBAN: either case, spaces or dashes, look-alikes.
  const std::string iban = "DE89 3704 0044 0532 0130 00";
  auto add_iban = [&](std::string name, std::string value) {
    c.push_back({"iban_" + name, "iban", "pay to ", std::move(value), " please"});
  };
  add_iban("spaced", iban);
  add_iban("lower", Lower(iban));
  add_iban("lower_compact", "de89370400440532013000");
  add_iban("dashed", Replace(iban, ' ', "-"));
  add_iban("lower_dashed", Lower(Replace(iban, ' ', "-")));
  add_iban("mixed_case", "De89 3704 0044 0532 0130 00");
  add_iban("dotted", Replace(iban, ' ', "."));
  add_iban("line_broken", Replace(iban, ' ', "\n"));
  add_iban("crlf_broken", Replace(iban, ' ', "\r\n"));
  add_iban("gb_lower", "gb29 nwbk 6016 1331 9268 19");
  add_iban("nbsp", Replace(iban, ' ', kNbsp));
  add_iban("en_dash", Replace(iban, ' ', kEnDash));
  add_iban("fullwidth", FullWidth(iban));
  add_iban("arabic_digits", Digits(iban, kArabicZero));
  add_iban("zwsp_inside", Every("DE89370400440532013000", 4, kZwsp));

  // Encoded: base64, hex and percent-encoding; the finding covers the encoded bytes.
  c.push_back({"card_base64", "credit_card", "data: ", "NDExMTExMTExMTExMTExMQ==", " ok"});
  c.push_back(
      {"card_base64_spaced", "credit_card", "payload ", "NDExMSAxMTExIDExMTEgMTExMQ==", " end"});
  c.push_back({"card_hex", "credit_card", "blob ", "34313131313131313131313131313131", ""});
  c.push_back({"card_percent", "credit_card",
               "/pay?n=", "%34%31%31%31%31%31%31%31%31%31%31%31%31%31%31%31", "&ok=1"});
  c.push_back({"email_percent", "email", "https://example.com/?to=", "maria%40northwind-legal.com",
               "&ref=abc"});

  // US SSN: dashes (and Unicode dashes) and dots without context; spaces and mixed after SSN.
  auto ssn = [&](std::string name, std::string before, std::string value) {
    c.push_back({"ssn_" + name, "us_ssn", std::move(before), std::move(value), " on file"});
  };
  ssn("dashed", "id ", "536-22-1234");
  ssn("dotted", "id ", "536.22.1234");
  ssn("hyphen", "id ", "536" + kHyphen + "22" + kHyphen + "1234");
  ssn("nb_hyphen", "id ", "536" + kNbHyphen + "22" + kNbHyphen + "1234");
  ssn("en_dash", "id ", "536" + kEnDash + "22" + kEnDash + "1234");
  ssn("em_dash", "id ", "536" + kEmDash + "22" + kEmDash + "1234");
  ssn("minus", "id ", "536" + kMinus + "22" + kMinus + "1234");
  ssn("fullwidth_hyphen", "id ", "536" + kFwHyphen + "22" + kFwHyphen + "1234");
  ssn("fullwidth_digits", "id ", Digits("536-22-1234", kFullWidthZero));
  ssn("devanagari_digits", "id ", Digits("536-22-1234", kDevanagariZero));
  ssn("zwsp_inside", "id ", "53" + kZwsp + "6-22-12" + kZwsp + "34");
  ssn("spaced_context", "SSN: ", "536 22 1234");
  ssn("nbsp_context", "social security ", "536" + kNbsp + "22" + kNbsp + "1234");
  ssn("mixed_context", "ssn ", "536 22-1234");
  ssn("dotted_context", "SSN#", "536.22.1234");
  ssn("bare_context", "SSN: ", "536221234");
  ssn("bare_social_security", "social security number ", "536221234");

  // E-mail.
  auto email = [&](std::string name, std::string value) {
    c.push_back({"email_" + name, "email", "write to ", std::move(value), " today"});
  };
  email("fullwidth_at", "maria.gonzalez" + Utf8(0xFF20) + "northwind-legal.com");
  email("small_at", "maria.gonzalez" + Utf8(0xFE6B) + "northwind-legal.com");
  email("zwsp_local", "maria.gon" + kZwsp + "zalez@northwind-legal.com");
  email("zwsp_domain", "maria@north" + kZwsp + "wind-legal.com");
  email("soft_hyphen_domain", "maria@north" + kSoftHyphen + "wind-legal.com");
  email("fullwidth_all", FullWidth("bob.smith@example.com"));
  email("fullwidth_dot", "bob.smith@example" + Utf8(0xFF0E) + "com");
  email("spaced_at", "bob.smith @ example.com");
  email("space_before_at", "bob.smith @example.com");
  email("idn_domain",
        "user@b\xc3\xbc"
        "cher.de");
  email("idn_subdomain",
        "jan@mail.b\xc3\xbc"
        "cher.de");
  email("idn_all", "\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a");
  email("idn_cyrillic",
        "\xd0\xb8\xd0\xb2\xd0\xb0\xd0\xbd@\xd0\xbf\xd1\x80\xd0\xb8\xd0\xbc\xd0\xb5\xd1\x80."
        "\xd1\x80\xd1\x84");

  // Phones.
  auto phone = [&](std::string name, std::string value) {
    c.push_back({"phone_" + name, "phone", "call ", std::move(value), " now"});
  };
  phone("intl_nbsp", Replace("+44 20 7946 0958", ' ', kNbsp));
  phone("intl_fullwidth", FullWidth("+44 20 7946 0958"));
  phone("intl_zwsp", "+44 20 79" + kZwsp + "46 0958");
  phone("nanp_en_dash", "415" + kEnDash + "555" + kEnDash + "0132");
  phone("nanp_nb_hyphen", "(415) 555" + kNbHyphen + "0132");
  phone("nanp_arabic", Digits("415-555-0132", kArabicZero));
  phone("nanp_dots_fullwidth", Digits("415.555.0132", kFullWidthZero));
  phone("intl_compact", "+4915112345678");  // a 13-digit Visa-shaped number after '+'
  phone("intl_00_prefix", "0049 151 12345678");
  phone("intl_00_compact", "004915112345678");

  // Network addresses.
  auto ip = [&](std::string name, std::string type, std::string value) {
    c.push_back({"ip_" + name, std::move(type), "host ", std::move(value), " is down"});
  };
  ip("v4_fullwidth_digits", "ipv4", Digits("10.20.30.40", kFullWidthZero));
  ip("v4_fullwidth_all", "ipv4", FullWidth("10.20.30.40"));
  ip("v4_zwsp", "ipv4", "10.2" + kZwsp + "0.30.40");
  ip("v4_thai", "ipv4", Digits("192.168.1.20", kThaiZero));
  ip("v6_zwsp", "ipv6", "2001:db8:" + kZwsp + ":8a2e:370:7334");
  ip("v6_fullwidth", "ipv6", FullWidth("2001:db8::8a2e:370:7334"));

  // Credentials.
  auto cred = [&](std::string name, std::string type, std::string before, std::string value,
                  std::string after = " end") {
    c.push_back(
        {"cred_" + name, std::move(type), std::move(before), std::move(value), std::move(after)});
  };
  cred("aws_lower", "api_key", "key ", "akiaiosfodnn7example");
  cred("aws_mixed", "api_key", "key ", "AkiaIOSFODNN7EXAMPLE");
  cred("aws_zwsp", "api_key", "key ", "AKIA" + kZwsp + "IOSFODNN7EXAMPLE");
  cred("aws_fullwidth", "api_key", "key ", FullWidth("AKIAIOSFODNN7EXAMPLE"));
  cred("asia_lower", "api_key", "key ", "asia4kdx7q2mzp3ld9vb");
  cred("openai_zwsp", "api_key", "key ", "sk-proj-" + kZwsp + "Xk3mP9qL2vR7sT4wY8zB1nC6");
  cred("github_zwj", "api_key", "token ", "ghp_" + kZwj + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5");

  // Glued to a word, plainly or through an invisible character: dropping the character joins
  // the value to the word, keeping it as a space splits values it hides inside; both are read.
  struct Glued {
    std::string name;
    std::string type;
    std::string value;
    bool after;  // may be glued after too (a value of fixed length, not one that extends)
    bool plain;  // found glued plainly too, not only through an invisible character
  };
  const Glued glued[] = {
      {"card", "credit_card", "4111111111111111", true, true},
      {"iban", "iban", "DE89370400440532013000", true, true},
      {"ssn", "us_ssn", "536-22-1234", true, false},  // plainly glued: after SSN context only
      {"openai", "api_key", "sk-proj-Xk3mP9qL2vR7sT4wY8zB1nC6", false, true},
      {"github", "api_key", "ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5", true, true},
      {"aws", "api_key", "AKIAIOSFODNN7EXAMPLE", true, true},
  };
  c.push_back({"glued_ssn_context", "us_ssn", "SSN", "536-22-1234", "USD on file"});
  const std::pair<std::string, std::string> joiners[] = {
      {"plain", ""}, {"zwsp", kZwsp}, {"word_joiner", kWordJoiner}, {"bom", kBom}, {"rlo", kRlo}};
  for (const Glued& g : glued) {
    for (const auto& [name, joiner] : joiners) {
      if (joiner.empty() && !g.plain) continue;
      const std::string id = "glued_" + g.name + "_" + name;
      c.push_back({id + "_before", g.type, "pay with" + joiner, g.value, " now"});
      if (g.after) c.push_back({id + "_after", g.type, "pay ", g.value, joiner + "USD now"});
    }
  }
  const std::string body = "MIIEowIBAAKCAQEA7Zq3kP9mXw2LrT5vN8sY4bQ1cJ6hF0gD3eK7aU2iO9pW";
  cred("pem_lf", "private_key", "key:\n",
       "-----BEGIN RSA PRIVATE KEY-----\n" + body + "\n-----END RSA PRIVATE KEY-----");
  cred("pem_lower", "private_key", "key:\n",
       "-----begin rsa private key-----\n" + body + "\n-----end rsa private key-----");
  cred("pem_crlf", "private_key", "key:\r\n",
       "-----BEGIN PRIVATE KEY-----\r\n" + body + "\r\n-----END PRIVATE KEY-----");
  cred("pem_escaped", "private_key", "\"key\": \"",
       "-----BEGIN OPENSSH PRIVATE KEY-----\\n" + body + "\\n-----END OPENSSH PRIVATE KEY-----",
       "\"");
  cred("pem_escaped_truncated", "private_key", "\"key\": \"",
       "-----BEGIN EC PRIVATE KEY-----\\n" + body + "\\n" + body, "\\n\"");
  cred("pem_mixed_case_truncated", "private_key", "",
       "-----Begin Private Key-----\n" + body + "\n" + body, "\n");
  cred("jwt_zwsp", "jwt", "Authorization: ",
       "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0." + kZwsp +
           "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U");
  cred("secret_zwsp", "secret", "password=", "Tr0ub4" + kZwsp + "dor&3xyZ", " ");
  cred("secret_fullwidth_assign", "secret", "password" + Utf8(0xFF1D), "Tr0ub4dor&3xyZ", " ");
  cred("secret_prose", "secret", "my password is ", "Hunter2024!x", ", don't share it");
  cred("secret_prose_capital", "secret", "The Password is \"", "S3cr3t-Pa55", "\".");
  cred("secret_pwd", "secret", "pwd: ", "Xk9#mP2vL7", "");
  cred("secret_passwort", "secret", "Passwort: ", "Xk9#mP2vL7", "");
  cred("secret_mot_de_passe", "secret", "mot de passe: ", "Xk9#mP2vL7", "");
  cred("secret_contrasena", "secret",
       "contrase\xc3\xb1"
       "a: ",
       "Xk9#mP2vL7", "");
  cred("secret_kennwort_assign", "secret", "KENNWORT=", "Xk9#mP2vL7", "");
  cred("aws_secret_env", "api_key",
       "aws_secret_access_key = ", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "\n");
  cred("aws_secret_json", "api_key", "\"SecretAccessKey\": \"",
       "9drTJvcXLB89EXAMPLELB8923FB892xMFI/2BFgh", "\"");
  cred("openai_legacy", "api_key", "key ", "sk-abcdefghij1234567890T3BlbkFJabcdefghij1234567890");
  cred("openai_legacy_no_prefix", "api_key", "key ",
       "Zx8Kp2Lm9Qw4Rt7Yu1IoT3BlbkFJ3Pa6Sd5Fg0Hj2KqW7eR1tY");
  const std::string pem_body = body + "\n" + body + "\n" + body + "\n" + body;
  cred("pem_no_begin", "private_key", "rest of the key:\n",
       pem_body.substr(20) + "\n-----END RSA PRIVATE KEY-----", "\n");
  cred("pem_der_body", "private_key", "key body:\n", pem_body, "\n");
  cred("pem_der_body_escaped", "private_key", "\"key\": \"\\n",
       body + "\\n" + body + "\\n" + body + "\\n" + body, "\\n\"");
  cred("aws_key_base64", "api_key", "creds ", "QUtJQUlPU0ZPRE5ON0VYQU1QTEU=", " ok");

  // Health and identity data.
  c.push_back({"dob_fullwidth", "date_of_birth", "born ", Digits("14.03.1985", kFullWidthZero),
               " in Lyon"});
  c.push_back(
      {"dob_en_dash", "date_of_birth", "DOB: ", "1985" + kEnDash + "03" + kEnDash + "14", ""});
  c.push_back(
      {"mrn_fullwidth", "medical_record_number", "MRN: ", Digits("4451234", kFullWidthZero), ""});
  c.push_back({"icd10_fullwidth", "icd10", "diagnosis ", FullWidth("E11.9"), " noted"});
  return c;
}

class ObfuscationTest : public testing::TestWithParam<Planted> {};

std::string Describe(std::string_view text, const std::vector<Finding>& findings) {
  std::string out;
  for (const Finding& f : findings) {
    out += "  " + f.type + " [" + std::string(text.substr(f.start, f.size())) + "]\n";
  }
  return out.empty() ? "  (none)\n" : out;
}

TEST_P(ObfuscationTest, FoundOverThePlantedBytes) {
  const Planted& p = GetParam();
  const std::string text = p.before + p.value + p.after;
  const std::vector<Finding> findings = DefaultScanner().Scan(text);
  bool found = false;
  for (const Finding& f : findings) {
    ASSERT_LE(f.end, text.size());
    found |= f.type == p.type && text.substr(f.start, f.size()) == p.value;
  }
  EXPECT_TRUE(found) << "want " << p.type << " [" << p.value << "] in [" << text << "], got\n"
                     << Describe(text, findings);

  // Classify (texts joined into one Hyperscan call) reports the same, in the text's own bytes.
  const std::string other = "An ordinary message with nothing in it.";
  std::vector<std::string_view> texts = {other, text};
  Classification c = DefaultScanner().Classify(texts);
  std::vector<Finding> want = findings;
  for (Finding& f : want) f.text_index = 1;
  EXPECT_EQ(c.findings, want);
}

INSTANTIATE_TEST_SUITE_P(Planted, ObfuscationTest, testing::ValuesIn(Cases()),
                         [](const testing::TestParamInfo<Planted>& info) {
                           return info.param.name;
                         });

// What the widened rules must still leave alone.
struct Clean {
  const char* name;
  std::string text;
};

class ObfuscationNegativeTest : public testing::TestWithParam<Clean> {};

TEST_P(ObfuscationNegativeTest, NothingFound) {
  const std::string& text = GetParam().text;
  const std::vector<Finding> findings = DefaultScanner().Scan(text);
  EXPECT_TRUE(findings.empty()) << "[" << text << "] gave\n" << Describe(text, findings);
}

INSTANTIATE_TEST_SUITE_P(
    Clean, ObfuscationNegativeTest,
    testing::Values(
        Clean{"claude_code_version",
              "x-anthropic-billing-header: cc_version=2.1.197.123; cc_entrypoint=cli"},
        Clean{"app_build", "app_build: 10.2.3.4"}, Clean{"fw_rev", "fw-rev 1.2.3.4 flashed"},
        Clean{"camel_version", "appVersion=4.1.0.12"},
        Clean{"json_version", "{\"version\": \"1.2.3.4\"}"},
        Clean{"user_agent", "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0.0.0 Safari/537.36"},
        Clean{"off_brand_luhn_no_context", "order 3712345678901234 shipped"},
        Clean{"context_but_not_luhn", "card number 3712 3456 7890 1235"},
        Clean{"dotted_decimals", "scores 4.5 3.2 1.1 2.2 3.3 4.4 5.5 6.6 were logged"},
        Clean{"asia_word", "asiapacificregionsxy and ASIAPACIFICREGIONS"},
        Clean{"lower_hex_not_iban", "commit de12f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0"},
        Clean{"fullwidth_prose",
              "\xef\xbc\xa8\xef\xbd\x85\xef\xbd\x8c\xef\xbd\x8c\xef\xbd\x8f world"},
        Clean{"em_dash_prose", "The release \xe2\x80\x94 due in Q3 \xe2\x80\x94 ships 3 features."},
        Clean{"arabic_year", "\xd9\xa2\xd9\xa0\xd9\xa2\xd9\xa4 was a good year"},
        Clean{"ssn_spaced_no_context", "room 536 22 1234"},
        Clean{"ssn_invalid_area", "id 900.22.1234"},
        Clean{"ssn_bare_no_context", "employee 536221234 joined"},
        Clean{"ports_list", "ports 5432,6432,8080,9090,9200 are open"},
        Clean{"csv_row", "2024-05-12,4111,1111,1111,1111,ok"},
        Clean{"times", "at 12:30:45:123 and 10:20:30"},
        Clean{"glued_hash", "hash ab4111111111111111cdef9"},
        Clean{"phone_like_order", "order +4111111111111111"},
        Clean{"national_00_no_context", "part 0049 151 12345678 shipped"},
        Clean{"mention", "thanks @jane.doe and @john.smith for the review"},
        Clean{"sign_up_at", "sign up @ example.com or visit @ acme.com"},
        Clean{"password_prose_words", "the password is required and the password is Incorrect."},
        Clean{"pwd_shell", "$ pwd\n/home/ann\nPWD=/srv/app"},
        Clean{"pem_end_in_prose", "the file must end with\n-----END RSA PRIVATE KEY-----"},
        Clean{"git_sha", "commit 28ab33a3339762a9ac12a43128679b7706ab6151 and 9fceb02d0ae598e9"},
        Clean{"uuid_upper", "tenant 772E8B91-AEA2-495C-8276-9EF7F0551683"},
        Clean{"base64_random",
              "nonce=q2Vx9fK3Lm8PzR4tY7uW1aBcDeFgHiJk and sig "
              "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg="},
        Clean{"base64_text", "note: SGVsbG8sIHRoaXMgaXMgYSBub3JtYWwgc2VudGVuY2Uu"},
        Clean{"jwt_header_only", "header eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9 only"},
        Clean{"percent_url", "https://example.com/search?q=hello%20world%21&lang=en"},
        Clean{
            "certificate_body",
            "MIIDdzCCAl+"
            "gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBaMQswCQYDVQQGEwJJRTESMBAGA1UEChMJQmFsdGlt"
            "b3JlMRMwEQYDVQQLEwpDeWJlclRydXN0MSIwIAYDVQQDExlCYWx0aW1vcmUgQ3liZXJUcnVzdCBSb290MB4XDT"
            "Aw"
            "MDUxMjE4NDYwMFoXDTI1MDUxMjIzNTkwMFowWjELMAkGA1UEBhMCSUUxEjAQBgNVBAoTCUJhbHRpbW9yZTET"},
        Clean{"superscript_units", "area 12 km\xc2\xb2, volume 3 m\xc2\xb3, 10\xe2\x81\xb6 rows"},
        Clean{"keycap_emoji_prose",
              "step 1\xef\xb8\x8f\xe2\x83\xa3 then 2\xef\xb8\x8f\xe2\x83\xa3"}),
    [](const testing::TestParamInfo<Clean>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace hybridgate::sensitivity
