#include "classify/complexity/learned_classifier.h"

#include <fmt/format.h>

#include "learned/model_io.h"

namespace hybridgate::complexity {

Result<std::unique_ptr<LearnedClassifier>> LearnedClassifier::Load(const std::string& path) {
  auto model = learned::LoadModel(path);
  if (!model) {
    return Fail(MakeError(ErrorCode::kInvalidRequest, fmt::format("learned router model '{}': {}",
                                                                  path, model.error().message)));
  }
  return std::unique_ptr<LearnedClassifier>(new LearnedClassifier(std::move(*model)));
}

double LearnedClassifier::Score(const api::ChatRequest& req, const Features&,
                                std::vector<Contribution>* why) const {
  const double p = model_.Score(PromptText(req));
  if (why) why->push_back({"learned_router_probability", p});
  return p;
}

}  // namespace hybridgate::complexity
