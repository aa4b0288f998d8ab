#include "classify/body_strings.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

namespace hybridgate::classify {
namespace {

// Whether `text` is one of the collected strings (a line of the one text).
bool Has(const BodyStrings& b, std::string_view text) {
  if (b.texts.empty()) return false;
  const std::string all = "\n" + std::string(b.texts[0]);
  return all.find("\n" + std::string(text) + "\n") != std::string::npos;
}

int Count(const BodyStrings& b, std::string_view text) {
  if (b.texts.empty()) return 0;
  const std::string all = "\n" + std::string(b.texts[0]);
  const std::string line = "\n" + std::string(text) + "\n";
  int n = 0;
  for (size_t at = all.find(line); at != std::string::npos; at = all.find(line, at + 1)) ++n;
  return n;
}

TEST(BodyStringsTest, EveryKeyAndValueAtAnyDepthUnescaped) {
  BodyStrings b;
  ASSERT_TRUE(CollectBodyStrings(
      R"({"model":"gpt-4o","user":"\u0034111 1111","x-new-field":{"deep":[{"k\u00e9y":"v"}]},)"
      R"("n":5,"b":true,"z":null})",
      b));
  EXPECT_TRUE(Has(b, "model: gpt-4o"));
  EXPECT_TRUE(Has(b, "user: 4111 1111"));  // the escape is what the upstream decodes
  EXPECT_TRUE(Has(b, "x-new-field"));
  EXPECT_TRUE(Has(b, "deep"));
  EXPECT_TRUE(Has(b, "k\xc3\xa9y: v"));
  EXPECT_TRUE(Has(b, "n"));  // a key whose value is no text
  EXPECT_FALSE(Has(b, "5"));
  EXPECT_FALSE(b.has_content());
}

TEST(BodyStringsTest, JsonInsideStringsIsReadToo) {
  BodyStrings b;
  // Tool-call arguments: a JSON text inside a JSON string, escaped twice over.
  ASSERT_TRUE(
      CollectBodyStrings(R"({"arguments":"{\"card\":\"\\u0034\\u0031\\u0031\\u0031\"}"})", b));
  EXPECT_TRUE(Has(b, "card: 4111"));
}

TEST(BodyStringsTest, NestingIsBounded) {
  // Five levels of JSON in strings: the innermost is scanned as raw text, not parsed.
  std::string inner = R"({"k":"secret"})";
  for (int i = 0; i < 5; ++i) {
    std::string escaped;
    for (char c : inner) {
      if (c == '"' || c == '\\') escaped += '\\';
      escaped += c;
    }
    inner = "{\"a\":\"" + escaped + "\"}";
  }
  BodyStrings b;
  ASSERT_TRUE(CollectBodyStrings(inner, b));
  ASSERT_EQ(b.texts.size(), 1u);
  EXPECT_NE(b.texts[0].find("secret"), std::string_view::npos);
}

TEST(BodyStringsTest, TextSplitOverPartsIsAlsoJoined) {
  BodyStrings b;
  ASSERT_TRUE(CollectBodyStrings(
      R"({"content":[{"type":"text","text":"card 4111 1111 "},{"type":"text","text":"1111 1111"}]})",
      b));
  EXPECT_TRUE(Has(b, "card 4111 1111 1111 1111"));
  BodyStrings single;
  ASSERT_TRUE(CollectBodyStrings(R"({"content":[{"type":"text","text":"only"}]})", single));
  EXPECT_EQ(Count(single, "text: only"), 1);
  EXPECT_EQ(Count(single, "only"), 0);
}

TEST(BodyStringsTest, BinaryContentIsCountedByKindNotScanned) {
  const std::string blob(600, 'A');
  BodyStrings b;
  ASSERT_TRUE(CollectBodyStrings(
      R"({"a":{"type":"image_url","image_url":{"url":"data:image/png;base64,)" + blob +
          R"("}},"b":{"inlineData":{"mimeType":"audio/wav","data":")" + blob +
          R"("}},"c":{"source":{"type":"base64","media_type":"application/pdf","data":")" + blob +
          R"("}},"d":")" + blob + R"("})",
      b));
  EXPECT_EQ(b.content[size_t(ContentKind::kImage)], 1);
  EXPECT_EQ(b.content[size_t(ContentKind::kAudio)], 1);
  EXPECT_EQ(b.content[size_t(ContentKind::kFile)], 1);
  EXPECT_EQ(b.content[size_t(ContentKind::kBinary)], 1);
  for (std::string_view t : b.texts) EXPECT_EQ(t.find(blob), std::string_view::npos);
  // A short base64-looking value is text (a key, an id), scanned as such.
  BodyStrings s;
  ASSERT_TRUE(CollectBodyStrings(R"({"id":"QUtJQUlPU0ZPRE5ON0VYQU1QTEU="})", s));
  EXPECT_FALSE(s.has_content());
  EXPECT_TRUE(Has(s, "id: QUtJQUlPU0ZPRE5ON0VYQU1QTEU="));
}

TEST(BodyStringsTest, MalformedJsonFails) {
  BodyStrings b;
  EXPECT_FALSE(CollectBodyStrings(R"({"a":)", b));
  EXPECT_FALSE(CollectBodyStrings("", b));
}

}  // namespace
}  // namespace hybridgate::classify
