// Generates a tiny GGUF model with random weights: llama architecture, a real tokenizer borrowed
// from one of llama.cpp's bundled vocabulary files, and a ChatML chat template. It lets tests, CI
// and a fresh air-gapped install run the whole local path (load, template, tokenize, decode,
// sample, stream) without downloading weights. Its output is gibberish, and its name says so.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"

namespace hybridgate::engine {

struct TinyModelSpec {
  std::string vocab_path;  // a ggml-vocab-*.gguf (llama architecture, e.g. ggml-vocab-llama-spm)
  int n_embd = 64;
  int n_layer = 2;
  int n_head = 4;
  int n_ff = 128;
  int context = 4096;  // llama.context_length
  uint32_t seed = 42;
};

// The name written into general.name; Engine::placeholder() recognises it.
inline constexpr std::string_view kPlaceholderName = "hybridgate-placeholder-random-weights";

// Writes the model to `out_path` (atomically: a temporary file, then rename).
Status WriteTinyModel(const TinyModelSpec& spec, const std::string& out_path);

}  // namespace hybridgate::engine
