// The Gemini ingress path: models/{model}:generateContent and :streamGenerateContent.
#include <fmt/format.h>

#include "api/gemini/extras.h"
#include "api/gemini/gemini.h"
#include "common/percent.h"

namespace hybridgate::api::gemini {
Result<ModelPath> ParseModelPath(std::string_view path) {
  constexpr std::string_view kModels = "/models/";
  const size_t at = path.find(kModels);
  ModelPath out;
  std::string_view method;
  if (at != std::string_view::npos) {
    const std::string_view rest = path.substr(at + kModels.size());
    const size_t colon = rest.rfind(':');
    if (colon != std::string_view::npos) method = rest.substr(colon + 1);
    out.model = hybridgate::PercentDecode(rest.substr(0, colon));
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
      out.model = hybridgate::PercentDecode(rest.substr(0, colon));
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
