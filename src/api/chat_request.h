// ChatRequest: the one internal request type. Every ingress dialect (OpenAI chat, later Anthropic
// Messages and Gemini) decodes into it once; every provider adapter encodes from it. Fields
// HybridGate does not model are kept as raw JSON (`extra`) and forwarded, so a new OpenAI parameter
// is never silently dropped. Owns all its strings: the parser's buffers may be reused right after.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hybridgate::api {

// A field kept verbatim: `json` is minified JSON text.
struct RawField {
  std::string key;
  std::string json;
};

struct ContentPart {
  enum class Kind : uint8_t { kText, kImage, kOther };
  Kind kind = Kind::kText;
  std::string text;       // kText
  std::string image_url;  // kImage: http(s) URL or data: URL
  std::string detail;     // kImage: "auto" | "low" | "high" | ""
  std::string raw;        // kOther: the whole part as JSON (input_audio, file, ...)
  // Anthropic's prompt-caching marker on this block ({"type":"ephemeral",...}, minified; "" when
  // none): what an Anthropic client set, re-sent to Anthropic upstreams, ignored by others.
  std::string cache_control;
};

struct ToolCall {
  std::string id;
  std::string type = "function";
  std::string name;
  std::string arguments;  // JSON text as the model produced it (may be invalid JSON)
  // A vendor "extra_content" object on the call, kept as raw JSON: Google's OpenAI-compatible
  // API puts a function call's thought signature there ({"google":{"thought_signature":…}}),
  // and Gemini 3 rejects function-call history without it.
  std::string extra_content;
};

// One Anthropic extended-thinking block of an assistant turn, kept as the model produced it:
// Anthropic rejects a tool-use continuation whose thinking block lost or changed its signature,
// or that dropped a redacted_thinking block. Other dialects see only Message::reasoning_content.
struct ThinkingBlock {
  bool redacted = false;  // type "redacted_thinking" (else "thinking")
  std::string thinking;   // "thinking": the text, also joined into Message::reasoning_content
  std::string signature;  // "thinking": opaque, must come back unchanged
  std::string data;       // "redacted_thinking": encrypted, opaque
};

struct Message {
  std::string role;  // system | developer | user | assistant | tool | function
  // Content is either a plain string (`parts` empty, `content_is_parts` false) or parts.
  std::string text;
  std::vector<ContentPart> parts;
  bool content_is_parts = false;
  bool content_is_null = false;  // assistant turns with only tool calls
  std::string name;
  std::string tool_call_id;
  std::vector<ToolCall> tool_calls;
  std::string reasoning_content;  // vLLM / DeepSeek style reasoning
  // Anthropic thinking blocks in their order (see ThinkingBlock). Their texts joined equal
  // reasoning_content as decoded; an encoder that finds otherwise (the text was rewritten, e.g.
  // redacted) must not send them.
  std::vector<ThinkingBlock> thinking_blocks;
  // A tool result (role "tool") from an Anthropic client: its tool_result block's is_error and
  // cache_control, re-sent to Anthropic upstreams. A system message's cache_control is its first
  // marked block's, which no encoder can send (its blocks are joined): only reported as dropped.
  bool is_error = false;
  std::string cache_control;
  std::vector<RawField> extra;
};

struct Tool {
  std::string type = "function";
  std::string name;
  std::string description;
  std::string parameters_json;  // JSON schema, minified; empty when absent
  std::optional<bool> strict;
  std::string raw;            // non-function tools are kept whole
  std::string cache_control;  // Anthropic's, as on ContentPart
};

struct ToolChoice {
  enum class Kind : uint8_t { kUnset, kAuto, kNone, kRequired, kFunction };
  Kind kind = Kind::kUnset;
  std::string function_name;
  std::string raw;  // as received
};

struct ResponseFormat {
  enum class Kind : uint8_t { kUnset, kText, kJsonObject, kJsonSchema };
  Kind kind = Kind::kUnset;
  std::string schema_name;
  std::string schema_json;  // json_schema.schema
  std::string raw;          // as received
};

struct ChatRequest {
  // The dialect the client spoke. `extra` holds that dialect's unknown fields, so an egress
  // encoder forwards them only to an upstream that speaks the same one.
  enum class Dialect : uint8_t { kOpenAi, kAnthropic, kGemini };
  Dialect ingress = Dialect::kOpenAi;

  std::string model;
  std::vector<Message> messages;
  std::vector<Tool> tools;
  ToolChoice tool_choice;
  std::optional<bool> parallel_tool_calls;
  ResponseFormat response_format;

  std::optional<double> temperature;
  std::optional<double> top_p;
  std::optional<int64_t> top_k;  // not OpenAI, but vLLM/llama.cpp accept it
  std::optional<double> frequency_penalty;
  std::optional<double> presence_penalty;
  std::optional<int64_t> max_tokens;
  std::optional<int64_t> max_completion_tokens;
  std::optional<int64_t> n;
  std::optional<int64_t> seed;
  std::vector<std::string> stop;
  // OpenAI's reasoning_effort: "none" | "minimal" | "low" | "medium" | "high" ("" when unset).
  // Anthropic egress maps it to thinking.budget_tokens and Gemini egress to
  // thinkingConfig.thinkingBudget (ReasoningBudget). The Anthropic and Gemini ingresses set it
  // from thinking / thinkingConfig; OpenAI-compatible upstreams get it only from an OpenAI-dialect
  // client (who knows whether its model takes it), verbatim.
  std::string reasoning_effort;

  bool stream = false;
  std::optional<bool> include_usage;  // stream_options.include_usage
  std::optional<bool> logprobs;
  std::optional<int64_t> top_logprobs;

  std::string user;
  std::string metadata_json;  // minified object; empty when absent
  std::vector<RawField> extra;

  // Faithful same-dialect passthrough. `native_body`: the client's body as canonical JSON
  // (api::CanonicalJson: what was decoded above), set by a dialect whose clients' requests may
  // reach an upstream of that same dialect as sent — only the model id replaced — because this
  // type does not model all of them (Anthropic: cache_control, system blocks, betas' fields).
  // Anything that rewrites the decoded request (redaction) must clear it; a provider of the
  // ingress dialect then re-encodes as usual. `dialect_headers`: the client's headers that belong
  // to its dialect (anthropic-beta, anthropic-version, OpenAI-Beta; names lower-case), forwarded
  // to providers of that dialect whether or not the body was rewritten.
  std::string native_body;
  std::vector<std::pair<std::string, std::string>> dialect_headers;
  // The client spoke OpenAI's Responses API (its ingress is kOpenAi: its `extra` and
  // reasoning_effort suit OpenAI-compatible chat upstreams). `native_body` is then a Responses
  // body, which an `openai` provider with `responses_api` sends to its /responses.
  bool responses_api = false;
  // Set when the request uses something only an upstream of the client's own API can do (a
  // Responses tool_choice that requires a built-in tool, a stored `conversation` or `prompt`):
  // the error message for every candidate that would get a translation instead (the executor
  // skips those; routing::Executor).
  std::string native_only;
  // The value of dialect header `name` ("" when the client sent none).
  std::string_view DialectHeader(std::string_view name) const;

  bool HasImages() const;
  bool HasTools() const { return !tools.empty(); }
  // Max output tokens the client asked for (max_completion_tokens wins), if any.
  std::optional<int64_t> MaxOutputTokens() const;
};

// Thinking-token budget for a reasoning_effort, shared by the Anthropic and Gemini encoders:
// none -> 0, minimal -> 1024 (Anthropic's minimum budget), low -> 2048, medium -> 8192,
// high -> 24576 (Gemini 2.5 Flash's maximum), xhigh -> 32768; nullopt for "" and unknown values.
std::optional<int64_t> ReasoningBudget(std::string_view effort);

}  // namespace hybridgate::api
