#include "classify/sensitivity/scanner.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace hybridgate::sensitivity {
namespace {

using Found = std::vector<std::pair<std::string, std::string>>;  // (type, matched text)

Found FindAll(const Scanner& scanner, std::string_view text) {
  Found out;
  for (const Finding& f : scanner.Scan(text)) {
    EXPECT_LE(f.end, text.size());
    out.emplace_back(f.type, std::string(text.substr(f.start, f.size())));
  }
  return out;
}

const Scanner& DefaultScanner() {
  static const Scanner* scanner = [] {
    auto s = Scanner::Create({});
    EXPECT_TRUE(s) << s.error().message;
    return new Scanner(std::move(*s));
  }();
  return *scanner;
}

struct Case {
  const char* name;
  const char* text;
  Found want;
};

class DetectorTest : public testing::TestWithParam<Case> {};

TEST_P(DetectorTest, Finds) {
  const Case& c = GetParam();
  EXPECT_EQ(FindAll(DefaultScanner(), c.text), c.want) << c.text;
}

// Positives and the hard negatives each detector must leave alone.
const Case kCases[] = {
    {"email", "mail bob.smith@example.com now", {{"email", "bob.smith@example.com"}}},
    {"email_utf8_local", "an müller@firma.de", {{"email", "müller@firma.de"}}},
    {"email_neg_ssh_remote", "git@github.com:org/repo.git", {}},
    {"email_neg_asset", "logo@2x.png", {}},
    {"email_neg_npm", "lodash@4.17.21", {}},
    {"email_neg_noreply", "Co-Authored-By: Claude Opus 5.5 <noreply@anthropic.com>", {}},
    {"email_neg_no_reply", "From: GitHub <no-reply@github.com>", {}},
    {"email_noreply_prefix_is_a_person",
     "write noreply.jane@example.com",
     {{"email", "noreply.jane@example.com"}}},

    {"phone_intl", "call +44 20 7946 0958 now", {{"phone", "+44 20 7946 0958"}}},
    {"phone_intl_parens", "+1 (415) 555-0132", {{"phone", "+1 (415) 555-0132"}}},
    {"phone_nanp", "(555) 123-4567", {{"phone", "(555) 123-4567"}}},
    {"phone_nanp_dots", "at 415.555.0132.", {{"phone", "415.555.0132"}}},
    {"phone_national_ctx", "Tel: 020 7946 0958", {{"phone", "020 7946 0958"}}},
    {"phone_neg_national_no_ctx", "ref 020 7946 0958", {}},
    {"phone_neg_order", "order 5551234567 shipped", {}},
    {"phone_neg_bad_area", "code 123-456-7890", {}},
    {"phone_neg_math", "3+4567890123", {}},

    {"card_spaces", "card 4111 1111 1111 1111.", {{"credit_card", "4111 1111 1111 1111"}}},
    {"card_dashes", "5500-0000-0000-0004", {{"credit_card", "5500-0000-0000-0004"}}},
    {"card_amex", "3782 822463 10005", {{"credit_card", "3782 822463 10005"}}},
    {"card_after_year", "in 2024 4111 1111 1111 1111", {{"credit_card", "4111 1111 1111 1111"}}},
    {"card_two_in_run",
     "4111 1111 1111 1111 5500 0000 0000 0004",
     {{"credit_card", "4111 1111 1111 1111"}, {"credit_card", "5500 0000 0000 0004"}}},
    {"card_neg_luhn", "4111 1111 1111 1112", {}},
    // Separators may mix when the groups are printed like a card's (3..6 digits)...
    {"card_mixed_separators", "4111-1111 1111-1111", {{"credit_card", "4111-1111 1111-1111"}}},
    // ...or with card context; otherwise short groups joined every which way are not a card.
    {"card_neg_mixed_short_groups", "41-11 11.11 11-11 11 11", {}},
    {"card_ctx_mixed_short_groups",
     "card: 41-11 11.11 11-11 11 11",
     {{"credit_card", "41-11 11.11 11-11 11 11"}}},
    {"card_neg_off_brand_no_ctx", "ref 3712345678901234", {}},
    {"card_ctx_off_brand", "Amex card 3712345678901234", {{"credit_card", "3712345678901234"}}},
    {"card_neg_isbn", "ISBN 978-0-306-40615-7", {}},
    {"card_neg_in_longer_run", "id 12345411111111111111", {}},
    // A known brand glued to a word of letters is a card; glued into a hash or an id with
    // digits beyond the letters it is not.
    {"card_glued_to_word", "X4111111111111111", {{"credit_card", "4111111111111111"}}},
    {"card_glued_both_sides", "pay4111111111111111USD now", {{"credit_card", "4111111111111111"}}},
    {"card_neg_glued_hex_letters", "sha deadbeef4111111111111111", {}},
    {"card_neg_glued_in_token", "id 9aX4111111111111111", {}},
    {"card_neg_glued_long_token", "AbcdefghijklmnopqrstuvwxyZ4111111111111111", {}},
    {"card_neg_glued_off_brand", "ref3712345678901234", {}},

    {"iban_spaced",
     "IBAN DE89 3704 0044 0532 0130 00 EUR",
     {{"iban", "DE89 3704 0044 0532 0130 00"}}},
    {"iban_compact", "GB29NWBK60161331926819", {{"iban", "GB29NWBK60161331926819"}}},
    {"iban_neg_checksum", "DE89 3704 0044 0532 0130 01", {}},
    // Glued to words of letters: the country's length decides where it ends.
    {"iban_glued_after", "to DE89370400440532013000USD", {{"iban", "DE89370400440532013000"}}},
    {"iban_glued_before", "IBANDE89370400440532013000 ok", {{"iban", "DE89370400440532013000"}}},
    {"iban_grouped_glued_after",
     "DE89 3704 0044 0532 0130 00EUR",
     {{"iban", "DE89 3704 0044 0532 0130 00"}}},
    {"iban_neg_glued_in_token", "x9DE89370400440532013000", {}},

    {"ssn", "SSN 536-22-1234", {{"us_ssn", "536-22-1234"}}},
    {"ssn_spaced_ctx", "social security 536 22 1234", {{"us_ssn", "536 22 1234"}}},
    {"ssn_neg_spaced_no_ctx", "part 536 22 1234", {}},
    {"ssn_glued_to_words", "SSN123-45-6789USD", {{"us_ssn", "123-45-6789"}}},
    {"ssn_neg_glued_into_number", "x1123-45-6789 and 7-123-45-6789", {}},
    {"ssn_neg_glued_part_number", "part A123-45-6789B in stock", {}},
    {"ssn_glued_after_context", "SSN: 123-45-6789USD", {{"us_ssn", "123-45-6789"}}},
    {"ssn_neg_ranges", "000-12-3456 666-12-3456 912-12-3456 123-00-4567 123-45-0000", {}},

    {"ipv4", "host 10.1.2.3 down", {{"ipv4", "10.1.2.3"}}},
    {"ipv4_cidr", "allow 10.0.0.0/8", {{"ipv4", "10.0.0.0"}}},
    {"ipv4_neg_version", "version 1.2.3.4", {}},
    {"ipv4_neg_version_identifier", "cc_version=2.1.197.123 app_build: 10.2.3.4", {}},
    {"ipv4_neg_oid", "oid 1.3.6.1.4.1", {}},
    {"ipv4_neg_octet", "256.1.1.1", {}},

    {"ipv6", "addr 2001:db8::8a2e:370:7334.", {{"ipv6", "2001:db8::8a2e:370:7334"}}},
    {"ipv6_loopback", "bind ::1 only", {{"ipv6", "::1"}}},
    {"ipv6_neg_mac", "00:1A:2B:3C:4D:5E", {}},
    {"ipv6_neg_time", "at 12:30:45", {}},
    {"ipv6_neg_cpp", "std::vector<int> a::b", {}},
    {"ipv6_neg_iso", "2024-03-05T12:30:45Z", {}},

    {"openai",
     "sk-proj-4fT9kQ2mZ8xW1vB7nR3sL6yH0jD5cE9a",
     {{"api_key", "sk-proj-4fT9kQ2mZ8xW1vB7nR3sL6yH0jD5cE9a"}}},
    {"anthropic",
     "x sk-ant-api03-Zx8Kp2Lm9Qw4Rt7Yu1Io3Pa6Sd5Fg0Hj2K y",
     {{"api_key", "sk-ant-api03-Zx8Kp2Lm9Qw4Rt7Yu1Io3Pa6Sd5Fg0Hj2K"}}},
    {"aws", "AKIAIOSFODNN7EXAMPLE", {{"api_key", "AKIAIOSFODNN7EXAMPLE"}}},
    {"github",
     "ghp_R8x2Kq9LmT4vW7nB3cZ6pH1jD5sF0gY8aE2u",
     {{"api_key", "ghp_R8x2Kq9LmT4vW7nB3cZ6pH1jD5sF0gY8aE2u"}}},
    {"slack", "xoxp-1234567890-abcdefABCDEF", {{"api_key", "xoxp-1234567890-abcdefABCDEF"}}},
    {"google",
     "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY",
     {{"api_key", "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY"}}},
    {"stripe",
     "sk_live_51H8xYzQ2mK9vL4nR7tB1cD3",
     {{"api_key", "sk_live_51H8xYzQ2mK9vL4nR7tB1cD3"}}},
    {"apikey_neg_placeholder", "sk-your-openai-key-goes-here-now", {}},
    {"apikey_neg_low_entropy", "sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", {}},
    {"apikey_neg_aws_short", "AKIA1234", {}},
    // Prefixes no word holds may be glued to a word; upper-case prose glued to AKIA needs a digit.
    {"apikey_glued_openai",
     "mykeysk-proj-abcDEF1234567890abcdefGHIJKL1234",
     {{"api_key", "sk-proj-abcDEF1234567890abcdefGHIJKL1234"}}},
    {"apikey_glued_github",
     "tokenghp_R8x2Kq9LmT4vW7nB3cZ6pH1jD5sF0gY8aE2uUSD",
     {{"api_key", "ghp_R8x2Kq9LmT4vW7nB3cZ6pH1jD5sF0gY8aE2u"}}},
    {"apikey_glued_aws", "KEYAKIAIOSFODNN7EXAMPLEUSD", {{"api_key", "AKIAIOSFODNN7EXAMPLE"}}},
    {"apikey_neg_glued_upper_prose", "EURASIAPACIFICREGIONSUMMARY", {}},
    {"apikey_neg_task_word", "task-abcdefghijklmnopqrstuvwxyz", {}},

    {"pem",
     "k: -----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIB\n-----END EC PRIVATE KEY----- ok",
     {{"private_key", "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIB\n-----END EC PRIVATE KEY-----"}}},
    {"pem_neg_public", "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----", {}},

    {"jwt",
     "t=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abcDEF123_-x end",
     {{"jwt", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abcDEF123_-x"}}},
    {"jwt_neg_one_segment", "eyJhIjoxfQ==", {}},

    {"secret_assign", "DB_PASSWORD=Xk9#mP2vL7qR4!wZ", {{"secret", "Xk9#mP2vL7qR4!wZ"}}},
    {"secret_json",
     R"({"client_secret": "9f8e7d6c5b4a3f2e1d0c"})",
     {{"secret", "9f8e7d6c5b4a3f2e1d0c"}}},
    {"secret_bearer",
     "Authorization: Bearer 8f14e45fceea167a5a36dedd4bea2543",
     {{"secret", "8f14e45fceea167a5a36dedd4bea2543"}}},
    // JSON-escaped values (tool-call arguments): the value runs over its escaped quotes and
    // backslashes, to the quote that closes it at its own level of escaping.
    {"secret_json_escaped_quote",
     R"({"password":"pa\"ss\\W0rd9x","user":"ann"})",
     {{"secret", R"(pa\"ss\\W0rd9x)"}}},
    {"secret_json_escaped_twice",
     R"({"cmd":"login --password=\"Xy7#pa\\\"ss\" --user ann"})",
     {{"secret", R"(Xy7#pa\\\"ss)"}}},
    {"secret_json_in_json",
     R"({"body":"{\"api_key\": \"Q9x\\\"Lm3pT7vR\"}"})",
     {{"secret", R"(Q9x\\\"Lm3pT7vR)"}}},
    {"secret_json_escaped_bare",
     R"({"cmd":"run password=Xy7#q9Lm3\"x"})",
     {{"secret", "Xy7#q9Lm3"}}},
    {"secret_neg_env_ref", "PASSWORD=${DB_PASSWORD}", {}},
    {"secret_neg_angle_placeholder", "password: '<SECRET_1>', token=\"<your-Key-42>\"", {}},
    {"secret_neg_call", "token = get_token(user)", {}},
    {"secret_neg_compare", "if password == other_password_9X: pass", {}},
    {"secret_neg_numbers", "max_tokens=2048", {}},
    {"secret_neg_prose", "the password: must contain a digit", {}},
    // After a password's own name, lower-case letters are a password too, unless they describe
    // the field; after other names (`token`, `secret_name`) they stay names.
    {"secret_lowercase_password", "wifi password: sunshine", {{"secret", "sunshine"}}},
    {"secret_lowercase_bare_secret", "secret: correcthorse", {{"secret", "correcthorse"}}},
    {"secret_neg_lowercase_describes", "password: required, secret: optional", {}},
    {"secret_neg_lowercase_token", "tokenizer: bertbasecased, secret_name: proddbcreds", {}},

    {"dob_before", "born on 14 March 1985", {{"date_of_birth", "14 March 1985"}}},
    {"dob_after", "1962-08-30 (DOB)", {{"date_of_birth", "1962-08-30"}}},
    {"dob_abbrev", "D.O.B. 14.03.1985", {{"date_of_birth", "14.03.1985"}}},
    {"dob_neg_meeting", "meeting on 2024-03-05 at noon", {}},
    {"dob_neg_far", "born in Ohio, moved to Texas in the nineties, and on 2001-09-11 it", {}},

    {"mrn", "MRN: 00452311", {{"medical_record_number", "00452311"}}},
    {"mrn_glued", "MRN4451234", {{"medical_record_number", "4451234"}}},
    {"mrn_neg_order", "order 00452311", {}},

    {"icd10_dotted", "diagnosis E11.9", {{"icd10", "E11.9"}}},
    {"icd10_after", "code J45.909 (dx)", {{"icd10", "J45.909"}}},
    {"icd10_undotted_strong", "Dx: I10", {{"icd10", "I10"}}},
    {"icd10_neg_undotted_weak", "patient vitamin B12 low", {}},
    {"icd10_neg_no_context", "error E11.9 on the panel", {}},

    {"prose", "The quick brown fox jumps over the lazy dog. Version 2.14.3 shipped.", {}},
    {"uuid", "id 550e8400-e29b-41d4-a716-446655440000", {}},
    {"git_sha", "commit 9fceb02d0ae598e95dc970b74767f19372d61af8", {}},
    {"empty", "", {}},
};

INSTANTIATE_TEST_SUITE_P(Detectors, DetectorTest, testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.name); });

// Hyperscan 5.4's AVX-512 VBMI matcher reads past the end of its buffer (VectorCamp/vectorscan
// #322); fuzz_sensitivity crashed on a CPU with VBMI. Texts of every length end right before an
// inaccessible page here: scanned without a crash, with the findings of the same text elsewhere.
TEST(ScannerTest, TextsEndingAtAnInaccessiblePageAreScannedSafely) {
  const long page = sysconf(_SC_PAGESIZE);
  char* region = static_cast<char*>(
      mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(region, MAP_FAILED);
  ASSERT_EQ(mprotect(region + page, page, PROT_NONE), 0);
  const std::string base =
      "Conditio\x95\xdf\x90\x91\xbe\x9e\x9b\x92ission: S72.001A, card 4111 1111 1111 1111, "
      "mail jane.doe@example.com, ssn 123-45-6789, bat cat mat rat fat sat pat hat vat";
  for (size_t n = 1; n <= base.size(); ++n) {
    const std::string_view text(base.data(), n);
    char* at = region + page - n;
    std::memcpy(at, text.data(), n);
    EXPECT_EQ(FindAll(DefaultScanner(), std::string_view(at, n)), FindAll(DefaultScanner(), text))
        << n;
  }
  munmap(region, 2 * page);
}

TEST(ScannerTest, OffsetsAreBytesAfterMultibyteText) {
  // "Ünïcödé ✓ 🚀 " is 22 bytes but 12 code points.
  std::string text = "Ünïcödé ✓ 🚀 mail a@b.io";
  auto findings = DefaultScanner().Scan(text);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].start, text.find("a@b.io"));
  EXPECT_EQ(findings[0].end, text.size());
}

TEST(ScannerTest, OverlapKeepsHigherClassThenMoreSpecific) {
  // The api_key and the secret cover the same bytes: one finding, the more specific type.
  auto found = FindAll(DefaultScanner(), "api_key=sk_live_51H8xYzQ2mK9vL4nR7tB1cD3");
  EXPECT_EQ(found, (Found{{"api_key", "sk_live_51H8xYzQ2mK9vL4nR7tB1cD3"}}));
  // A JWT inside a bearer header stays a JWT.
  found = FindAll(DefaultScanner(), "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abcDEF123_-x");
  EXPECT_EQ(found, (Found{{"jwt", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abcDEF123_-x"}}));
}

TEST(ScannerTest, FindingsSortedAndNonOverlapping) {
  std::string text =
      "a@b.io 4111 1111 1111 1111 +44 20 7946 0958 10.0.0.1 AKIAIOSFODNN7EXAMPLE c@d.io";
  auto findings = DefaultScanner().Scan(text);
  ASSERT_EQ(findings.size(), 6u);
  for (std::size_t i = 1; i < findings.size(); ++i) {
    EXPECT_LE(findings[i - 1].end, findings[i].start);
  }
}

TEST(ScannerTest, ClassifyTakesMaxClassOverTexts) {
  const Scanner& s = DefaultScanner();
  Classification c = s.Classify({"hello", "mail a@b.io", "card 4111111111111111"});
  EXPECT_EQ(c.data_class, 4);
  ASSERT_EQ(c.findings.size(), 2u);
  EXPECT_EQ(c.findings[0].type, "email");
  EXPECT_EQ(c.findings[0].text_index, 1u);
  EXPECT_EQ(c.findings[0].data_class, 3);
  EXPECT_EQ(c.findings[1].text_index, 2u);
  EXPECT_EQ(s.Classify({"nothing here"}).data_class, 1);
  EXPECT_EQ(s.Classify(std::span<const std::string_view>{}).data_class, 1);
}

TEST(ScannerTest, ConfigOverridesFloorAndDisabled) {
  SensitivityConfig config;
  config.class_overrides["email"] = 5;
  config.disabled = {"ipv4"};
  config.floor_class = 2;
  auto s = Scanner::Create(config);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->Classify({"10.0.0.1"}).data_class, 2);
  EXPECT_EQ(s->Classify({"a@b.io"}).data_class, 5);
  EXPECT_EQ(s->ClassOf("email"), 5);
  EXPECT_EQ(s->ClassOf("credit_card"), 4);
}

TEST(ScannerTest, EnabledListRestrictsDetectors) {
  SensitivityConfig config;
  config.enabled = {"credit_card"};
  auto s = Scanner::Create(config);
  ASSERT_TRUE(s);
  EXPECT_EQ(FindAll(*s, "a@b.io 4111111111111111"), (Found{{"credit_card", "4111111111111111"}}));
}

TEST(ScannerTest, EverythingDisabledFindsNothing) {
  SensitivityConfig config;
  for (std::string_view t : BuiltinTypes()) config.disabled.emplace_back(t);
  auto s = Scanner::Create(config);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_TRUE(s->Scan("a@b.io 4111111111111111 born 1985-03-14").empty());
}

// The default detectors plus a custom regex (class 5) and a custom dictionary (class 3).
Result<Scanner> WithCodenameAndCustomers() {
  SensitivityConfig config;
  config.custom_regexes.push_back({"project_codename", R"(\bPROJECT-(?:ALPHA|OMEGA)\b)", 5});
  config.dictionaries.push_back({"customer", {"Acme Corp", "Globex"}, 3});
  return Scanner::Create(config);
}

TEST(ScannerTest, CustomRegexAndDictionary) {
  auto s = WithCodenameAndCustomers();
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(FindAll(*s, "PROJECT-OMEGA for ACME   corp and globex, not Globexx"),
            (Found{{"project_codename", "PROJECT-OMEGA"},
                   {"customer", "ACME   corp"},
                   {"customer", "globex"}}));
  EXPECT_EQ(s->Classify({"PROJECT-ALPHA"}).data_class, 5);
}

TEST(ScannerTest, CustomRegexFallsBackToRe2) {
  SensitivityConfig config;
  // \pL needs Unicode tables that Hyperscan's non-UTF-8 mode rejects; RE2 takes it.
  config.custom_regexes.push_back({"tag", R"(TAG-\pL+)", 4});
  auto s = Scanner::Create(config);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(FindAll(*s, "x TAG-abc y TAG-def"), (Found{{"tag", "TAG-abc"}, {"tag", "TAG-def"}}));
}

TEST(ScannerTest, BadRegexIsAnError) {
  SensitivityConfig config;
  config.custom_regexes.push_back({"broken", "(unclosed", 3});
  auto s = Scanner::Create(config);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("broken"), std::string::npos) << s.error().message;
  config.custom_regexes = {{"empty", "x*", 3}};
  EXPECT_FALSE(Scanner::Create(config));
}

TEST(ScannerTest, ConcurrentScansAgree) {
  const Scanner& s = DefaultScanner();
  std::string text = "mail a@b.io card 4111 1111 1111 1111 ip 10.0.0.1 ";
  for (int i = 0; i < 6; ++i) text += text;
  const auto want = s.Scan(text);
  ASSERT_EQ(want.size(), 3u * 64);
  std::vector<std::thread> threads;
  std::vector<int> ok(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) ok[t] += s.Scan(text) == want;
    });
  }
  for (auto& th : threads) th.join();
  for (int n : ok) EXPECT_EQ(n, 20);
}

TEST(ScannerTest, TwoScannersOnOneThread) {
  SensitivityConfig config;
  config.dictionaries.push_back({"customer", {"Initech"}, 4});
  auto a = Scanner::Create(config);
  ASSERT_TRUE(a);
  const Scanner& b = DefaultScanner();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(a->Classify({"Initech a@b.io"}).data_class, 4);
    EXPECT_EQ(b.Classify({"Initech a@b.io"}).data_class, 3);
  }
}

// What Classify must return: each text scanned on its own, findings tagged with the text's index.
Classification PerText(const Scanner& scanner, const std::vector<std::string_view>& texts,
                       int floor = kClassPublic) {
  Classification want;
  want.data_class = floor;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    for (Finding& f : scanner.Scan(texts[i])) {
      f.text_index = i;
      want.data_class = std::max(want.data_class, f.data_class);
      want.findings.push_back(std::move(f));
    }
  }
  return want;
}

void ExpectSameAsPerText(const Scanner& scanner, const std::vector<std::string_view>& texts) {
  const Classification got = scanner.Classify(texts);
  const Classification want = PerText(scanner, texts);
  std::string shown;
  for (std::string_view t : texts) shown.append("[").append(t).append("]");
  EXPECT_EQ(got.data_class, want.data_class) << shown;
  EXPECT_EQ(got.findings, want.findings) << shown;
}

std::vector<std::string> CorpusTexts() {
  std::ifstream in("testdata/corpus.jsonl");
  std::vector<std::string> out;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.emplace_back(boost::json::parse(line).at("text").as_string().c_str());
  }
  return out;
}

// Several texts are scanned in one Hyperscan call; what each text yields must not change.
TEST(ScannerTest, ClassifyOfSeveralTextsEqualsScanningEach) {
  auto custom = WithCodenameAndCustomers();
  ASSERT_TRUE(custom) << custom.error().message;
  const std::string nul_inside("x\0password=hunter2\0", 19);
  // Pieces that are findings only together, or only apart, at the texts' edges.
  const std::vector<std::vector<std::string_view>> edges = {
      {"password", ": hunter2-secret"},
      {"my password is", "=hunter2secret"},
      {"bob@example", ".com"},
      {"bob", "@example.com"},
      {"4111 1111", "1111 1111"},
      {"4111111111111111", "4111111111111111", "x"},
      {"Acme", "Corp"},
      {"acme corp", "Globex"},
      {"PROJECT-", "OMEGA"},
      {"PROJECT-ALPHA", "PROJECT-OMEGA"},
      {"born", " 1985-03-14"},
      {"date of birth 1985-03-14", ""},
      {"", "", "a@b.io", ""},
      {"sk-proj-", "abcdefghijklmnopqrstuvwxyz0123"},
      {"call +44", "20 7946 0958"},
      {"ssn", "123-45-6789"},
      {"123-45-", "6789"},
      {"-----BEGIN RSA ", "PRIVATE KEY-----"},
      {nul_inside, "token: abcdef1234567890abcdef"},
      {"Bearer", "abcdef1234567890abcdef1234567890"},
  };
  for (const Scanner* s : {&DefaultScanner(), static_cast<const Scanner*>(&*custom)}) {
    for (const auto& texts : edges) ExpectSameAsPerText(*s, texts);
  }
  // The labelled corpus: neighbours as one request, and each text cut into three.
  const std::vector<std::string> corpus = CorpusTexts();
  ASSERT_GT(corpus.size(), 100u);
  for (std::size_t i = 0; i + 2 < corpus.size(); ++i) {
    ExpectSameAsPerText(*custom, {corpus[i], corpus[i + 1], corpus[i + 2]});
    const std::string_view t = corpus[i];
    const std::size_t a = t.size() / 3, b = t.size() * 2 / 3;
    ExpectSameAsPerText(*custom, {t.substr(0, a), t.substr(a, b - a), t.substr(b)});
  }
}

// A custom regex anchored on its text's start or end still sees every text's own edges.
TEST(ScannerTest, AnchoredCustomRegexSeesEachTextsEdges) {
  SensitivityConfig config;
  config.custom_regexes.push_back({"leading", R"(^CONFIDENTIAL\b)", 5});
  config.custom_regexes.push_back({"trailing", R"(\bEYES ONLY$)", 5});
  auto s = Scanner::Create(config);
  ASSERT_TRUE(s) << s.error().message;
  const Classification c = s->Classify({"hello", "CONFIDENTIAL plan", "for your EYES ONLY", "x"});
  ASSERT_EQ(c.findings.size(), 2u);
  EXPECT_EQ(c.findings[0].type, "leading");
  EXPECT_EQ(c.findings[0].text_index, 1u);
  EXPECT_EQ(c.findings[1].type, "trailing");
  EXPECT_EQ(c.findings[1].text_index, 2u);
  EXPECT_EQ(c.data_class, 5);
}

// A match across two texts is not a finding, and must not hide the one inside the second text
// (Hyperscan reports one start per end: the leftmost, which here lies in the first text).
TEST(ScannerTest, MatchAcrossTextsNeitherCountsNorHidesOneInside) {
  SensitivityConfig config;
  config.custom_regexes.push_back({"ab", R"(a[^z]{0,5}b)", 4});
  auto s = Scanner::Create(config);
  ASSERT_TRUE(s) << s.error().message;
  Classification c = s->Classify({"xa", "ab"});
  ASSERT_EQ(c.findings.size(), 1u);
  EXPECT_EQ(c.findings[0].text_index, 1u);
  EXPECT_EQ(c.findings[0].start, 0u);
  EXPECT_EQ(c.findings[0].end, 2u);
  EXPECT_EQ(s->Classify({"xa", "b"}).findings.size(), 0u);
  EXPECT_EQ(s->Classify({"xa", "b"}).data_class, kClassPublic);
}

TEST(ScannerTest, LongDigitRunsStayLinear) {
  std::string text(200000, '7');
  text += " 4111 1111 1111 1111";
  auto found = FindAll(DefaultScanner(), text);
  EXPECT_EQ(found, (Found{{"credit_card", "4111 1111 1111 1111"}}));
}

}  // namespace
}  // namespace hybridgate::sensitivity
