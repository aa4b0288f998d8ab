#include "gateway/request_log.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace hybridgate::gateway {
namespace {

// The line LogRequest writes without InitLogging (through spdlog's default logger, which the
// test points at a string).
std::string LineFor(const RequestLogEntry& e) {
  std::ostringstream out;
  auto previous = spdlog::default_logger();
  auto logger = std::make_shared<spdlog::logger>(
      "test", std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
  logger->set_pattern("{%v");
  spdlog::set_default_logger(logger);
  LogRequest(e);
  spdlog::set_default_logger(previous);
  return out.str();
}

// Every line of the process logger is one JSON object, whoever logged it: the gateway's own
// lines as written, and a module's plain spdlog text (a store's error) as an escaped "msg".
TEST(RequestLog, EveryLineIsJsonWhoeverLoggedIt) {
  std::ostringstream out;
  auto previous = spdlog::default_logger();
  auto logger = std::make_shared<spdlog::logger>(
      "test", std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
  logger->set_formatter(JsonLineFormatter());
  spdlog::set_default_logger(logger);
  spdlog::error("feedback store: postgres: \"x\"\tno answer in {} ms", 1000);
  LogWarn("rollouts: the store answers again");
  spdlog::set_default_logger(previous);
  std::istringstream lines(out.str());
  std::string line;
  std::vector<boost::json::object> parsed;
  while (std::getline(lines, line)) {
    boost::system::error_code ec;
    const boost::json::value v = boost::json::parse(line, ec);
    ASSERT_FALSE(ec) << line;
    parsed.push_back(v.as_object());
  }
  ASSERT_EQ(parsed.size(), 2u) << out.str();
  EXPECT_EQ(parsed[0].at("level"), "error");
  EXPECT_EQ(parsed[0].at("msg"), "feedback store: postgres: \"x\"\tno answer in 1000 ms");
  EXPECT_TRUE(parsed[0].contains("ts"));
  EXPECT_EQ(parsed[1].at("level"), "warning");
  EXPECT_EQ(parsed[1].at("msg"), "rollouts: the store answers again");
}

// The model is the client's string: a log line carries 128 bytes of it at most, escaped, and
// never half a character.
TEST(RequestLog, TheClientsModelIsCappedAndEscaped) {
  const std::string long_model(300, 'q');
  std::string line = LineFor({.id = "hg-1",
                              .method = "POST",
                              .path = "/v1/chat/completions",
                              .model = long_model,
                              .status = 404});
  EXPECT_NE(line.find("\"model\":\"" + std::string(128, 'q') + "\""), std::string::npos) << line;

  // 127 ASCII bytes, then "é" (2 bytes) across the cap: the whole character goes.
  const std::string split = std::string(127, 'a') + "\xC3\xA9" + "tail";
  line = LineFor({.id = "hg-2", .method = "POST", .path = "/p", .model = split, .status = 404});
  EXPECT_NE(line.find("\"model\":\"" + std::string(127, 'a') + "\""), std::string::npos) << line;

  line = LineFor(
      {.id = "hg-3", .method = "POST", .path = "/p", .model = "a\"b\\c\nd\x01", .status = 404});
  EXPECT_NE(line.find(R"("model":"a\"b\\c\nd\u0001")"), std::string::npos) << line;
  EXPECT_EQ(line.find('\n'), line.size() - 1) << line;  // one line, whatever the model holds
}

// An unknown path is logged too, and is the client's string as much as the model.
TEST(RequestLog, TheClientsPathIsCappedAndEscaped) {
  const std::string path = "/v2/" + std::string(300, 'p') + "\"";
  const std::string line =
      LineFor({.id = "hg-4", .method = "GET", .path = path, .status = 404, .error_code = "x"});
  EXPECT_NE(line.find("\"path\":\"/v2/" + std::string(124, 'p') + "\","), std::string::npos)
      << line;
}

}  // namespace
}  // namespace hybridgate::gateway
