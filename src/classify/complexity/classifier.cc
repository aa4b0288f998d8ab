#include "classify/complexity/classifier.h"

#include <algorithm>

namespace hybridgate::complexity {

Features Classify(const Classifier& classifier, const api::ChatRequest& req) {
  Features f = ExtractBaseFeatures(req);
  f.complexity = std::clamp(classifier.Score(req, f, &f.top), 0.0, 1.0);
  f.classifier = classifier.Name();
  return f;
}

std::string PromptText(const api::ChatRequest& req) {
  std::string out;
  auto add = [&out](std::string_view t) {
    if (t.empty()) return;
    if (!out.empty()) out += "\n\n";
    out += t;
  };
  for (const api::Message& m : req.messages) {
    if (m.role != "user" && m.role != "system" && m.role != "developer") continue;
    add(m.text);
    for (const api::ContentPart& p : m.parts) {
      if (p.kind == api::ContentPart::Kind::kText) add(p.text);
    }
  }
  return out;
}

}  // namespace hybridgate::complexity
