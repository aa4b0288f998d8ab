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

TEST(Head, ADozenDistinctFieldsPassInOrderAndRepeatsAreFoundAmongThem) {
  std::vector<std::pair<std::string, std::string>> fields = {
      {"x-hybridgate-request-id", "hg-1"},
      {"x-hybridgate-provider", "local"},
      {"x-hybridgate-model", "m"},
      {"x-hybridgate-route", "auto"},
      {"x-ratelimit-limit-requests", "60"},
      {"x-ratelimit-remaining-requests", "59"},
      {"x-ratelimit-reset-requests", "1s"},
      {"x-ratelimit-limit-tokens", "1000"},
      {"x-ratelimit-remaining-tokens", "990"},
      {"x-ratelimit-reset-tokens", "1s"},
      {"TRANSFER-ENCODING", "chunked"},
      {"x-hybridgate-attempts", "1"}};
  std::string out;
  AppendFields(out, fields, {"content-length", "transfer-encoding", "connection"});
  std::string want;
  for (const auto& [k, v] : fields) {
    if (k != "TRANSFER-ENCODING") want += k + ": " + v + "\r\n";
  }
  EXPECT_EQ(out, want);

  fields.push_back({"X-RateLimit-Limit-Requests", "120"});  // supersedes the fifth
  out.clear();
  AppendFields(out, fields, {"content-length", "transfer-encoding", "connection"});
  EXPECT_EQ(out.find("x-ratelimit-limit-requests: 60"), std::string::npos) << out;
  EXPECT_NE(out.find("X-RateLimit-Limit-Requests: 120\r\n"), std::string::npos) << out;
  EXPECT_EQ(NameBit("X-RateLimit-Limit-Requests"), NameBit("x-ratelimit-limit-requests"));
}

}  // namespace
}  // namespace hybridgate::http::head
