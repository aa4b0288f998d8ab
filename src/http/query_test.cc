#include "http/query.h"

#include <gtest/gtest.h>

#include <boost/beast/http/field.hpp>

namespace hybridgate::http {
namespace {

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

TEST(ApiKey, EachDialectsPlaceInOrder) {
  boost::beast::http::fields h;
  EXPECT_EQ(ApiKey(h, "/v1beta/models/m:generateContent?key=g1"), "g1");
  h.set("x-goog-api-key", "g2");
  EXPECT_EQ(ApiKey(h, "/v1beta/models/m:generateContent?key=g1"), "g2");
  h.set(boost::beast::http::field::authorization, "Bearer ");  // too short: no key
  EXPECT_EQ(ApiKey(h, "/"), "g2");
  h.set(boost::beast::http::field::authorization, "Basic abc");
  EXPECT_EQ(ApiKey(h, "/"), "g2");
  h.set(boost::beast::http::field::authorization, "Bearer hg-1");
  EXPECT_EQ(ApiKey(h, "/"), "hg-1");
  h.set("x-api-key", "hg-2");
  EXPECT_EQ(ApiKey(h, "/"), "hg-2");
  EXPECT_EQ(ApiKey(boost::beast::http::fields(), "/v1/chat/completions"), "");
}

}  // namespace
}  // namespace hybridgate::http
