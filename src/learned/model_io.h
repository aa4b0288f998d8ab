// The model file (format version 1; documented in src/learned/README.md): a magic line, one line
// of JSON describing the layout, then little-endian float32 arrays guarded by a checksum.
#pragma once

#include <string>

#include "common/result.h"
#include "learned/model.h"

namespace hybridgate::learned {

inline constexpr int kModelFormatVersion = 1;

// Byte-identical output for identical parameters (no timestamps, fixed key order).
std::string SerializeModel(const Model& model);
Result<Model> DeserializeModel(std::string_view bytes, std::string_view source = "<memory>");

Status SaveModel(const Model& model, const std::string& path);
Result<Model> LoadModel(const std::string& path);

}  // namespace hybridgate::learned
