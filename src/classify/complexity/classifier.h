// The complexity Classifier seam: (request, base features) -> a score in [0, 1]. The built-in
// HeuristicClassifier (heuristic.h) implements it; the learned router (src/learned) plugs in
// behind the same interface. Implementations are immutable after construction, deterministic,
// bounded in time and safe to call from many threads at once.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "api/chat_request.h"
#include "classify/complexity/features.h"

namespace hybridgate::complexity {

class Classifier {
 public:
  virtual ~Classifier() = default;
  virtual std::string_view Name() const = 0;
  // Complexity of `req` in [0, 1]. `base` holds ExtractBaseFeatures(req). When `why` is given
  // it receives the largest contributions (for `route explain`), biggest |value| first.
  virtual double Score(const api::ChatRequest& req, const Features& base,
                       std::vector<Contribution>* why = nullptr) const = 0;
};

// ExtractBaseFeatures, then the classifier's score and its top contributions.
Features Classify(const Classifier& classifier, const api::ChatRequest& req);

// The text a prompt-only scorer (the learned router) should see: the user and system texts, in
// order, joined by blank lines.
std::string PromptText(const api::ChatRequest& req);

}  // namespace hybridgate::complexity
