#include "http/head.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace hybridgate::http::head {
namespace {

TEST(Head, AppendsDecimalAndFields) {
  std::string out;
  AppendDecimal(out, 0);
  out.push_back(' ');
  AppendDecimal(out, 18446744073709551615ull);
  AppendField(out, "\r\nX-A", "1");
  EXPECT_EQ(out, "0 18446744073709551615\r\nX-A: 1\r\n");
}

TEST(Head, ChunkLineIsHex) {
  char buf[kChunkLineMax];
  EXPECT_EQ(std::string(buf, ChunkLine(buf, 1)), "1\r\n");
  EXPECT_EQ(std::string(buf, ChunkLine(buf, 0x1a2f)), "1a2f\r\n");
  EXPECT_EQ(std::string(buf, ChunkLine(buf, ~size_t{0})), "ffffffffffffffff\r\n");
}

TEST(Head, LastValueOfANameWinsAndFramingIsLeftOut) {
  const std::vector<std::pair<std::string, std::string>> fields = {
      {"content-type", "text/plain"}, {"X-Key", "a"},
      {"Content-Length", "9"},        {"x-key", "b"},
      {"Connection", "close"},        {"Content-Type", "application/json"}};
  std::string out;
  AppendFields(out, fields, {"content-length", "transfer-encoding", "connection"});
  EXPECT_EQ(out, "x-key: b\r\nContent-Type: application/json\r\n");
  EXPECT_TRUE(Has(fields, "CONTENT-TYPE"));
  EXPECT_FALSE(Has(fields, "host"));
}

}  // namespace
}  // namespace hybridgate::http::head
