// The non-content parts of a Gemini ingress body: tools, toolConfig and generationConfig. What
// ChatRequest does not model in generationConfig is kept (kGenerationConfigKey) for a Gemini
// upstream.
#include <fmt/format.h>

#include "api/gemini/gemini.h"
#include "api/gemini/internal.h"
#include "api/json.h"
#include "common/json_writer.h"

namespace hybridgate::api::gemini::internal {
namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

Error Invalid(const std::string& field, std::string message) {
  return MakeError(ErrorCode::kInvalidRequest, std::move(message), field);
}

Status ReadDeclaration(element d, const std::string& field, Tool& tool) {
  if (!d.is_object()) return Fail(FieldError(field, "an object", d));
  element v;
  if (!Find(d, "name", v)) return Fail(MissingField(field + ".name"));
  HG_TRY(ReadString(v, field + ".name", tool.name));
  if (Find(d, "description", v) && !v.is_null()) {
    HG_TRY(ReadString(v, field + ".description", tool.description));
  }
  if (Find(d, "parametersJsonSchema", v) && !v.is_null()) {
    if (!v.is_object()) return Fail(FieldError(field + ".parametersJsonSchema", "an object", v));
    tool.parameters_json = simdjson::minify(v);
  } else if (Find(d, "parameters", v) && !v.is_null()) {
    if (!v.is_object()) return Fail(FieldError(field + ".parameters", "an object", v));
    tool.parameters_json = SchemaToJsonSchema(v);
  }
  return {};
}

// thinkingConfig -> reasoning_effort (see gemini.h).
Status ReadThinking(element v, ChatRequest& req) {
  const std::string f = "generationConfig.thinkingConfig";
  if (!v.is_object()) return Fail(FieldError(f, "an object", v));
  element e;
  if (Find(v, "thinkingLevel", e) && !e.is_null()) {
    std::string level;
    HG_TRY(ReadString(e, f + ".thinkingLevel", level));
    if (level == "MINIMAL" || level == "LOW" || level == "MEDIUM" || level == "HIGH") {
      for (char c : level) req.reasoning_effort += static_cast<char>(c - 'A' + 'a');
    } else if (level != "THINKING_LEVEL_UNSPECIFIED") {
      return Fail(Invalid(f + ".thinkingLevel",
                          fmt::format("'{}.thinkingLevel' must be MINIMAL, LOW, MEDIUM or HIGH, "
                                      "got '{}'",
                                      f, level)));
    }
    return {};
  }
  std::optional<int64_t> budget;
  if (Find(v, "thinkingBudget", e)) HG_TRY(ReadInt(e, f + ".thinkingBudget", budget));
  if (!budget) return {};
  if (*budget == 0) {
    req.reasoning_effort = "none";
  } else if (*budget < 0 || (*budget > 1024 && *budget <= 8192)) {
    req.reasoning_effort = "medium";  // -1: dynamic thinking
  } else {
    req.reasoning_effort = *budget <= 1024 ? "low" : "high";
  }
  return {};
}

Status ReadResponseFormat(std::string_view mime, const std::optional<element>& schema,
                          bool json_schema, ChatRequest& req) {
  if (mime != "application/json") return {};  // text/plain, text/x.enum: plain text
  ResponseFormat& rf = req.response_format;
  JsonWriter w(rf.raw);
  if (!schema) {
    rf.kind = ResponseFormat::Kind::kJsonObject;
    w.BeginObject().Field("type", "json_object").EndObject();
    return {};
  }
  rf.kind = ResponseFormat::Kind::kJsonSchema;
  rf.schema_name = "response";
  rf.schema_json =
      json_schema ? std::string(simdjson::minify(*schema)) : SchemaToJsonSchema(*schema);
  w.BeginObject().Field("type", "json_schema").Key("json_schema").BeginObject();
  w.Field("name", rf.schema_name).RawField("schema", rf.schema_json).EndObject().EndObject();
  return {};
}

Result<bool> Known(Status s) {
  if (!s) return Fail(std::move(s.error()));
  return true;
}

// One generationConfig member; false when ChatRequest does not model it.
Result<bool> ReadGenerationField(std::string_view key, element v, ChatRequest& req) {
  const std::string f = fmt::format("generationConfig.{}", key);
  if (KeyIs(key, "temperature")) return Known(ReadDouble(v, f, req.temperature));
  if (KeyIs(key, "topP")) return Known(ReadDouble(v, f, req.top_p));
  if (KeyIs(key, "topK")) {
    std::optional<double> k;
    HG_TRY(ReadDouble(v, f, k));
    if (k) req.top_k = static_cast<int64_t>(*k);
    return true;
  }
  if (KeyIs(key, "maxOutputTokens")) return Known(ReadInt(v, f, req.max_tokens));
  if (KeyIs(key, "seed")) return Known(ReadInt(v, f, req.seed));
  if (KeyIs(key, "presencePenalty")) {
    return Known(ReadDouble(v, f, req.presence_penalty));
  }
  if (KeyIs(key, "frequencyPenalty")) {
    return Known(ReadDouble(v, f, req.frequency_penalty));
  }
  if (KeyIs(key, "responseLogprobs")) return Known(ReadBool(v, f, req.logprobs));
  if (KeyIs(key, "logprobs")) return Known(ReadInt(v, f, req.top_logprobs));
  if (KeyIs(key, "candidateCount")) {
    std::optional<int64_t> n;
    HG_TRY(ReadInt(v, f, n));
    if (n && *n != 1) {
      return Fail(Invalid("generationConfig.candidateCount",
                          "'generationConfig.candidateCount' must be 1: this gateway returns one "
                          "candidate per request"));
    }
    return true;
  }
  if (KeyIs(key, "stopSequences")) {
    array arr;
    if (v.get_array().get(arr)) return Fail(FieldError(f, "an array of strings", v));
    size_t i = 0;
    for (element s : arr) HG_TRY(ReadString(s, IndexedField(f, i++), req.stop.emplace_back()));
    return true;
  }
  if (KeyIs(key, "thinkingConfig")) {
    HG_TRY(ReadThinking(v, req));
    return false;  // kept verbatim as well: a Gemini upstream gets the client's own settings
  }
  return false;
}

}  // namespace

bool IsResponseSchemaKey(std::string_view key) {
  return KeyIs(key, "responseSchema") || KeyIs(key, "responseJsonSchema") ||
         key == "_responseJsonSchema";
}

Status ReadTools(element v, std::vector<Tool>& out) {
  array tools;
  if (v.get_array().get(tools)) return Fail(FieldError("tools", "an array", v));
  size_t i = 0;
  for (element t : tools) {
    const std::string f = IndexedField("tools", i++);
    object o;
    if (t.get_object().get(o)) return Fail(FieldError(f, "an object", t));
    for (auto [key, value] : o) {
      if (!KeyIs(key, "functionDeclarations")) {
        return Fail(Invalid(fmt::format("{}.{}", f, key),
                            fmt::format("'{}.{}': only functionDeclarations tools can be served "
                                        "by this gateway",
                                        f, key)));
      }
      array decls;
      if (value.get_array().get(decls)) {
        return Fail(FieldError(f + ".functionDeclarations", "an array", value));
      }
      size_t j = 0;
      for (element d : decls) {
        HG_TRY(ReadDeclaration(d, fmt::format("{}.functionDeclarations[{}]", f, j++),
                               out.emplace_back()));
      }
    }
  }
  return {};
}

Status ReadToolConfig(element v, ToolChoice& out) {
  element fcc;
  if (!v.is_object()) return Fail(FieldError("toolConfig", "an object", v));
  if (!Find(v, "functionCallingConfig", fcc)) return {};  // retrievalConfig only
  const std::string f = "toolConfig.functionCallingConfig";
  std::string mode;
  if (element m; Find(fcc, "mode", m)) HG_TRY(ReadString(m, f + ".mode", mode));
  std::vector<std::string> allowed;
  if (element a; Find(fcc, "allowedFunctionNames", a)) {
    array arr;
    if (a.get_array().get(arr)) return Fail(FieldError(f + ".allowedFunctionNames", "an array", a));
    size_t i = 0;
    for (element n : arr) {
      HG_TRY(ReadString(n, fmt::format("{}.allowedFunctionNames[{}]", f, i++),
                        allowed.emplace_back()));
    }
  }
  using K = ToolChoice::Kind;
  // OpenAI-compatible upstreams get tool_choice.raw: written in OpenAI's shape.
  JsonWriter w(out.raw);
  if (mode == "AUTO" || mode == "VALIDATED") {
    out.kind = K::kAuto;
    w.String("auto");
  } else if (mode == "NONE") {
    out.kind = K::kNone;
    w.String("none");
  } else if (mode == "ANY" && allowed.size() == 1) {
    out.kind = K::kFunction;
    out.function_name = allowed[0];
    w.BeginObject().Field("type", "function").Key("function").BeginObject();
    w.Field("name", out.function_name).EndObject().EndObject();
  } else if (mode == "ANY") {
    out.kind = K::kRequired;  // several allowed names: OpenAI cannot narrow "required" to them
    w.String("required");
  } else if (!mode.empty() && mode != "MODE_UNSPECIFIED") {
    return Fail(Invalid(f + ".mode", fmt::format("'{}.mode' must be AUTO, ANY, NONE or "
                                                 "VALIDATED, got '{}'",
                                                 f, mode)));
  }
  return {};
}

Status ReadGenerationConfig(element v, ChatRequest& req) {
  object o;
  if (v.get_object().get(o)) return Fail(FieldError("generationConfig", "an object", v));
  std::string mime;
  std::optional<element> schema;
  bool json_schema = false;
  std::string kept;
  JsonWriter w(kept);
  w.BeginObject();
  for (auto [key, value] : o) {
    // The response schema is also kept as the client wrote it, so that a Gemini upstream gets
    // it unconverted (Google's Schema has propertyOrdering, which JSON Schema does not), and so
    // is a MIME type other than JSON's (text/x.enum), which other dialects have no form for.
    if (KeyIs(key, "responseMimeType")) {
      HG_TRY(ReadString(value, "generationConfig.responseMimeType", mime));
      if (mime != "application/json") w.RawField(key, simdjson::minify(value));
      continue;
    }
    if (IsResponseSchemaKey(key)) {
      if (!value.is_object()) {
        return Fail(FieldError(fmt::format("generationConfig.{}", key), "an object", value));
      }
      schema = value;
      json_schema = !KeyIs(key, "responseSchema");
      w.RawField(key, simdjson::minify(value));
      continue;
    }
    auto known = ReadGenerationField(key, value, req);
    if (!known) return Fail(std::move(known.error()));
    if (!*known) w.RawField(key, simdjson::minify(value));
  }
  w.EndObject();
  if (kept != "{}") req.extra.push_back({std::string(kGenerationConfigKey), std::move(kept)});
  return ReadResponseFormat(mime, schema, json_schema, req);
}

}  // namespace hybridgate::api::gemini::internal
