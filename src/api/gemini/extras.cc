// countTokens, embedContent and batchEmbedContents (see extras.h).
#include "api/gemini/extras.h"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "api/gemini/gemini.h"
#include "api/json.h"
#include "common/json_writer.h"

namespace hybridgate::api::gemini {
namespace {

using simdjson::dom::element;

Error Invalid(std::string field, std::string message) {
  Error e = MakeError(ErrorCode::kInvalidRequest, std::move(message));
  e.param = std::move(field);
  return e;
}

// A field in camelCase or snake_case, as Google's JSON mapping accepts either.
bool Get(element obj, std::string_view camel, std::string_view snake, element& out) {
  return !obj[camel].get(out) || (!snake.empty() && !obj[snake].get(out));
}

// One EmbedContentRequest -> its text (parts joined by "\n"); `field` names it in errors.
Result<std::string> EmbedText(element request, const std::string& field, std::string_view model,
                              std::optional<int64_t>& dimensions) {
  if (!request.is_object())
    return Fail(Invalid(field, fmt::format("'{}' must be an object", field)));
  if (element m; !request["model"].get(m)) {
    std::string_view name;
    if (m.get_string().get(name)) return Fail(FieldError(field + ".model", "a string", m));
    if (name.starts_with("models/")) name.remove_prefix(7);
    if (name != model) {
      return Fail(Invalid(field + ".model",
                          fmt::format("'{}.model' is models/{}, but the path names models/{}",
                                      field, name, model)));
    }
  }
  element content;
  simdjson::dom::array parts;
  if (request["content"].get(content)) return Fail(MissingField(field + ".content"));
  if (content["parts"].get_array().get(parts) || parts.size() == 0) {
    return Fail(Invalid(field + ".content.parts",
                        fmt::format("'{}.content.parts' must hold at least one part", field)));
  }
  std::string text;
  size_t i = 0;
  for (element part : parts) {
    const std::string pf = IndexedField(field + ".content.parts", i++);
    std::string_view t;
    if (part["text"].get_string().get(t)) {
      return Fail(Invalid(pf, fmt::format("'{}' must be a text part: only text can be embedded "
                                          "through HybridGate",
                                          pf)));
    }
    if (!text.empty()) text.push_back('\n');
    text.append(t);
  }
  if (element d; Get(request, "outputDimensionality", "output_dimensionality", d)) {
    int64_t n = 0;
    if (d.get_int64().get(n) || n < 1) {
      return Fail(FieldError(field + ".outputDimensionality", "a positive integer", d));
    }
    if (dimensions && *dimensions != n) {
      return Fail(Invalid(field + ".outputDimensionality",
                          "every request of a batch must ask for the same outputDimensionality"));
    }
    dimensions = n;
  }
  return text;
}

}  // namespace

Status DecodeCountTokensInto(std::string_view body, std::string_view model, ChatRequest& req) {
  auto root = ParseJsonView(body);
  if (!root) return Fail(std::move(root.error()));
  if (!root->is_object()) {
    return Fail(MakeError(ErrorCode::kInvalidRequest, "request body must be a JSON object"));
  }
  // Either the contents alone, or a whole GenerateContentRequest (system instruction, tools).
  std::string inner;
  if (element g; Get(*root, "generateContentRequest", "generate_content_request", g)) {
    // The inner request's own model is the path's.
    std::string out;
    JsonWriter w(out);
    w.BeginObject();
    simdjson::dom::object members;
    if (g.get_object().get(members))
      return Fail(FieldError("generateContentRequest", "an object", g));
    for (auto [key, value] : members) {
      if (key != "model") w.RawField(key, simdjson::minify(value));
    }
    w.EndObject();
    inner = std::move(out);
  } else {
    element contents;
    if (root->at_key("contents").get(contents)) return Fail(MissingField("contents"));
    std::string out;
    JsonWriter(out).BeginObject().RawField("contents", simdjson::minify(contents)).EndObject();
    inner = std::move(out);
  }
  auto decoded = DecodeRequest(inner, model, false);
  if (!decoded) return Fail(std::move(decoded.error()));
  req = std::move(*decoded);
  return {};
}

Result<std::string> EncodeCountTokensRequest(const ChatRequest& req, std::string_view model_id) {
  std::string generate;
  if (auto s = EncodeRequest(req, generate); !s) return Fail(std::move(s.error()));
  if (model_id.starts_with("models/")) model_id.remove_prefix(7);
  // {"model": ..., <the generateContent body's members>}: splice the model in after the '{'.
  std::string out = R"({"generateContentRequest":{"model":)";
  JsonWriter(out).String(fmt::format("models/{}", model_id));
  const std::string_view members = std::string_view(generate).substr(1);  // "...}" or "}"
  if (members != "}") out.push_back(',');
  out.append(members).push_back('}');
  return out;
}

std::string EncodeTokenCount(int64_t tokens) {
  std::string out;
  JsonWriter(out).BeginObject().Field("totalTokens", tokens).EndObject();
  return out;
}

Result<int64_t> DecodeTokenCount(std::string_view body) {
  auto root = ParseJsonView(body);
  int64_t n = 0;
  if (!root || (*root)["totalTokens"].get_int64().get(n) || n < 0) {
    return Fail(MakeError(ErrorCode::kUpstreamUnavailable,
                          "the upstream's countTokens answer carries no totalTokens"));
  }
  return n;
}

Result<std::string> EmbedRequestToOpenAi(std::string_view body, std::string_view model,
                                         bool batch) {
  auto root = ParseJsonView(body);
  if (!root) return Fail(std::move(root.error()));
  if (!root->is_object()) {
    return Fail(MakeError(ErrorCode::kInvalidRequest, "request body must be a JSON object"));
  }
  std::vector<std::string> inputs;
  std::optional<int64_t> dimensions;
  if (batch) {
    element requests;
    simdjson::dom::array list;
    if (root->at_key("requests").get(requests)) return Fail(MissingField("requests"));
    if (requests.get_array().get(list) || list.size() == 0) {
      return Fail(Invalid("requests", "'requests' must be an array of at least one request"));
    }
    size_t i = 0;
    for (element r : list) {
      auto text = EmbedText(r, IndexedField("requests", i++), model, dimensions);
      if (!text) return Fail(std::move(text.error()));
      inputs.push_back(std::move(*text));
    }
  } else {
    auto text = EmbedText(*root, "request", model, dimensions);
    if (!text) {
      // Name the fields as the client wrote them: "content.parts", not "request.content.parts".
      Error e = std::move(text.error());
      if (e.param.starts_with("request.")) e.param.erase(0, 8);
      return Fail(std::move(e));
    }
    inputs.push_back(std::move(*text));
  }
  std::string out;
  JsonWriter w(out);
  w.BeginObject().Field("model", model).Key("input");
  if (batch) {
    w.BeginArray();
    for (const std::string& s : inputs) w.String(s);
    w.EndArray();
  } else {
    w.String(inputs.front());
  }
  if (dimensions) w.Field("dimensions", *dimensions);
  w.Field("encoding_format", "float").EndObject();
  return out;
}

Result<std::string> EmbedRequestForGemini(std::string_view body, std::string_view model_id,
                                          bool batch) {
  auto root = ParseJsonView(body);
  if (!root) return Fail(std::move(root.error()));
  simdjson::dom::object obj;
  if (root->get_object().get(obj)) {
    return Fail(MakeError(ErrorCode::kInvalidRequest, "request body must be a JSON object"));
  }
  const std::string model = fmt::format("models/{}", model_id);
  std::string out;
  out.reserve(body.size() + 64);
  JsonWriter w(out);
  w.BeginObject();
  for (auto [key, value] : obj) {
    if (key == "model") {
      w.Field(key, model);
    } else if (simdjson::dom::array requests;
               batch && key == "requests" && !value.get_array().get(requests)) {
      w.Key(key).BeginArray();
      for (element r : requests) {
        simdjson::dom::object request;
        if (r.get_object().get(request)) {
          w.Raw(simdjson::minify(r));
          continue;
        }
        w.BeginObject().Field("model", model);
        for (auto [k, v] : request) {
          if (k != "model") w.RawField(k, simdjson::minify(v));
        }
        w.EndObject();
      }
      w.EndArray();
    } else {
      w.RawField(key, simdjson::minify(value));
    }
  }
  w.EndObject();
  return out;
}

Result<std::string> EmbedAnswerFromOpenAi(std::string_view openai_body, bool batch) {
  auto root = ParseJsonView(openai_body);
  const auto bad = [](std::string_view what) {
    return Fail(MakeError(ErrorCode::kUpstreamUnavailable,
                          fmt::format("the upstream's embeddings answer {}", what)));
  };
  if (!root) return bad("is not JSON");
  simdjson::dom::array data;
  if ((*root)["data"].get_array().get(data)) return bad("has no data array");
  std::vector<std::pair<int64_t, std::string>> vectors;
  for (element item : data) {
    element embedding;
    if (item["embedding"].get(embedding) || !embedding.is_array()) {
      return bad("has an embedding that is not an array of numbers");
    }
    int64_t index = static_cast<int64_t>(vectors.size());
    if (int64_t i; !item["index"].get_int64().get(i)) index = i;
    vectors.emplace_back(index, simdjson::minify(embedding));
  }
  std::stable_sort(vectors.begin(), vectors.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  if (vectors.empty() || (!batch && vectors.size() != 1)) {
    return bad(fmt::format("has {} embeddings", vectors.size()));
  }
  std::string out;
  JsonWriter w(out);
  w.BeginObject();
  if (batch) {
    w.Key("embeddings").BeginArray();
    for (const auto& [i, values] : vectors) w.BeginObject().RawField("values", values).EndObject();
    w.EndArray();
  } else {
    w.Key("embedding").BeginObject().RawField("values", vectors.front().second).EndObject();
  }
  w.EndObject();
  return out;
}

}  // namespace hybridgate::api::gemini
