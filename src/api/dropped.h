// What a translation to another dialect leaves out. Cross-dialect translation maps what has an
// equivalent and drops what has none rather than forward a field the upstream would reject; the
// client learns what was dropped from the answer's x-hybridgate-dropped-fields header. `Dropped`
// collects those names as the client's own dialect spells them ("top_k",
// "generationConfig.seed", "cache_control", "tools:web_search_20250305"). Each egress encoder lists
// what it leaves out next to the encoder itself (api::ReportOpenAiChatDropped,
// anthropic::ReportDropped, gemini::ReportDropped); Provider::ReportDropped asks the provider that
// answered. Pure; the shared helpers below parse small JSON texts with a parser of their own.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "api/chat_request.h"

namespace hybridgate::api {

// A modeled request field that some upstream dialect has no equivalent for. One row each in
// FieldName's table, which says how each client dialect writes it.
enum class Field : uint8_t {
  kTemperature,
  kTopP,
  kTopK,
  kSeed,
  kN,
  kFrequencyPenalty,
  kPresencePenalty,
  kLogprobs,
  kTopLogprobs,
  kReasoning,          // reasoning_effort / thinking / generationConfig.thinkingConfig
  kMetadata,           // OpenAI's metadata object
  kUser,               // user / metadata.user_id
  kParallelToolCalls,  // parallel_tool_calls: false / tool_choice.disable_parallel_tool_use
  kToolStrict,         // a function tool's strict
  kMessageName,        // a message's name
  kCacheControl,       // Anthropic's prompt-caching markers, wherever they are
  kIsError,            // an Anthropic tool_result's is_error (the last: dropped.cc's table)
};

// `field` as a client of `dialect` writes it.
std::string_view FieldName(ChatRequest::Dialect dialect, Field field);

class Dropped {
 public:
  explicit Dropped(ChatRequest::Dialect client) : client_(client) {}

  // A name as the client wrote it. A repeated name counts once; bytes outside printable ASCII
  // and commas become '_'; past kMaxBytes the list stops growing (the header stays bounded).
  void Add(std::string_view name);
  void Add(Field field) { Add(FieldName(client_, field)); }
  // Each name of a comma-separated list (what the client's dialect dropped itself).
  void AddList(std::string_view names);

  ChatRequest::Dialect client() const { return client_; }
  bool empty() const { return list_.empty(); }
  // Comma-separated, in the order added.
  const std::string& list() const { return list_; }
  std::string TakeList() { return std::move(list_); }

  static constexpr size_t kMaxBytes = 512;

 private:
  ChatRequest::Dialect client_;
  std::string list_;
};

// What every encoder for an upstream whose dialect is not the client's drops alike:
// - ChatRequest::extra, the client's own fields that no other dialect shares: each named
//   (Gemini's kept generationConfig members as "generationConfig.<member>"), except what the
//   decoder mapped onto modeled fields — structured output (Anthropic's output_config.format or
//   output_format as a json_schema) — and thinking (Anthropic's thinking, Gemini's
//   generationConfig.thinkingConfig, an OpenAI client's reasoning_effort), which is named unless
//   `reasoning_carried` (the encoder sent its equivalent) or it asks for no thinking;
// - an OpenAI client's message names and the unknown fields of its messages (refusal,
//   function_call, ...) that are set: neither Anthropic's nor Gemini's messages have them.
void ReportForeignFields(const ChatRequest& req, bool reasoning_carried, Dropped& out);

// Anthropic's block-level markers, for an upstream that has neither: cache_control (on content
// blocks, tools, tool results and system blocks) and a tool_result's is_error.
void ReportAnthropicMarkers(const ChatRequest& req, Dropped& out);

// Tools that are not functions (an Anthropic server tool, an OpenAI custom tool), which an
// upstream of another dialect cannot run: "tools:<type>" each.
void ReportOtherTools(const ChatRequest& req, Dropped& out);

}  // namespace hybridgate::api
