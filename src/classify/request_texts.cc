#include "classify/request_texts.h"

#include "classify/sensitivity/json_view.h"

namespace hybridgate::classify {

void CollectTexts(const api::ChatRequest& req, std::vector<std::string_view>& out) {
  ForEachText(req, [&out](const std::string& text, TextKind) { out.push_back(text); });
}

std::string_view ScanView(std::string_view text, TextKind kind, std::list<std::string>& storage) {
  if (kind == TextKind::kText) return text;
  if (kind == TextKind::kToolResult) {
    const std::size_t first = text.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos || (text[first] != '{' && text[first] != '[')) return text;
  }
  std::string view;
  const std::string_view scanned = sensitivity::JsonScanView(text, view);
  if (scanned.data() == text.data()) return text;
  return storage.emplace_back(std::move(view));
}

void CollectScanTexts(const api::ChatRequest& req, std::vector<std::string_view>& out,
                      std::list<std::string>& storage) {
  out.reserve(out.size() + req.messages.size() + 1);  // usually one text per message
  ForEachText(req, [&](const std::string& text, TextKind kind) {
    out.push_back(ScanView(text, kind, storage));
  });
}

}  // namespace hybridgate::classify
