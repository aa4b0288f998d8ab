// The learned router (src/learned) behind the complexity Classifier seam: its logistic score of
// the prompt text is the complexity. `classifier: learned` in a route selects it.
#pragma once

#include <memory>
#include <string>

#include "classify/complexity/classifier.h"
#include "learned/model.h"

namespace hybridgate::complexity {

class LearnedClassifier : public Classifier {
 public:
  // Loads a model file written by `hybridgate router train`.
  static Result<std::unique_ptr<LearnedClassifier>> Load(const std::string& path);

  std::string_view Name() const override { return "learned"; }
  double Score(const api::ChatRequest& req, const Features& base,
               std::vector<Contribution>* why = nullptr) const override;

 private:
  explicit LearnedClassifier(learned::Model model) : model_(std::move(model)) {}
  learned::Model model_;
};

}  // namespace hybridgate::complexity
