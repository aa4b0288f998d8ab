#include "http/query.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace hybridgate::http {
namespace {

TEST(PercentDecode, DecodesEscapesAndKeepsMalformedOnes) {
  EXPECT_EQ(PercentDecode("meta-llama%2FLlama-3.1-8B"), "meta-llama/Llama-3.1-8B");
  EXPECT_EQ(PercentDecode("a%3ab%20c"), "a:b c");
  EXPECT_EQ(PercentDecode("a+b"), "a+b");
  EXPECT_EQ(PercentDecode("100%"), "100%");
  EXPECT_EQ(PercentDecode("%4"), "%4");
  EXPECT_EQ(PercentDecode("%zz%41"), "%zzA");
  EXPECT_EQ(PercentDecode(""), "");
  EXPECT_EQ(PercentDecode("caf%C3%A9"), "caf\xC3\xA9");
  EXPECT_EQ(PercentDecode("a%2F%E0%A4"), "a%2F%E0%A4");  // not UTF-8 once decoded: kept
  EXPECT_EQ(PercentDecode("%FF"), "%FF");
}

TEST(QueryParam, RawValueOfTheFirstMatch) {
  EXPECT_EQ(QueryParam("/p?a=1&alt=sse&alt=json", "alt"), "sse");
  EXPECT_EQ(QueryParam("/p?key=a%2Fb", "key"), "a%2Fb");  // still percent-encoded
  EXPECT_EQ(QueryParam("/p?flag&x=1", "flag"), "");
  EXPECT_EQ(QueryParam("/p?x=1", "alt"), "");
  EXPECT_EQ(QueryParam("/p", "alt"), "");
  EXPECT_EQ(QueryParam("/p?", ""), "");
  EXPECT_EQ(QueryParam("/p?&&alt=", "alt"), "");
  EXPECT_EQ(QueryParam("/p?altx=1&alt=2", "alt"), "2");  // names match whole
  EXPECT_EQ(QueryParam("/p?a=b=c", "a"), "b=c");
}

// The caller's key from a request with `fields` (each "Name: value\r\n").
std::string KeyOf(const std::string& fields, std::string_view target, Request& r) {
  const std::string raw = "GET " + std::string(target) + " HTTP/1.1\r\n" + fields + "\r\n";
  EXPECT_FALSE(ParseRequest(raw, r)) << raw;
  return std::string(ApiKey(r, r.target()));
}

TEST(ApiKey, EachDialectsPlaceInOrder) {
  Request r;
  const std::string gemini = "/v1beta/models/m:generateContent?key=g1";
  EXPECT_EQ(KeyOf("", gemini, r), "g1");
  std::string h = "x-goog-api-key: g2\r\n";
  EXPECT_EQ(KeyOf(h, gemini, r), "g2");
  EXPECT_EQ(KeyOf(h + "Authorization: Bearer\r\n", "/", r), "g2");  // too short: no key
  EXPECT_EQ(KeyOf(h + "Authorization: Basic abc\r\n", "/", r), "g2");
  h += "Authorization: Bearer hg-1\r\n";
  EXPECT_EQ(KeyOf(h, "/", r), "hg-1");
  EXPECT_EQ(KeyOf(h + "X-Api-Key: hg-2\r\n", "/", r), "hg-2");
  EXPECT_EQ(KeyOf("", "/v1/chat/completions", r), "");
}

}  // namespace
}  // namespace hybridgate::http
