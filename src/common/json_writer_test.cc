#include "common/json_writer.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <charconv>
#include <cmath>

namespace hybridgate {
namespace {

TEST(JsonWriter, NestedContainersGetCommasRight) {
  std::string out;
  JsonWriter w(out);
  w.BeginObject().Field("a", 1).Key("b").BeginArray().Int(1).String("x").BeginObject().EndObject();
  w.EndArray().Field("c", true).Key("d").Null().EndObject();
  EXPECT_EQ(out, R"({"a":1,"b":[1,"x",{}],"c":true,"d":null})");
}

TEST(JsonWriter, KeysFirstAndLaterWithAndWithoutEscapes) {
  // Plain keys take a one-resize path (comma, quotes and colon together); others are escaped.
  std::string out = "prefix ";
  JsonWriter w(out);
  w.BeginObject().Field("", 1).Field("q\"k", 2).Key("plain").BeginObject();
  w.Field("a\nb", "v").Field("ok", "w").EndObject().Field("\x01", 3).EndObject();
  EXPECT_EQ(out, R"(prefix {"":1,"q\"k":2,"plain":{"a\nb":"v","ok":"w"},"\u0001":3})");
  const boost::json::object o = boost::json::parse(out.substr(7)).as_object();
  EXPECT_EQ(o.at("q\"k").as_int64(), 2);
  EXPECT_EQ(o.at("plain").at("a\nb").as_string(), "v");
  EXPECT_EQ(o.at("\x01").as_int64(), 3);
}

TEST(JsonWriter, EscapesControlQuotesAndBackslashesButKeepsUtf8) {
  std::string out;
  AppendJsonString(out, std::string("a\"b\\c\n\x01\xc3\xa9", 9));
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\n\\u0001\xc3\xa9\"");
  // Whatever we write, a standard parser reads back the same string.
  EXPECT_EQ(boost::json::parse(out).as_string(), std::string("a\"b\\c\n\x01\xc3\xa9", 9));
}

// The escaping rule one byte at a time, as AppendJsonString wrote it before its fast path.
std::string Reference(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xF];
        } else {
          out += ch;
        }
    }
  }
  return out + "\"";
}

std::string Escaped(std::string_view s) {
  std::string out;
  AppendJsonString(out, s);
  return out;
}

TEST(JsonWriter, EveryByteEscapesAsBefore) {
  for (int b = 0; b < 256; ++b) {
    const std::string one(1, static_cast<char>(b));
    EXPECT_EQ(Escaped(one), Reference(one)) << b;
    // Also inside a run long enough for the eight-bytes-at-a-time scan, at every offset.
    for (size_t at = 0; at < 24; ++at) {
      std::string s(24, 'a');
      s[at] = static_cast<char>(b);
      ASSERT_EQ(Escaped(s), Reference(s)) << b << " at " << at;
    }
  }
}

TEST(JsonWriter, LongStringsWithEscapesAtTheEnds) {
  const std::string body(1000, 'x');
  for (const std::string& s : {"\"" + body + "\"", "\n" + body, body + "\\", "\x01" + body + "\x1f",
                               body + "\"\"", "\t\t" + body + "\r\n"}) {
    EXPECT_EQ(Escaped(s), Reference(s));
    EXPECT_EQ(boost::json::parse(Escaped(s)).as_string(), s);
  }
  // Appends after what the string already holds.
  std::string out = "prefix";
  AppendJsonString(out, "a\"b");
  EXPECT_EQ(out, "prefix\"a\\\"b\"");
}

TEST(JsonWriter, RepeatedAppendsGrowTheStringToExactlyWhatWasWritten) {
  // Strings with nothing to escape take a one-copy path; it must hold when the string grows.
  std::string out(20, 'x'), want(20, 'x');
  for (int i = 0; i < 200; ++i) {
    const std::string s(static_cast<size_t>(i % 37), 'a' + static_cast<char>(i % 26));
    AppendJsonString(out, s);
    want += "\"" + s + "\"";
    ASSERT_EQ(out, want) << i;
  }
}

TEST(JsonWriter, InvalidUtf8PassesThroughUnchanged) {
  // No UTF-8 validation: bytes >= 0x80 are copied as they are, valid or not.
  const std::string s =
      "ok \xff\xfe truncated \xc3 and \xe2\x82 end\x80\x80\x80\x80\x80\x80\x80\x80";
  EXPECT_EQ(Escaped(s), "\"" + s + "\"");
}

TEST(JsonWriter, PseudoRandomStringsMatchTheReference) {
  uint32_t x = 12345;
  for (int n = 0; n < 2000; ++n) {
    std::string s(n % 70, '\0');
    for (char& c : s) {
      x = x * 1664525u + 1013904223u;
      // Mostly letters, with some controls, quotes, backslashes and high bytes.
      const uint32_t r = x >> 24;
      c = static_cast<char>(r < 160   ? 'a' + r % 26
                            : r < 184 ? r - 160
                            : r < 192 ? '"'
                            : r < 200 ? '\\'
                                      : r);
    }
    ASSERT_EQ(Escaped(s), Reference(s)) << n;
  }
}

TEST(JsonWriter, DeepNestingKeepsCommasPerLevel) {
  // Deeper than the 64 levels tracked inline.
  std::string out, want = "[";
  JsonWriter w(out);
  w.BeginArray();
  for (int i = 0; i < 70; ++i) {
    w.BeginArray().Int(i);
    want += "[" + std::to_string(i) + ",";
  }
  w.String("x");
  want += "\"x\"";
  for (int i = 0; i < 70; ++i) {
    w.EndArray().Int(i);
    want += "]," + std::to_string(i);
  }
  w.EndArray();
  EXPECT_EQ(out, want + "]");
}

// Short decimals take a fast path; every double must still come out as std::to_chars writes it.
TEST(JsonWriter, DoublesAreWrittenAsToCharsWritesThem) {
  std::vector<double> values = {
      0.0,      -0.0,       1e-3,       5e-4,      0.1 + 0.2,           99999.999,
      100000.0, 1e5 - 1e-3, -99999.999, 12345.678, 0.30000000000000004, 1e21,
      5e-324};
  for (int64_t n = -2000000; n <= 2000000; n += 7) values.push_back(static_cast<double>(n) / 1000);
  for (int64_t n = 99990000; n <= 100010000; ++n) values.push_back(static_cast<double>(n) / 1000);
  for (double v : {0.1, 0.2, 0.7, 0.95, 1.5, 2.0, 42.125}) {
    values.push_back(std::nextafter(v, 0.0));
    values.push_back(std::nextafter(v, 10.0));
  }
  for (double v : values) {
    std::string out;
    JsonWriter(out).Double(v);
    char want[32];
    auto [end, ec] = std::to_chars(want, want + sizeof want, v);
    ASSERT_EQ(out, std::string_view(want, end)) << v;
  }
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
