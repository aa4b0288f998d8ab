#include "classify/sensitivity/redactor.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "classify/sensitivity/scanner.h"

namespace hybridgate::sensitivity {
namespace {

const Scanner& DefaultScanner() {
  static const Scanner* scanner = new Scanner(std::move(*Scanner::Create({})));
  return *scanner;
}

TEST(RedactorTest, TypedPlaceholdersNumberedPerTypeAndReused) {
  Redactor r;
  std::string_view texts[] = {"Mail a@b.io or c@d.io, card 4111 1111 1111 1111.",
                              "Again: a@b.io and 5500 0000 0000 0004."};
  Classification c = DefaultScanner().Classify(texts);
  std::vector<std::string> out = r.RedactAll(texts, c);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0], "Mail <EMAIL_1> or <EMAIL_2>, card <CREDIT_CARD_1>.");
  EXPECT_EQ(out[1], "Again: <EMAIL_1> and <CREDIT_CARD_2>.");
  EXPECT_EQ(r.size(), 4u);
  EXPECT_EQ(r.Restore(out[0]), texts[0]);
  EXPECT_EQ(r.Restore(out[1]), texts[1]);
}

TEST(RedactorTest, MinClassKeepsLowerFindings) {
  Redactor r;
  std::string_view text = "a@b.io 4111111111111111";
  auto findings = DefaultScanner().Scan(text);
  EXPECT_EQ(r.Redact(text, findings, 4), "a@b.io <CREDIT_CARD_1>");
}

TEST(RedactorTest, MultibyteTextAroundFindings) {
  Redactor r;
  std::string_view text = "Grüße 🚀 an jürgen@firma.de — danke ✓";
  auto findings = DefaultScanner().Scan(text);
  std::string redacted = r.Redact(text, findings);
  EXPECT_EQ(redacted, "Grüße 🚀 an <EMAIL_1> — danke ✓");
  EXPECT_EQ(r.Restore(redacted), text);
}

TEST(RedactorTest, RestoreLeavesUnknownAndBrokenPlaceholders) {
  Redactor r;
  std::string_view text = "x a@b.io";
  r.Redact(text, DefaultScanner().Scan(text));
  EXPECT_EQ(r.Restore("<EMAIL_2> <EMAIL_1 <EMAIL_1> <<EMAIL_1>> a<b"),
            "<EMAIL_2> <EMAIL_1 a@b.io <a@b.io> a<b");
}

TEST(RedactorTest, SkipsBadFindings) {
  Redactor r;
  std::vector<Finding> findings = {
      {"email", 2, 4, 3, 0}, {"email", 3, 6, 3, 0}, {"email", 5, 99, 3, 0}};
  EXPECT_EQ(r.Redact("abcdefgh", findings), "ab<EMAIL_1>efgh");
}

class StreamRestorerTest : public testing::Test {
 protected:
  void SetUp() override {
    std::string_view text = "to a@b.io and card 4111 1111 1111 1111";
    redacted_ = redactor_.Redact(text, DefaultScanner().Scan(text));
    ASSERT_EQ(redacted_, "to <EMAIL_1> and card <CREDIT_CARD_1>");
    original_ = text;
  }
  std::string FeedAll(const std::vector<std::string_view>& chunks) {
    StreamRestorer s(redactor_);
    std::string out;
    for (std::string_view c : chunks) {
      out += s.Feed(c);
      EXPECT_LT(s.held(), redactor_.max_placeholder_size());
    }
    return out + s.Finish();
  }
  Redactor redactor_;
  std::string redacted_;
  std::string original_;
};

TEST_F(StreamRestorerTest, EverySplitPointOfEveryPlaceholder) {
  for (std::size_t i = 0; i <= redacted_.size(); ++i) {
    std::string_view all = redacted_;
    EXPECT_EQ(FeedAll({all.substr(0, i), all.substr(i)}), original_) << "split at " << i;
  }
}

TEST_F(StreamRestorerTest, EveryPairOfSplitPoints) {
  std::string_view all = redacted_;
  for (std::size_t i = 0; i <= all.size(); ++i) {
    for (std::size_t j = i; j <= all.size(); ++j) {
      EXPECT_EQ(FeedAll({all.substr(0, i), all.substr(i, j - i), all.substr(j)}), original_)
          << i << "," << j;
    }
  }
}

TEST_F(StreamRestorerTest, ByteByByte) {
  std::vector<std::string_view> chunks;
  for (std::size_t i = 0; i < redacted_.size(); ++i) chunks.push_back({redacted_.data() + i, 1});
  EXPECT_EQ(FeedAll(chunks), original_);
}

TEST_F(StreamRestorerTest, HoldsOnlyPossiblePlaceholderPrefixes) {
  StreamRestorer s(redactor_);
  EXPECT_EQ(s.Feed("Hello <"), "Hello ");
  EXPECT_EQ(s.held(), 1u);
  EXPECT_EQ(s.Feed("EMA"), "");
  // "<EMAIL_9" is no placeholder's prefix, so nothing waits for more input.
  EXPECT_EQ(s.Feed("IL_1> and a < b, <b>bold</b> <EMAIL_9"),
            "a@b.io and a < b, <b>bold</b> <EMAIL_9");
  EXPECT_EQ(s.held(), 0u);
  EXPECT_EQ(s.Feed("<CREDIT_CARD_"), "");
  EXPECT_EQ(s.held(), 13u);
  EXPECT_EQ(s.Finish(), "<CREDIT_CARD_");
  EXPECT_EQ(s.Feed("tail"), "tail");
}

TEST_F(StreamRestorerTest, WithoutPlaceholdersNothingIsHeld) {
  Redactor empty;
  StreamRestorer s(empty);
  EXPECT_EQ(s.Feed("a <EMAIL_1"), "a <EMAIL_1");
  EXPECT_EQ(s.Finish(), "");
}

// Originals that are not safe as is inside a JSON string: quotes, backslashes, control bytes, a
// PEM block's newlines.
class JsonRestoreTest : public testing::Test {
 protected:
  void SetUp() override {
    std::string text = std::string(kPassword) + " " + std::string(kPem);
    std::vector<Finding> findings = {{"secret", 0, kPassword.size(), 4, 0},
                                     {"private_key", kPassword.size() + 1, text.size(), 4, 0}};
    ASSERT_EQ(redactor_.Redact(text, findings), "<SECRET_1> <PRIVATE_KEY_1>");
  }
  static constexpr std::string_view kPassword = "p\"a\\ss\tw\x01rd/\u00e9";
  static constexpr std::string_view kPem =
      "-----BEGIN PRIVATE KEY-----\nMIIBVgIBADANBgkqhkiG9w0BAQEFAASCAUAwggE8\n"
      "-----END PRIVATE KEY-----";
  // Arguments as a model writes them, placeholders inside string literals (one escaped quote
  // before a placeholder, to check that it does not end the literal).
  static constexpr std::string_view kArguments =
      R"({"user":"a \"b\" <SECRET_1>","key":"<PRIVATE_KEY_1>","n":1})";

  static void ExpectRoundTrip(std::string_view restored) {
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(restored, ec);
    ASSERT_FALSE(ec) << restored;
    EXPECT_EQ(v.at("user").as_string(), "a \"b\" " + std::string(kPassword));
    EXPECT_EQ(v.at("key").as_string(), kPem);
    EXPECT_EQ(v.at("n").as_int64(), 1);
  }
  Redactor redactor_;
};

TEST_F(JsonRestoreTest, EscapesOriginalsInsideStringLiterals) {
  ExpectRoundTrip(redactor_.Restore(kArguments, RestoreContext::kJson));
  // Plain text gets the originals as they were.
  EXPECT_EQ(redactor_.Restore("pw <SECRET_1>"), "pw " + std::string(kPassword));
}

TEST_F(JsonRestoreTest, OutsideStringLiteralsOriginalsStayAsIs) {
  EXPECT_EQ(redactor_.Restore(R"({"a":"x\\",b:<SECRET_1>})", RestoreContext::kJson),
            R"({"a":"x\\",b:)" + std::string(kPassword) + "}");
}

TEST_F(JsonRestoreTest, StreamedEverySplitPointAndByteByByte) {
  std::string_view all = kArguments;
  for (std::size_t i = 0; i <= all.size(); ++i) {
    StreamRestorer s(redactor_, RestoreContext::kJson);
    std::string out = s.Feed(all.substr(0, i));
    out += s.Feed(all.substr(i));
    SCOPED_TRACE(i);
    ExpectRoundTrip(out + s.Finish());
  }
  StreamRestorer s(redactor_, RestoreContext::kJson);
  std::string out;
  for (char c : all) {
    // What the gateway does with a chunk that cannot hold a placeholder: pass it, keep track.
    if (c != '<' && s.held() == 0) {
      s.Skip(std::string_view(&c, 1));
      out += c;
    } else {
      out += s.Feed(std::string_view(&c, 1));
    }
  }
  ExpectRoundTrip(out + s.Finish());
}

}  // namespace
}  // namespace hybridgate::sensitivity
