// The Anthropic Messages dialect (POST /v1/messages), both directions: ChatRequest <-> Anthropic
// request bodies, non-stream responses and SSE streams <-> OpenAI chat completions, and errors.
// Pure translation: bytes or events in, bytes or events out; no I/O, no clock, no globals.
// Wire format: Anthropic's Messages API reference and its "Streaming Messages" event list.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "api/chat_request.h"
#include "api/dropped.h"
#include "api/sse.h"
#include "common/result.h"

namespace hybridgate::api::anthropic {

// Extended thinking in OpenAI-shaped JSON (HybridGate's extension; what an Anthropic model's
// answer looks like to an OpenAI-dialect client, and what any client may send back):
// - a message (answer, or an assistant turn of a request) carries `reasoning_content` (the
//   thinking texts joined) and `thinking_blocks`: Anthropic's own blocks, in their order,
//   [{"type":"thinking","thinking":"...","signature":"..."}, {"type":"redacted_thinking",
//   "data":"..."}]. Replayed in the next request, they reach an Anthropic upstream unchanged
//   (ChatRequest: Message::thinking_blocks);
// - a stream chunk's delta carries `thinking_blocks` entries keyed by `index` (the block's
//   position among the turn's thinking blocks): {"index":k,"type":"thinking"} when block k
//   starts — its text then streams as `reasoning_content` deltas, not repeated here —,
//   {"index":k,"signature":"..."} when its signature arrives (whole, once), and
//   {"index":k,"type":"redacted_thinking","data":"..."} for a redacted block.
inline constexpr std::string_view kThinkingBlocksKey = "thinking_blocks";

struct EncodeOptions {
  std::string_view model;  // the upstream's model id (replaces req.model when not empty)
  // Anthropic requires max_tokens; used when the client set neither max_completion_tokens nor
  // max_tokens. 4096 fits every current Claude model's output limit.
  int64_t default_max_tokens = 4096;
  // ChatRequest::extra holds fields of the ingress dialect; Anthropic rejects unknown fields, so
  // they are forwarded only when the ingress was Anthropic too.
  bool forward_extra = false;
};

// ChatRequest (OpenAI-shaped) -> Anthropic /v1/messages body, appended to `out`.
// - system/developer messages (wherever they are) -> top-level "system", joined by "\n\n";
// - tool results -> tool_result blocks in a user turn; consecutive same-role turns are merged;
// - assistant tool_calls -> tool_use blocks (arguments must be a JSON object, else an Error
//   naming messages[i].tool_calls[j].function.arguments);
// - thinking_blocks -> thinking / redacted_thinking blocks, in order, before the turn's text and
//   tool_use; unsigned ones (and reasoning_content without blocks: an OpenAI-compatible model's)
//   are dropped, as Anthropic rejects them, and so are all of a turn's when their texts no longer
//   join to its reasoning_content (rewritten, e.g. redacted: the signature would not match);
// - reasoning_effort -> thinking {type: enabled, budget_tokens: api::ReasoningBudget(effort)}
//   (minimal 1024 ... high 24576; "none" sends no thinking). max_tokens must exceed the budget:
//   a max_tokens at or below it gets the budget added. Thinking rejects temperature and top_k
//   (dropped) and top_p below 0.95 (dropped). No thinking is sent when a tool is forced
//   (required / a named function), when the client's own `thinking` is forwarded, or when the
//   last assistant turn has tool calls but no signed thinking block (Anthropic would reject it);
// - an Anthropic client's cache_control (content blocks, tool results, tools) and tool_result
//   is_error are written back (its system blocks are not: they are joined as above). Unredacted
//   Anthropic requests do not come here: the provider sends ChatRequest::native_body;
// - response_format json_object/json_schema -> output_config.format (json_schema; any object for
//   JSON mode);
// - n > 1, penalties, seed, logprobs, OpenAI's metadata, a tool's strict, non-function tools of
//   another dialect and the client dialect's own fields (ChatRequest::extra, unless
//   forward_extra) have no Anthropic equivalent and are dropped: ReportDropped names them.
Status EncodeRequest(const ChatRequest& req, const EncodeOptions& options, std::string& out);
// What EncodeRequest leaves out of `req` with `options`, named as the client wrote it, in `out`
// (the answer's x-hybridgate-dropped-fields).
void ReportDropped(const ChatRequest& req, const EncodeOptions& options, Dropped& out);

// Anthropic ingress body -> ChatRequest. Errors name the offending field. tool_result blocks of a
// user turn become role "tool" messages placed before that turn's other content; thinking and
// redacted_thinking blocks go to Message::thinking_blocks (texts joined in reasoning_content);
// unknown top-level fields (thinking, service_tier, ...) are kept in ChatRequest::extra; thinking
// {type: enabled, budget_tokens} also sets reasoning_effort for other upstreams (<= 1024 minimal,
// <= 2048 low, <= 8192 medium, larger high). The top-level `system` becomes the first message;
// a `role: "system"` message inside `messages` (a string or text blocks, as Claude Code sends)
// becomes a system message at its own position.
// `body` may have its capacity grown for the parser's padding.
Result<ChatRequest> DecodeRequest(std::string& body);
// The same, into a default-constructed `req` (see api::DecodeOpenAiChatInto).
Status DecodeRequestInto(std::string& body, ChatRequest& req);

// Non-stream responses; thinking blocks as kThinkingBlocksKey describes (EncodeResponse falls back
// to one unsigned thinking block for a reasoning_content without them). Anthropic's input_tokens
// excludes cached tokens, OpenAI's prompt_tokens includes them: prompt_tokens = input_tokens +
// cache_read + cache_creation, and back.
// `created` is the OpenAI "created" timestamp (the caller owns the clock).
Result<std::string> DecodeResponse(std::string_view anthropic_json, int64_t created = 0);
Result<std::string> EncodeResponse(std::string_view openai_json);

// An Anthropic error body ({"type":"error","error":{"type","message"}}) and HTTP status ->
// Error. 429 and 529/overloaded_error -> kRateLimited (the caller copies Retry-After);
// 401/403 -> kUpstreamAuth; "prompt is too long" -> kContextLength; 5xx -> kUpstreamUnavailable;
// other 4xx -> kUpstreamError with the body kept. `http_status` 0 (an SSE error event) maps by
// the error type alone.
Error ErrorFromAnthropic(int http_status, std::string_view body);
// Anthropic's error body for `error`.
std::string EncodeError(const Error& error);

// Anthropic SSE events -> OpenAI chat.completion.chunk JSON documents. One instance per stream.
// Thinking block starts, signatures and redacted blocks become thinking_blocks delta entries.
class StreamToOpenAi {
 public:
  explicit StreamToOpenAi(int64_t created = 0) : created_(created) {}
  // Appends the chunks `event` produces (often none) to `out`. An Anthropic "error" event, or a
  // malformed one, returns an Error the caller turns into the client's error event.
  Status Feed(const SseEvent& event, std::vector<std::string>& out);
  bool Done() const { return done_; }

 private:
  struct Block {
    enum class Kind : uint8_t { kText, kToolUse, kThinking, kOther } kind = Kind::kOther;
    int tool_index = -1;      // kToolUse: OpenAI tool-call index
    int thinking_index = -1;  // kThinking: index among the turn's thinking blocks
  };
  void Chunk(std::string& out, std::string_view delta_json, std::string_view finish_reason);

  int64_t created_;
  std::string id_;
  std::string model_;
  std::vector<Block> blocks_;  // by Anthropic content block index
  int next_tool_index_ = 0;
  int next_thinking_index_ = 0;
  int64_t input_tokens_ = 0;
  int64_t cached_tokens_ = 0;
  int64_t output_tokens_ = 0;
  bool usage_known_ = false;
  bool done_ = false;
};

// OpenAI chat.completion.chunk JSON documents -> Anthropic event stream text
// ("event: X\ndata: {...}\n\n"). One instance per stream. Content blocks open and close as the
// delta kind changes (reasoning -> thinking, content -> text, tool_calls[i] -> tool_use); a
// thinking_blocks entry with a type starts a new thinking (or redacted_thinking) block, one with
// a signature becomes the open thinking block's signature_delta.
// message_delta waits for usage: it is sent on the usage chunk, on "[DONE]" or on Finish().
// message_start carries input_tokens when usage came before the first content (an Anthropic
// upstream; an OpenAI-compatible one only with usage on every chunk, e.g. vLLM's
// continuous_usage_stats), else 0; message_delta carries them whenever known.
class StreamFromOpenAi {
 public:
  // `model` replaces the chunks' model when not empty.
  explicit StreamFromOpenAi(std::string model = {}) : model_(std::move(model)) {}
  // Appends the events for one chunk's JSON (or "[DONE]") to `out`.
  Status Feed(std::string_view chunk_json, std::string& out);
  // Ends the message if the upstream has not (idempotent).
  void Finish(std::string& out);

 private:
  enum class Open : uint8_t { kNone, kText, kThinking, kRedacted, kTool };
  void Start(std::string& out, std::string_view id, std::string_view model);
  void OpenBlock(std::string& out, Open kind, int tool_index, std::string_view start_json);
  void CloseBlock(std::string& out);
  // One thinking_blocks delta entry (fields absent: empty).
  void ThinkingEntry(std::string& out, std::string_view type, std::string_view signature,
                     std::string_view data);
  void End(std::string& out);

  std::string model_;
  bool started_ = false;
  bool ended_ = false;
  Open open_ = Open::kNone;
  int open_tool_ = -1;
  int block_index_ = -1;
  std::string stop_reason_;
  int64_t input_tokens_ = 0;
  int64_t output_tokens_ = 0;
  int64_t cached_tokens_ = 0;
  bool usage_known_ = false;  // the final usage arrived
  bool input_known_ = false;  // some usage arrived: input_tokens_ holds
};

}  // namespace hybridgate::api::anthropic
