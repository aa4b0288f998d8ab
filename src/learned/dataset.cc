#include "learned/dataset.h"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <fstream>
#include <sstream>

namespace hybridgate::learned {
namespace {

namespace json = boost::json;

Error LineError(std::string_view source, size_t line, std::string_view what) {
  return MakeError(ErrorCode::kInvalidRequest, fmt::format("{}:{}: {}", source, line, what));
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Fail(MakeError(ErrorCode::kNotFound, fmt::format("{}: cannot open file", path)));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Fail(MakeError(ErrorCode::kInternal, fmt::format("{}: read error", path)));
  return std::move(ss).str();
}

// Calls `fn(line_text, line_number)` for each non-blank line; stops at the first error.
template <class Fn>
Status ForEachLine(std::string_view text, Fn&& fn) {
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    Status s = fn(line, line_no);
    if (!s) return s;
  }
  return {};
}

Result<json::object> ParseObject(std::string_view line, std::string_view source, size_t line_no) {
  json::error_code ec;
  json::value v = json::parse(line, ec);
  if (ec) return Fail(LineError(source, line_no, fmt::format("malformed JSON ({})", ec.message())));
  if (!v.is_object()) return Fail(LineError(source, line_no, "expected a JSON object"));
  return std::move(v.as_object());
}

// "id" may be a string or an integer; anything else is an error.
Result<std::string> ReadId(const json::object& o, std::string_view source, size_t line_no) {
  const json::value* id = o.if_contains("id");
  if (id == nullptr) return Fail(LineError(source, line_no, "missing field \"id\""));
  if (id->is_string()) return std::string(id->as_string());
  if (id->is_int64()) return std::to_string(id->as_int64());
  if (id->is_uint64()) return std::to_string(id->as_uint64());
  return Fail(LineError(source, line_no, "field \"id\" must be a string or an integer"));
}

Result<std::string> ReadString(const json::object& o, std::string_view key, bool required,
                               std::string_view source, size_t line_no) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) {
    if (!required) return std::string();
    return Fail(LineError(source, line_no, fmt::format("missing field \"{}\"", key)));
  }
  if (!v->is_string()) {
    return Fail(LineError(source, line_no, fmt::format("field \"{}\" must be a string", key)));
  }
  return std::string(v->as_string());
}

Result<double> ReadScore(const json::object& scores, const std::string& label,
                         std::string_view source, size_t line_no) {
  const json::value* v = scores.if_contains(label);
  if (v == nullptr) {
    return Fail(
        LineError(source, line_no, fmt::format("unknown label \"{}\": not in \"scores\"", label)));
  }
  if (!v->is_number()) {
    return Fail(LineError(source, line_no, fmt::format("score \"{}\" is not a number", label)));
  }
  double d = v->to_number<double>();
  if (!std::isfinite(d)) {
    return Fail(LineError(source, line_no, fmt::format("score \"{}\" is not finite", label)));
  }
  return d;
}

Result<Example> ParseExample(std::string_view line, std::string_view source, size_t line_no,
                             const LabelNames& labels) {
  auto obj = ParseObject(line, source, line_no);
  if (!obj) return Fail(obj.error());
  Example e;
  auto id = ReadId(*obj, source, line_no);
  if (!id) return Fail(id.error());
  e.id = std::move(*id);
  auto prompt = ReadString(*obj, "prompt", true, source, line_no);
  if (!prompt) return Fail(prompt.error());
  e.prompt = std::move(*prompt);
  auto bench = ReadString(*obj, "benchmark", false, source, line_no);
  if (!bench) return Fail(bench.error());
  e.benchmark = std::move(*bench);
  auto cat = ReadString(*obj, "category", false, source, line_no);
  if (!cat) return Fail(cat.error());
  e.category = std::move(*cat);
  const json::value* scores = obj->if_contains("scores");
  if (scores == nullptr) return Fail(LineError(source, line_no, "missing field \"scores\""));
  if (!scores->is_object()) {
    return Fail(LineError(source, line_no, "field \"scores\" must be an object"));
  }
  auto weak = ReadScore(scores->as_object(), labels.weak, source, line_no);
  if (!weak) return Fail(weak.error());
  auto strong = ReadScore(scores->as_object(), labels.strong, source, line_no);
  if (!strong) return Fail(strong.error());
  e.weak = *weak;
  e.strong = *strong;
  return e;
}

}  // namespace

Result<Dataset> ParseDataset(std::string_view text, std::string_view source,
                             const LabelNames& labels) {
  Dataset ds;
  ds.source = std::string(source);
  Status s = ForEachLine(text, [&](std::string_view line, size_t line_no) -> Status {
    auto e = ParseExample(line, source, line_no, labels);
    if (!e) return Fail(e.error());
    ds.examples.push_back(std::move(*e));
    return {};
  });
  if (!s) return Fail(s.error());
  if (ds.examples.empty()) {
    return Fail(
        MakeError(ErrorCode::kInvalidRequest, fmt::format("{}: no examples (empty file)", source)));
  }
  return ds;
}

Result<Dataset> LoadDataset(const std::string& path, const LabelNames& labels) {
  auto text = ReadFile(path);
  if (!text) return Fail(text.error());
  return ParseDataset(*text, path, labels);
}

Result<std::vector<PromptLine>> ParsePrompts(std::string_view text, std::string_view source) {
  std::vector<PromptLine> out;
  Status s = ForEachLine(text, [&](std::string_view line, size_t line_no) -> Status {
    auto obj = ParseObject(line, source, line_no);
    if (!obj) return Fail(obj.error());
    auto id = ReadId(*obj, source, line_no);
    if (!id) return Fail(id.error());
    auto prompt = ReadString(*obj, "prompt", true, source, line_no);
    if (!prompt) return Fail(prompt.error());
    out.push_back({std::move(*id), std::move(*prompt)});
    return {};
  });
  if (!s) return Fail(s.error());
  if (out.empty()) {
    return Fail(
        MakeError(ErrorCode::kInvalidRequest, fmt::format("{}: no prompts (empty file)", source)));
  }
  return out;
}

Result<std::vector<PromptLine>> LoadPrompts(const std::string& path) {
  auto text = ReadFile(path);
  if (!text) return Fail(text.error());
  return ParsePrompts(*text, path);
}

uint64_t StableHash(std::string_view s, uint64_t seed) {
  uint64_t h = 1469598103934665603ULL ^ (seed * 0x9E3779B97F4A7C15ULL);
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  // FNV's low bits mix poorly; a final avalanche makes `h % k` balanced.
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return h;
}

int FoldOf(const Example& e, int k, uint64_t seed) {
  if (k <= 1) return 0;
  return static_cast<int>(StableHash(e.prompt, seed) % static_cast<uint64_t>(k));
}

}  // namespace hybridgate::learned
