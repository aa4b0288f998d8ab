// generateContent / streamGenerateContent ingress body -> ChatRequest. Gemini turns hold parts of
// several kinds; a model turn becomes one assistant message (text, thoughts, tool calls), a user
// turn the tool messages for its functionResponse parts followed by one user message for the rest.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "api/gemini/gemini.h"
#include "api/gemini/internal.h"
#include "api/json.h"
#include "common/json_writer.h"

namespace hybridgate::api::gemini {
namespace internal {

bool KeyIs(std::string_view key, std::string_view camel) {
  size_t j = 0;
  for (size_t i = 0; i < key.size(); ++i, ++j) {
    char c = key[i];
    if (c == '_' && i + 1 < key.size()) c = static_cast<char>(std::toupper(key[++i]));
    if (j >= camel.size() || camel[j] != c) return false;
  }
  return j == camel.size();
}

bool Find(simdjson::dom::element obj, std::string_view camel, simdjson::dom::element& out) {
  simdjson::dom::object o;
  if (obj.get_object().get(o)) return false;
  for (auto [key, value] : o) {
    if (KeyIs(key, camel)) {
      out = value;
      return true;
    }
  }
  return false;
}

}  // namespace internal

namespace {

using internal::Find;
using internal::KeyIs;
using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

Error Invalid(const std::string& field, std::string message) {
  return MakeError(ErrorCode::kInvalidRequest, std::move(message), field);
}

Status RequiredString(element obj, std::string_view key, const std::string& field,
                      std::string& out) {
  element v;
  if (!Find(obj, key, v)) return Fail(MissingField(field));
  return ReadString(v, field, out);
}

Result<array> RequiredArray(element v, const std::string& field) {
  array a;
  if (v.get_array().get(a)) return Fail(FieldError(field, "an array", v));
  return a;
}

std::string Camel(std::string_view key) {
  std::string out;
  for (size_t i = 0; i < key.size(); ++i) {
    if (key[i] == '_' && i + 1 < key.size()) {
      out += static_cast<char>(std::toupper(key[++i]));
    } else {
      out += key[i];
    }
  }
  return out;
}

// --- Google's Schema (an OpenAPI 3.0 subset, upper-case types) -> JSON Schema --------------------

void WriteSchema(element s, JsonWriter& w);

void WriteType(element t, bool nullable, JsonWriter& w) {
  auto lower = [](std::string_view v) {
    std::string l(v);
    std::ranges::transform(l, l.begin(), [](unsigned char c) { return std::tolower(c); });
    return l;
  };
  std::string_view one;
  if (!t.get_string().get(one)) {
    if (!nullable) {
      w.String(lower(one));
    } else {
      w.BeginArray().String(lower(one)).String("null").EndArray();
    }
    return;
  }
  array many;
  if (t.get_array().get(many)) {
    w.Raw(simdjson::minify(t));
    return;
  }
  w.BeginArray();
  for (element e : many) {
    if (e.get_string().get(one)) {
      w.Raw(simdjson::minify(e));
    } else {
      w.String(lower(one));
    }
  }
  w.EndArray();
}

void WriteSchemaMember(std::string_view key, element v, bool nullable, JsonWriter& w) {
  if (KeyIs(key, "type")) {
    w.Key("type");
    WriteType(v, nullable, w);
  } else if (object props; (KeyIs(key, "properties") || key == "$defs" || key == "definitions") &&
                           !v.get_object().get(props)) {
    w.Key(KeyIs(key, "properties") ? "properties" : key).BeginObject();
    for (auto [name, sub] : props) {  // property names are the user's, kept as they are
      w.Key(name);
      WriteSchema(sub, w);
    }
    w.EndObject();
  } else if (array subs; (KeyIs(key, "anyOf") || KeyIs(key, "oneOf") || KeyIs(key, "allOf") ||
                          KeyIs(key, "prefixItems")) &&
                         !v.get_array().get(subs)) {
    w.Key(Camel(key)).BeginArray();
    for (element sub : subs) WriteSchema(sub, w);
    w.EndArray();
  } else if (KeyIs(key, "items") || KeyIs(key, "additionalProperties") || key == "not") {
    w.Key(Camel(key));
    WriteSchema(v, w);
  } else {
    w.Key(Camel(key)).Raw(simdjson::minify(v));
  }
}

void WriteSchema(element s, JsonWriter& w) {
  object o;
  if (s.get_object().get(o)) {
    w.Raw(simdjson::minify(s));  // true/false schemas
    return;
  }
  bool nullable = false;
  if (element n; Find(s, "nullable", n) && n.get_bool().get(nullable)) nullable = false;
  w.BeginObject();
  for (auto [key, value] : o) {
    if (KeyIs(key, "nullable") || KeyIs(key, "propertyOrdering")) continue;
    WriteSchemaMember(key, value, nullable, w);
  }
  w.EndObject();
}

// --- contents ------------------------------------------------------------------------------------

// What one Part holds. Exactly one data member is expected; `thought` and `signature` qualify it.
struct PartView {
  enum class Kind : uint8_t { kNone, kText, kInline, kFile, kCall, kResponse } kind = Kind::kNone;
  element data;
  bool thought = false;
  std::string_view signature;
  std::string_view unsupported;  // a data member HybridGate cannot translate
};

Status ReadPartView(element p, const std::string& field, PartView& view) {
  object o;
  if (p.get_object().get(o)) return Fail(FieldError(field, "an object", p));
  using K = PartView::Kind;
  for (auto [key, value] : o) {
    K kind = K::kNone;
    if (KeyIs(key, "text")) {
      kind = K::kText;
    } else if (KeyIs(key, "inlineData")) {
      kind = K::kInline;
    } else if (KeyIs(key, "fileData")) {
      kind = K::kFile;
    } else if (KeyIs(key, "functionCall")) {
      kind = K::kCall;
    } else if (KeyIs(key, "functionResponse")) {
      kind = K::kResponse;
    } else if (KeyIs(key, "thought")) {
      if (value.get_bool().get(view.thought)) {
        return Fail(FieldError(field + ".thought", "a boolean", value));
      }
    } else if (KeyIs(key, "thoughtSignature")) {
      if (value.get_string().get(view.signature)) {
        return Fail(FieldError(field + ".thoughtSignature", "a string", value));
      }
    } else if (KeyIs(key, "executableCode") || KeyIs(key, "codeExecutionResult") ||
               KeyIs(key, "videoMetadata") || KeyIs(key, "toolCall") ||
               KeyIs(key, "toolResponse")) {
      view.unsupported = key;
    }  // partMetadata, mediaResolution and unknown members: nothing to translate
    if (kind == K::kNone) continue;
    view.kind = kind;
    view.data = value;
  }
  if (!view.unsupported.empty()) {
    return Fail(Invalid(
        fmt::format("{}.{}", field, view.unsupported),
        fmt::format("'{}.{}' parts are not supported by this gateway", field, view.unsupported)));
  }
  if (view.kind == K::kNone) {
    return Fail(Invalid(field, fmt::format("'{}' must have one of text, inlineData, fileData, "
                                           "functionCall, functionResponse",
                                           field)));
  }
  return {};
}

Status ReadImage(const PartView& view, const std::string& field, ContentPart& part) {
  const bool inline_data = view.kind == PartView::Kind::kInline;
  const std::string f = field + (inline_data ? ".inlineData" : ".fileData");
  if (!view.data.is_object()) return Fail(FieldError(f, "an object", view.data));
  std::string mime, data;
  if (element m; Find(view.data, "mimeType", m)) HG_TRY(ReadString(m, f + ".mimeType", mime));
  if (inline_data && mime.empty()) return Fail(MissingField(f + ".mimeType"));
  if (!mime.empty() && !mime.starts_with("image/")) {
    return Fail(Invalid(f + ".mimeType",
                        fmt::format("'{}.mimeType' '{}' is not supported: only images can be "
                                    "translated for other providers",
                                    f, mime)));
  }
  part.kind = ContentPart::Kind::kImage;
  if (!inline_data) return RequiredString(view.data, "fileUri", f + ".fileUri", part.image_url);
  HG_TRY(RequiredString(view.data, "data", f + ".data", data));
  part.image_url = fmt::format("data:{};base64,{}", mime, data);
  return {};
}

struct CallRef {
  std::string id;
  std::string name;
  bool answered = false;
};

void AppendSignature(std::string& list, std::string_view signature) {
  list += list.empty() ? "[" : ",";
  AppendJsonString(list, signature);
}

Status ReadFunctionCall(const PartView& view, const std::string& field, std::string default_id,
                        ToolCall& tc) {
  const std::string f = field + ".functionCall";
  if (!view.data.is_object()) return Fail(FieldError(f, "an object", view.data));
  HG_TRY(RequiredString(view.data, "name", f + ".name", tc.name));
  if (element id; Find(view.data, "id", id) && !id.is_null())
    HG_TRY(ReadString(id, f + ".id", tc.id));
  if (tc.id.empty()) tc.id = std::move(default_id);
  tc.arguments = "{}";
  if (element args; Find(view.data, "args", args) && !args.is_null()) {
    if (!args.is_object()) return Fail(FieldError(f + ".args", "an object", args));
    tc.arguments = simdjson::minify(args);
  }
  return {};
}

class ContentsReader {
 public:
  explicit ContentsReader(std::vector<Message>& out) : out_(out) {}

  Status Turn(element content, size_t index) {
    const std::string field = IndexedField("contents", index);
    if (!content.is_object()) return Fail(FieldError(field, "an object", content));
    std::string role = "user";
    if (element r; Find(content, "role", r) && !r.is_null()) {
      HG_TRY(ReadString(r, field + ".role", role));
    }
    if (role != "user" && role != "model" && role != "function") {
      return Fail(Invalid(field + ".role",
                          fmt::format("'{}.role' must be 'user' or 'model', got '{}' (system "
                                      "prompts go in 'systemInstruction')",
                                      field, role)));
    }
    element parts_v;
    if (!Find(content, "parts", parts_v)) return Fail(MissingField(field + ".parts"));
    auto parts = RequiredArray(parts_v, field + ".parts");
    if (!parts) return Fail(std::move(parts.error()));
    if (parts->size() == 0) {
      return Fail(Invalid(field + ".parts", fmt::format("'{}.parts' must not be empty", field)));
    }
    return role == "model" ? ModelTurn(*parts, field, index) : UserTurn(*parts, field);
  }

 private:
  Status ModelTurn(array parts, const std::string& field, size_t index) {
    Message m;
    m.role = "assistant";
    std::string call_signatures, text_signature;
    bool any_call_signature = false;
    size_t j = 0;
    for (element p : parts) {
      const std::string f = fmt::format("{}.parts[{}]", field, j);
      PartView view;
      HG_TRY(ReadPartView(p, f, view));
      switch (view.kind) {
        case PartView::Kind::kText: {
          std::string text;
          HG_TRY(ReadString(view.data, f + ".text", text));
          (view.thought ? m.reasoning_content : m.text) += text;
          if (!view.thought && !view.signature.empty()) text_signature.assign(view.signature);
          break;
        }
        case PartView::Kind::kCall: {
          ToolCall& tc = m.tool_calls.emplace_back();
          HG_TRY(ReadFunctionCall(view, f, fmt::format("call_{}_{}", index, j), tc));
          calls_.push_back({tc.id, tc.name});
          AppendSignature(call_signatures, view.signature);
          any_call_signature |= !view.signature.empty();
          break;
        }
        default:
          return Fail(Invalid(f, fmt::format("'{}': model turns may hold text and functionCall "
                                             "parts only",
                                             f)));
      }
      ++j;
    }
    if (any_call_signature) {
      m.extra.push_back({std::string(kToolCallSignaturesKey), call_signatures + "]"});
    }
    if (!text_signature.empty()) {
      std::string json;
      AppendJsonString(json, text_signature);
      m.extra.push_back({std::string(kTextSignatureKey), std::move(json)});
    }
    m.content_is_null = m.text.empty() && !m.tool_calls.empty();
    out_.push_back(std::move(m));
    return {};
  }

  Status UserTurn(array parts, const std::string& field) {
    std::vector<ContentPart> content;
    size_t j = 0;
    for (element p : parts) {
      const std::string f = fmt::format("{}.parts[{}]", field, j++);
      PartView view;
      HG_TRY(ReadPartView(p, f, view));
      switch (view.kind) {
        case PartView::Kind::kText:
          HG_TRY(ReadString(view.data, f + ".text", content.emplace_back().text));
          break;
        case PartView::Kind::kInline:
        case PartView::Kind::kFile:
          HG_TRY(ReadImage(view, f, content.emplace_back()));
          break;
        case PartView::Kind::kResponse:
          HG_TRY(FunctionResponse(view, f));
          break;
        default:
          return Fail(Invalid(f, fmt::format("'{}': functionCall parts belong in model turns", f)));
      }
    }
    if (content.empty()) return {};  // only function responses
    Message& m = out_.emplace_back();
    m.role = "user";
    if (content.size() == 1 && content[0].kind == ContentPart::Kind::kText) {
      m.text = std::move(content[0].text);
    } else {
      m.parts = std::move(content);
      m.content_is_parts = true;
    }
    return {};
  }

  Status FunctionResponse(const PartView& view, const std::string& field) {
    const std::string f = field + ".functionResponse";
    if (!view.data.is_object()) return Fail(FieldError(f, "an object", view.data));
    std::string name, id;
    HG_TRY(RequiredString(view.data, "name", f + ".name", name));
    if (element v; Find(view.data, "id", v) && !v.is_null()) HG_TRY(ReadString(v, f + ".id", id));
    CallRef* call = nullptr;
    for (CallRef& c : calls_) {
      if (!c.answered && !id.empty() && c.id == id) call = &c;
    }
    for (CallRef& c : calls_) {
      if (call == nullptr && !c.answered && c.name == name) call = &c;
    }
    if (call == nullptr) {
      return Fail(Invalid(f + ".name",
                          fmt::format("'{}.name': no earlier functionCall named '{}' is waiting "
                                      "for a response",
                                      f, name)));
    }
    call->answered = true;
    Message& m = out_.emplace_back();
    m.role = "tool";
    m.tool_call_id = call->id;
    element response;
    if (Find(view.data, "response", response) && !response.is_null()) {
      if (!response.is_object()) return Fail(FieldError(f + ".response", "an object", response));
      m.text = simdjson::minify(response);
    } else {
      m.text = "{}";
    }
    return {};
  }

  std::vector<Message>& out_;
  std::vector<CallRef> calls_;
};

Status ReadSystem(element v, std::vector<Message>& out) {
  Message& m = out.emplace_back();
  m.role = "system";
  if (v.is_string()) return ReadString(v, "systemInstruction", m.text);
  element parts_v;
  if (!v.is_object() || !Find(v, "parts", parts_v)) {
    return Fail(FieldError("systemInstruction", "a Content object with 'parts'", v));
  }
  auto parts = RequiredArray(parts_v, "systemInstruction.parts");
  if (!parts) return Fail(std::move(parts.error()));
  size_t j = 0;
  for (element p : *parts) {
    const std::string f = fmt::format("systemInstruction.parts[{}]", j++);
    std::string text;
    HG_TRY(RequiredString(p, "text", f + ".text", text));
    if (!m.text.empty() && !text.empty()) m.text += "\n";
    m.text += text;
  }
  return {};
}

}  // namespace

std::string internal::SchemaToJsonSchema(simdjson::dom::element schema) {
  std::string out;
  JsonWriter w(out);
  WriteSchema(schema, w);
  return out;
}

Result<ChatRequest> DecodeRequest(std::string& body, std::string_view model, bool stream) {
  auto root = ParseJson(body);
  if (!root) return Fail(std::move(root.error()));
  object obj;
  if (root->get_object().get(obj)) {
    return Fail(MakeError(ErrorCode::kInvalidRequest, "request body must be a JSON object"));
  }
  ChatRequest req;
  req.ingress = ChatRequest::Dialect::kGemini;
  req.model.assign(model);
  req.stream = stream;
  if (stream) req.include_usage = true;  // Gemini streams always carry usageMetadata
  // The system instruction is read first so that it leads the message list wherever it appears.
  if (element sys; Find(*root, "systemInstruction", sys) && !sys.is_null()) {
    HG_TRY(ReadSystem(sys, req.messages));
  }
  bool has_contents = false;
  ContentsReader contents(req.messages);
  for (auto [key, value] : obj) {
    if (KeyIs(key, "systemInstruction") || key == "model") continue;
    if (KeyIs(key, "contents")) {
      auto arr = RequiredArray(value, "contents");
      if (!arr) return Fail(std::move(arr.error()));
      size_t i = 0;
      for (element c : *arr) HG_TRY(contents.Turn(c, i++));
      has_contents = i > 0;
    } else if (KeyIs(key, "tools")) {
      HG_TRY(internal::ReadTools(value, req.tools));
    } else if (KeyIs(key, "toolConfig")) {
      HG_TRY(internal::ReadToolConfig(value, req.tool_choice));
    } else if (KeyIs(key, "generationConfig")) {
      HG_TRY(internal::ReadGenerationConfig(value, req));
    } else {
      req.extra.push_back({std::string(key), simdjson::minify(value)});
    }
  }
  if (!has_contents) {
    return Fail(Invalid("contents", "'contents' must contain at least one Content"));
  }
  return req;
}

}  // namespace hybridgate::api::gemini
