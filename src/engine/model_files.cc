#include "engine/model_files.h"

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "engine/tiny_model.h"

namespace hybridgate::engine {

namespace fs = std::filesystem;

namespace {
constexpr std::string_view kPlaceholderFile = "placeholder-random-weights.gguf";
}

std::string DefaultModelsDir() {
  if (const char* d = std::getenv("HYBRIDGATE_MODELS"); d && *d) return d;
  const char* home = std::getenv("HOME");
  return fmt::format("{}/.cache/hybridgate/models", home && *home ? home : "/tmp");
}

std::string PlaceholderVocabPath() {
  if (const char* v = std::getenv("HYBRIDGATE_LLAMA_VOCAB"); v && *v) return v;
  return HYBRIDGATE_LLAMA_VOCAB;
}

Result<ResolvedModel> ResolveModel(const std::string& model, const std::string& models_dir) {
  if (model != "auto") {
    std::error_code ec;
    if (!fs::is_regular_file(model, ec)) {
      return Fail(MakeError(ErrorCode::kInvalidRequest,
                            fmt::format("model file '{}' does not exist (pull one with "
                                        "`hybridgate models pull NAME`, or set model: auto)",
                                        model)));
    }
    return ResolvedModel{model, false};
  }
  const std::string dir = models_dir.empty() ? DefaultModelsDir() : models_dir;
  std::error_code ec;
  fs::path newest;
  fs::file_time_type newest_time{};
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const fs::path& p = entry.path();
    if (p.extension() != ".gguf" || p.filename() == kPlaceholderFile) continue;
    const auto t = entry.last_write_time(ec);
    if (newest.empty() || t > newest_time) {
      newest = p;
      newest_time = t;
    }
  }
  if (!newest.empty()) return ResolvedModel{newest.string(), false};

  const fs::path placeholder = fs::path(dir) / kPlaceholderFile;
  if (!fs::is_regular_file(placeholder, ec)) {
    fs::create_directories(dir, ec);
    if (ec) {
      return Fail(
          MakeError(ErrorCode::kInternal,
                    fmt::format("cannot create models directory '{}': {}", dir, ec.message())));
    }
    TinyModelSpec spec;
    spec.vocab_path = PlaceholderVocabPath();
    if (auto ok = WriteTinyModel(spec, placeholder.string()); !ok) {
      return Fail(std::move(ok.error()));
    }
  }
  return ResolvedModel{placeholder.string(), true};
}

}  // namespace hybridgate::engine
