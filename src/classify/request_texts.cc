#include "classify/request_texts.h"

namespace hybridgate::classify {

void CollectTexts(const api::ChatRequest& req, std::vector<std::string_view>& out) {
  ForEachText(req, [&out](const std::string& text) { out.push_back(text); });
}

}  // namespace hybridgate::classify
