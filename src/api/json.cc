#include "api/json.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <unordered_set>
#include <vector>

#include "common/json_writer.h"

namespace hybridgate::api {
namespace {

simdjson::dom::parser& ThreadParser() {
  thread_local simdjson::dom::parser parser = [] {
    simdjson::dom::parser p;
    if (p.allocate(64 * 1024, kMaxJsonDepth) != simdjson::SUCCESS) std::abort();
    return p;
  }();
  return parser;
}

Result<simdjson::dom::element> Convert(simdjson::simdjson_result<simdjson::dom::element> r) {
  simdjson::dom::element elem;
  auto err = std::move(r).get(elem);
  if (!err) return elem;
  switch (err) {
    case simdjson::UTF8_ERROR:
      return Fail(MakeError(ErrorCode::kInvalidRequest, "request body is not valid UTF-8"));
    case simdjson::DEPTH_ERROR:
      return Fail(MakeError(ErrorCode::kInvalidRequest,
                            fmt::format("JSON is nested too deeply (limit {})", kMaxJsonDepth)));
    case simdjson::EMPTY:
      return Fail(MakeError(ErrorCode::kInvalidRequest, "request body is empty; expected JSON"));
    case simdjson::MEMALLOC:
    case simdjson::CAPACITY:
      return Fail(MakeError(ErrorCode::kPayloadTooLarge, "JSON document too large"));
    default:
      return Fail(MakeError(ErrorCode::kInvalidRequest,
                            fmt::format("malformed JSON: {}", simdjson::error_message(err))));
  }
}

}  // namespace

Result<simdjson::dom::element> ParseJson(std::string& body) {
  if (body.capacity() < body.size() + simdjson::SIMDJSON_PADDING) {
    body.reserve(body.size() + simdjson::SIMDJSON_PADDING);
  }
  return Convert(ThreadParser().parse(body.data(), body.size(), /*realloc_if_needed=*/false));
}

Result<simdjson::dom::element> ParseJsonView(std::string_view json) {
  return Convert(ThreadParser().parse(json.data(), json.size(), /*realloc_if_needed=*/true));
}

Result<simdjson::dom::element> ParseOpenAiChunk(std::string_view chunk_json) {
  auto root = ParseJsonView(chunk_json);
  if (!root) {
    return Fail(MakeError(ErrorCode::kUpstreamUnavailable,
                          fmt::format("malformed upstream chunk: {}", root.error().message)));
  }
  if (simdjson::dom::element err; !(*root)["error"].get(err)) {
    std::string_view message;
    if (err["message"].get_string().get(message)) message = "";
    return Fail(MakeError(ErrorCode::kUpstreamUnavailable,
                          fmt::format("upstream stream error: {}", message)));
  }
  return root;
}

Result<std::string> ReplaceStringField(std::string_view json, std::string_view key,
                                       std::string_view value) {
  auto root = ParseJsonView(json);
  if (!root) return Fail(std::move(root.error()));
  simdjson::dom::object obj;
  if (root->get_object().get(obj)) {
    return Fail(MakeError(ErrorCode::kInvalidRequest, "request body must be a JSON object"));
  }
  std::string out;
  out.reserve(json.size() + value.size());
  JsonWriter w(out);
  w.BeginObject();
  for (auto [k, v] : obj) {
    if (k == key) {
      w.Field(k, value);
    } else {
      w.RawField(k, simdjson::minify(v));
    }
  }
  w.EndObject();
  return out;
}

namespace {

void WriteCanonical(simdjson::dom::element e, JsonWriter& w) {
  switch (e.type()) {
    case simdjson::dom::element_type::OBJECT: {
      w.BeginObject();
      // Linear for the usual handful of keys; a hash set past that (no quadratic blow-up).
      std::vector<std::string_view> seen;
      std::unordered_set<std::string_view> many;
      for (auto [k, v] : simdjson::dom::object(e)) {
        if (seen.size() < 16) {
          if (std::find(seen.begin(), seen.end(), k) != seen.end()) continue;
          seen.push_back(k);
          if (seen.size() == 16) many.insert(seen.begin(), seen.end());
        } else if (!many.insert(k).second) {
          continue;
        }
        w.Key(k);
        WriteCanonical(v, w);
      }
      w.EndObject();
      break;
    }
    case simdjson::dom::element_type::ARRAY:
      w.BeginArray();
      for (simdjson::dom::element item : simdjson::dom::array(e)) WriteCanonical(item, w);
      w.EndArray();
      break;
    case simdjson::dom::element_type::STRING:
      w.String(std::string_view(e));
      break;
    default:
      w.Raw(simdjson::minify(e));  // numbers, booleans, null
      break;
  }
}

}  // namespace

Result<std::string> CanonicalJson(std::string_view json) {
  auto root = ParseJsonView(json);
  if (!root) return Fail(std::move(root.error()));
  std::string out;
  out.reserve(json.size());
  JsonWriter w(out);
  WriteCanonical(*root, w);
  return out;
}

Error FieldError(const std::string& field, std::string_view expectation,
                 simdjson::dom::element got) {
  return MakeError(
      ErrorCode::kInvalidRequest,
      fmt::format("'{}' must be {}, got {}", field, expectation, JsonTypeName(got.type())), field);
}

std::string IndexedField(std::string_view field, size_t index) {
  char digits[24];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, index);
  std::string out;
  out.reserve(field.size() + static_cast<size_t>(end - digits) + 2);
  out.append(field).push_back('[');
  out.append(digits, end).push_back(']');
  return out;
}

Error MissingField(const std::string& field) {
  return MakeError(ErrorCode::kInvalidRequest, fmt::format("'{}' is required", field), field);
}

Status ReadString(simdjson::dom::element v, const std::string& field, std::string& out) {
  std::string_view s;
  if (v.get_string().get(s)) return Fail(FieldError(field, "a string", v));
  out.assign(s);
  return {};
}

Status ReadString(simdjson::dom::element v, const std::string& base, std::string_view suffix,
                  std::string& out) {
  std::string_view s;
  if (v.get_string().get(s)) return Fail(FieldError(base + std::string(suffix), "a string", v));
  out.assign(s);
  return {};
}

Status ReadDouble(simdjson::dom::element v, const std::string& field, std::optional<double>& out) {
  if (v.is_null()) return {};
  double d;
  if (v.get_double().get(d)) return Fail(FieldError(field, "a number", v));
  out = d;
  return {};
}

Status ReadInt(simdjson::dom::element v, const std::string& field, std::optional<int64_t>& out) {
  if (v.is_null()) return {};
  int64_t i;
  if (v.get_int64().get(i)) return Fail(FieldError(field, "an integer", v));
  out = i;
  return {};
}

Status ReadBool(simdjson::dom::element v, const std::string& field, std::optional<bool>& out) {
  if (v.is_null()) return {};
  bool b;
  if (v.get_bool().get(b)) return Fail(FieldError(field, "a boolean", v));
  out = b;
  return {};
}

simdjson::dom::parser& NestedParser() {
  thread_local simdjson::dom::parser parser;
  return parser;
}

std::string_view StrField(simdjson::dom::element v, std::string_view key) {
  std::string_view s;
  if (v[key].get_string().get(s)) return {};
  return s;
}

int64_t IntField(simdjson::dom::element v, std::string_view key) {
  int64_t i;
  if (v[key].get_int64().get(i)) return 0;
  return i;
}

bool BoolField(simdjson::dom::element v, std::string_view key) {
  bool b;
  if (v[key].get_bool().get(b)) return false;
  return b;
}

std::string_view JsonTypeName(simdjson::dom::element_type t) {
  using T = simdjson::dom::element_type;
  switch (t) {
    case T::ARRAY:
      return "an array";
    case T::OBJECT:
      return "an object";
    case T::INT64:
    case T::UINT64:
      return "an integer";
    case T::DOUBLE:
      return "a number";
    case T::STRING:
      return "a string";
    case T::BOOL:
      return "a boolean";
    case T::NULL_VALUE:
      return "null";
  }
  return "a value";
}

}  // namespace hybridgate::api
