#include "common/json_writer.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace hybridgate {
namespace {

TEST(JsonWriter, NestedContainersGetCommasRight) {
  std::string out;
  JsonWriter w(out);
  w.BeginObject().Field("a", 1).Key("b").BeginArray().Int(1).String("x").BeginObject().EndObject();
  w.EndArray().Field("c", true).Key("d").Null().EndObject();
  EXPECT_EQ(out, R"({"a":1,"b":[1,"x",{}],"c":true,"d":null})");
}

TEST(JsonWriter, EscapesControlQuotesAndBackslashesButKeepsUtf8) {
  std::string out;
  AppendJsonString(out, std::string("a\"b\\c\n\x01\xc3\xa9", 9));
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\n\\u0001\xc3\xa9\"");
  // Whatever we write, a standard parser reads back the same string.
  EXPECT_EQ(boost::json::parse(out).as_string(), std::string("a\"b\\c\n\x01\xc3\xa9", 9));
}

TEST(JsonWriter, DoublesRoundTripAndNonFiniteBecomesNull) {
  std::string out;
  JsonWriter w(out);
  w.BeginArray().Double(0.7).Double(1e300).Double(std::nan("")).EndArray();
  EXPECT_EQ(out, "[0.7,1e+300,null]");
}

TEST(JsonWriter, RawIsInsertedVerbatim) {
  std::string out;
  JsonWriter w(out);
  w.BeginObject().RawField("schema", R"({"type":"object"})").Field("n", 2).EndObject();
  EXPECT_EQ(out, R"({"schema":{"type":"object"},"n":2})");
}

}  // namespace
}  // namespace hybridgate
