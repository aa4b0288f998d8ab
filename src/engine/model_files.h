// Where the embedded engine's model comes from: an explicit GGUF path, or "auto" — the newest
// model pulled into the models directory, else the generated random-weight placeholder.
#pragma once

#include <string>

#include "common/result.h"

namespace hybridgate::engine {

// $HYBRIDGATE_MODELS, else ~/.cache/hybridgate/models (created on demand).
std::string DefaultModelsDir();

// The vocabulary file the placeholder borrows: $HYBRIDGATE_LLAMA_VOCAB, else the one installed
// with llama.cpp by scripts/llama.sh (path fixed at build time).
std::string PlaceholderVocabPath();

struct ResolvedModel {
  std::string path;
  bool placeholder = false;  // generated random weights: gibberish output
};

// `model`: a path, or "auto". `models_dir` empty: DefaultModelsDir(). Generates the placeholder
// when "auto" finds nothing.
Result<ResolvedModel> ResolveModel(const std::string& model, const std::string& models_dir);

}  // namespace hybridgate::engine
