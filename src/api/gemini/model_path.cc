// The Gemini ingress path: models/{model}:generateContent and :streamGenerateContent.
#include <fmt/format.h>

#include "api/gemini/extras.h"
#include "api/gemini/gemini.h"

namespace hybridgate::api::gemini {
namespace {

// "%2F" -> "/" and so on; malformed escapes are kept as they are.
std::string PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  const auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

Result<ModelPath> ParseModelPath(std::string_view path) {
  constexpr std::string_view kModels = "/models/";
  const size_t at = path.find(kModels);
  ModelPath out;
  std::string_view method;
  if (at != std::string_view::npos) {
    const std::string_view rest = path.substr(at + kModels.size());
    const size_t colon = rest.rfind(':');
    if (colon != std::string_view::npos) method = rest.substr(colon + 1);
    out.model = PercentDecode(rest.substr(0, colon));
    out.stream = method == "streamGenerateContent";
  }
  if ((method != "generateContent" && !out.stream) || out.model.empty()) {
    return Fail(MakeError(ErrorCode::kNotFound,
                          fmt::format("no route for {}: HybridGate serves "
                                      "models/{{model}}:generateContent and :streamGenerateContent",
                                      path)));
  }
  return out;
}

}  // namespace hybridgate::api::gemini

namespace hybridgate::api::gemini {

Result<ModelMethod> ParseModelMethod(std::string_view path) {
  constexpr std::string_view kModels = "/models/";
  const size_t at = path.find(kModels);
  ModelMethod out;
  if (at != std::string_view::npos) {
    const std::string_view rest = path.substr(at + kModels.size());
    const size_t colon = rest.rfind(':');
    if (colon != std::string_view::npos) {
      out.method.assign(rest.substr(colon + 1));
      out.model = PercentDecode(rest.substr(0, colon));
    }
  }
  if (out.model.empty() || out.method.empty()) {
    return Fail(
        MakeError(ErrorCode::kNotFound,
                  fmt::format("no route for {}: expected models/{{model}}:{{method}}", path)));
  }
  return out;
}

}  // namespace hybridgate::api::gemini
