// Helpers shared by the Gemini dialect's golden tests: testdata/ files and JSON compared parsed.
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

namespace hybridgate::api::gemini::test_util {

inline std::string ReadFile(const std::string& name) {
  std::ifstream in(std::string(GEMINI_TESTDATA) + "/" + name, std::ios::binary);
  EXPECT_TRUE(in) << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline boost::json::value Json(std::string_view s) { return boost::json::parse(s); }

}  // namespace hybridgate::api::gemini::test_util
