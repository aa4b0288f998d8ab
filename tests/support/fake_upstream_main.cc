// hybridgate_fake_upstream: the scriptable FakeUpstream as a standalone process with one canned
// OpenAI-compatible script, for the end-to-end tests that drive the gateway with the real npm SDKs
// (tests/e2e/). It prints `port=NNNN` as its first stdout line once it listens, logs one line per
// request to stderr, and exits 0 on SIGTERM or SIGINT.
//
// The script (tests/e2e/openai_sdk.test.mjs relies on every detail):
//   GET  /v1/models                     -> a model list (the gateway's readiness probe)
//   model "e2e-error"                   -> HTTP 400, OpenAI error body, message kErrorMessage
//   last message a tool result          -> "tool said: <its content> (<N> messages)", N the count
//                                          of messages the upstream received (as a stream: the
//                                          same text in word chunks)
//   response_format json_schema/object  -> content {"name":<last user text>,"ok":true}
//   request with a non-empty `tools`    -> a call of the first tool, id "call_e2e_1", arguments
//                                          {"query":<last user text>,"limit":3}; Codex CLI's
//                                          exec_command runs "echo codex-e2e-ok" and Claude
//                                          Code's Bash (called when offered) "echo claude-e2e-ok";
//                                          as a stream,
//                                          the arguments arrive in several fragments
//   stream:true                         -> "echo: <last user text>" split into word chunks, then
//                                          finish_reason "stop", the usage chunk when
//                                          stream_options.include_usage is set, and [DONE]
//   POST /v1/embeddings                 -> one embedding per input string: [its length in
//                                          bytes, 0.5]
//   anything else                       -> a chat.completion whose content is
//                                          "echo: <last user text>"
//
// With --dialect anthropic it is a strict Anthropic Messages API instead (ValidatingAnthropic:
// x-api-key kFakeAnthropicKey, anthropic-version, only documented fields), for an `anthropic`
// provider: the same script in Anthropic's wire format at /v1/messages (stream and not; a
// tool_result as the last user turn -> "tool said: ..."; tools offered -> a tool_use of Bash
// "echo claude-e2e-ok", else of the first tool; else "echo: <last user text>"; model
// "e2e-error" -> 400), and /v1/messages/count_tokens -> {"input_tokens": 42}.
// Either way, GET /_fake/requests answers the POSTs received so far as a JSON array of
// {method, target, headers, body} (body parsed when it is JSON), for tests that check what an
// upstream got.
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/fake_dialects.h"
#include "tests/support/fake_upstream.h"

namespace hybridgate::testing {
namespace {

namespace json = boost::json;

constexpr std::string_view kErrorMessage = "e2e-error always fails: this is the upstream's message";

const json::value* Find(const json::value& v, std::string_view key) {
  return v.is_object() ? v.as_object().if_contains(key) : nullptr;
}

// The text of the last user message (a string, or the text parts of a content array).
std::string LastUserText(const json::value& body) {
  const json::value* messages = Find(body, "messages");
  if (messages == nullptr || !messages->is_array()) return "";
  const auto& list = messages->as_array();
  for (auto it = list.rbegin(); it != list.rend(); ++it) {
    const json::value* role = Find(*it, "role");
    if (role == nullptr || !role->is_string() || role->as_string() != "user") continue;
    const json::value* content = Find(*it, "content");
    if (content == nullptr) return "";
    if (content->is_string()) return std::string(content->as_string());
    std::string text;
    if (content->is_array()) {
      for (const auto& part : content->as_array()) {
        const json::value* t = Find(part, "text");
        if (t != nullptr && t->is_string()) text += std::string(t->as_string());
      }
    }
    return text;
  }
  return "";
}

// Splits after each space, so the pieces concatenate back to `text`.
std::vector<std::string> Words(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find(' ', start);
    end = end == std::string::npos ? text.size() : end + 1;
    out.push_back(text.substr(start, end - start));
    start = end;
  }
  return out;
}

// Splits into `n` roughly equal pieces without cutting a UTF-8 sequence.
std::vector<std::string> Fragments(const std::string& text, size_t n) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 1; i <= n && start < text.size(); ++i) {
    size_t end = i == n ? text.size() : std::max(start + 1, text.size() * i / n);
    while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) ++end;
    out.push_back(text.substr(start, end - start));
    start = end;
  }
  return out;
}

Action Answer(const Recorded& r) {
  if (r.method == "GET" && r.target == "/v1/models") {
    return Action{.body = R"({"object":"list","data":[{"id":"e2e-chat","object":"model"}]})"};
  }
  json::value body;
  try {
    body = json::parse(r.body);
  } catch (const std::exception& e) {
    json::object err{{"error",
                      {{"message", std::string("fake upstream: bad JSON: ") + e.what()},
                       {"type", "invalid_request_error"},
                       {"param", nullptr},
                       {"code", nullptr}}}};
    return Action{.status = 400, .body = json::serialize(err)};
  }
  const json::value* model_v = Find(body, "model");
  const std::string model =
      model_v && model_v->is_string() ? std::string(model_v->as_string()) : "";
  if (model == "e2e-error") {
    json::object err{{"error",
                      {{"message", kErrorMessage},
                       {"type", "invalid_request_error"},
                       {"param", nullptr},
                       {"code", "e2e_error"}}}};
    return Action{.status = 400, .body = json::serialize(err)};
  }
  if (r.target == "/v1/embeddings") {
    json::array inputs;
    if (const json::value* in = Find(body, "input"); in && in->is_array()) {
      inputs = in->as_array();
    } else if (in && in->is_string()) {
      inputs.push_back(*in);
    }
    json::array data;
    for (size_t i = 0; i < inputs.size(); ++i) {
      const double length =
          inputs[i].is_string() ? static_cast<double>(inputs[i].as_string().size()) : 0;
      data.push_back(json::object{{"object", "embedding"},
                                  {"index", static_cast<int64_t>(i)},
                                  {"embedding", json::array{length, 0.5}}});
    }
    json::object answer{{"object", "list"},
                        {"data", std::move(data)},
                        {"model", model},
                        {"usage", {{"prompt_tokens", 2}, {"total_tokens", 2}}}};
    return Action{.body = json::serialize(answer)};
  }
  const json::value* stream_v = Find(body, "stream");
  const bool stream = stream_v && stream_v->is_bool() && stream_v->as_bool();
  const json::value* options = Find(body, "stream_options");
  const json::value* include = options ? Find(*options, "include_usage") : nullptr;
  const bool usage = include && include->is_bool() && include->as_bool();
  const std::string text = LastUserText(body);

  const json::value* messages = Find(body, "messages");
  if (messages && messages->is_array() && !messages->as_array().empty()) {
    const json::value& last = messages->as_array().back();
    const json::value* role = Find(last, "role");
    const json::value* content = Find(last, "content");
    if (role && role->is_string() && role->as_string() == "tool" && content &&
        content->is_string()) {
      const std::string answer = "tool said: " + std::string(content->as_string()) + " (" +
                                 std::to_string(messages->as_array().size()) + " messages)";
      if (!stream) return Action{.body = ChatCompletionJson(answer, model)};
      return Action{.content_type = "text/event-stream",
                    .chunks = ChatStreamChunks(Words(answer), model, usage)};
    }
  }
  if (const json::value* format = Find(body, "response_format")) {
    const json::value* type = Find(*format, "type");
    if (type && type->is_string() &&
        (type->as_string() == "json_schema" || type->as_string() == "json_object")) {
      const std::string answer = json::serialize(json::object{{"name", text}, {"ok", true}});
      if (!stream) return Action{.body = ChatCompletionJson(answer, model)};
      return Action{.content_type = "text/event-stream",
                    .chunks = ChatStreamChunks(Fragments(answer, 3), model, usage)};
    }
  }
  const json::value* tools = Find(body, "tools");
  if (tools && tools->is_array() && !tools->as_array().empty()) {
    // The first tool, or Claude Code's Bash tool when it is offered.
    std::string function;
    for (const json::value& t : tools->as_array()) {
      const json::value* fn = Find(t, "function");
      const json::value* name = fn ? Find(*fn, "name") : nullptr;
      const std::string n = name && name->is_string() ? std::string(name->as_string()) : "";
      if (function.empty() || n == "Bash") function = n;
    }
    // The coding agents' shell tools get a command they can run.
    std::string arguments = json::serialize(json::object{{"query", text}, {"limit", 3}});
    if (function == "exec_command") {
      arguments = json::serialize(json::object{{"cmd", "echo codex-e2e-ok"}});
    } else if (function == "Bash") {
      arguments = json::serialize(
          json::object{{"command", "echo claude-e2e-ok"}, {"description", "print"}});
    }
    if (!stream)
      return Action{.body = ToolCallCompletionJson("call_e2e_1", function, arguments, model)};
    return Action{.content_type = "text/event-stream",
                  .chunks = ToolCallStreamChunks("call_e2e_1", function, Fragments(arguments, 4),
                                                 model, usage)};
  }
  const std::string answer = "echo: " + text;
  if (!stream) return Action{.body = ChatCompletionJson(answer, model)};
  return Action{.content_type = "text/event-stream",
                .chunks = ChatStreamChunks(Words(answer), model, usage)};
}

// --- --dialect anthropic --------------------------------------------------------------------

// The text of an Anthropic content value: a string, or its text blocks joined.
std::string AnthropicText(const json::value* content) {
  if (content == nullptr) return "";
  if (content->is_string()) return std::string(content->as_string());
  std::string text;
  if (content->is_array()) {
    for (const json::value& block : content->as_array()) {
      const json::value* t = Find(block, "text");
      if (t != nullptr && t->is_string()) text += std::string(t->as_string());
    }
  }
  return text;
}

// The last user turn's tool_result content, if that turn answers a tool call.
const json::value* LastToolResult(const json::array& messages) {
  if (messages.empty()) return nullptr;
  const json::value& last = messages.back();
  const json::value* role = Find(last, "role");
  const json::value* content = Find(last, "content");
  if (role == nullptr || *role != "user" || content == nullptr || !content->is_array()) {
    return nullptr;
  }
  for (const json::value& block : content->as_array()) {
    const json::value* type = Find(block, "type");
    if (type != nullptr && *type == "tool_result") {
      static const json::value kEmpty = "";
      const json::value* c = Find(block, "content");
      return c != nullptr ? c : &kEmpty;
    }
  }
  return nullptr;
}

std::string LastAnthropicUserText(const json::array& messages) {
  for (auto it = messages.rbegin(); it != messages.rend(); ++it) {
    const json::value* role = Find(*it, "role");
    if (role != nullptr && *role == "user") return AnthropicText(Find(*it, "content"));
  }
  return "";
}

json::object AnthropicUsage(int64_t output_tokens) {
  return {{"input_tokens", 5},
          {"cache_creation_input_tokens", 0},
          {"cache_read_input_tokens", 0},
          {"output_tokens", output_tokens}};
}

// One answer (`content`: Anthropic content blocks) as a message, or as the event stream with the
// texts in word deltas and tool inputs in several input_json_delta fragments.
Action AnthropicAnswer(const json::array& content, std::string_view stop_reason,
                       const std::string& model, bool stream) {
  if (!stream) {
    json::object message{{"id", "msg_e2e"},          {"type", "message"},
                         {"role", "assistant"},      {"model", model},
                         {"content", content},       {"stop_reason", stop_reason},
                         {"stop_sequence", nullptr}, {"usage", AnthropicUsage(7)}};
    return Action{.body = json::serialize(message)};
  }
  std::vector<std::string> events;
  json::object start{{"id", "msg_e2e"},          {"type", "message"},
                     {"role", "assistant"},      {"model", model},
                     {"content", json::array{}}, {"stop_reason", nullptr},
                     {"stop_sequence", nullptr}, {"usage", AnthropicUsage(1)}};
  events.push_back(AnthropicEvent(
      json::serialize(json::object{{"type", "message_start"}, {"message", std::move(start)}})));
  for (size_t i = 0; i < content.size(); ++i) {
    const json::object& block = content[i].as_object();
    const bool tool = block.at("type") == "tool_use";
    json::object opening = block;
    if (tool) {
      opening["input"] = json::object{};
    } else {
      opening["text"] = "";
    }
    const auto index = static_cast<int64_t>(i);
    events.push_back(AnthropicEvent(json::serialize(json::object{
        {"type", "content_block_start"}, {"index", index}, {"content_block", opening}})));
    const std::vector<std::string> pieces = tool ? Fragments(json::serialize(block.at("input")), 3)
                                                 : Words(std::string(block.at("text").as_string()));
    for (const std::string& piece : pieces) {
      json::object delta = tool
                               ? json::object{{"type", "input_json_delta"}, {"partial_json", piece}}
                               : json::object{{"type", "text_delta"}, {"text", piece}};
      events.push_back(AnthropicEvent(json::serialize(
          json::object{{"type", "content_block_delta"}, {"index", index}, {"delta", delta}})));
    }
    events.push_back(AnthropicEvent(
        json::serialize(json::object{{"type", "content_block_stop"}, {"index", index}})));
  }
  events.push_back(AnthropicEvent(json::serialize(
      json::object{{"type", "message_delta"},
                   {"delta", {{"stop_reason", stop_reason}, {"stop_sequence", nullptr}}},
                   {"usage", {{"output_tokens", 7}}}})));
  events.push_back(AnthropicEvent(R"({"type":"message_stop"})"));
  return Action{.content_type = "text/event-stream", .chunks = std::move(events)};
}

// The script at an Anthropic upstream; called after ValidatingAnthropic accepted the request.
Action AnswerAnthropic(const Recorded& r) {
  const json::value body = json::parse(r.body);  // valid: the validation parsed it
  if (r.target.ends_with("/messages/count_tokens")) {
    return Action{.body = R"({"input_tokens":42})"};
  }
  const json::value* model_v = Find(body, "model");
  const std::string model =
      model_v && model_v->is_string() ? std::string(model_v->as_string()) : "";
  if (model == "e2e-error") {
    json::object err{{"type", "invalid_request_error"}, {"message", kErrorMessage}};
    return Action{.status = 400,
                  .body = json::serialize(json::object{{"type", "error"}, {"error", err}})};
  }
  const json::value* stream_v = Find(body, "stream");
  const bool stream = stream_v && stream_v->is_bool() && stream_v->as_bool();
  const json::array& messages = body.at("messages").as_array();
  if (const json::value* result = LastToolResult(messages)) {
    const std::string answer = "tool said: " + AnthropicText(result) + " (" +
                               std::to_string(messages.size()) + " messages)";
    return AnthropicAnswer(json::array{json::object{{"type", "text"}, {"text", answer}}},
                           "end_turn", model, stream);
  }
  const std::string text = LastAnthropicUserText(messages);
  const json::value* tools = Find(body, "tools");
  if (tools && tools->is_array() && !tools->as_array().empty()) {
    std::string function;
    for (const json::value& t : tools->as_array()) {
      const json::value* name = Find(t, "name");
      const std::string n = name && name->is_string() ? std::string(name->as_string()) : "";
      if (function.empty() || n == "Bash") function = n;
    }
    json::object input{{"query", text}, {"limit", 3}};
    if (function == "Bash") input = {{"command", "echo claude-e2e-ok"}, {"description", "print"}};
    json::object call{
        {"type", "tool_use"}, {"id", "toolu_e2e_1"}, {"name", function}, {"input", input}};
    return AnthropicAnswer(json::array{call}, "tool_use", model, stream);
  }
  return AnthropicAnswer(json::array{json::object{{"type", "text"}, {"text", "echo: " + text}}},
                         "end_turn", model, stream);
}

// --- what was received --------------------------------------------------------------------------

class Received {
 public:
  void Add(const Recorded& r) {
    if (r.method != "POST") return;
    std::lock_guard lock(mu_);
    json::object headers;
    for (const auto& [k, v] : r.headers) headers[k] = v;
    boost::system::error_code ec;
    json::value body = json::parse(r.body, ec);
    if (ec) body = json::string(r.body);
    list_.push_back(json::object{{"method", r.method},
                                 {"target", r.target},
                                 {"headers", std::move(headers)},
                                 {"body", std::move(body)}});
  }
  std::string Json() const {
    std::lock_guard lock(mu_);
    return json::serialize(list_);
  }

 private:
  mutable std::mutex mu_;
  json::array list_;
};

int Usage(const char* argv0) {
  std::fprintf(stderr, "usage: %s [--port N] [--dialect openai|anthropic]   (0: any free port)\n",
               argv0);
  return 2;
}

int Main(int argc, char** argv) {
  uint16_t port = 0;
  std::string_view dialect = "openai";
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--port" && i + 1 < argc) {
      char* end = nullptr;
      const long p = std::strtol(argv[++i], &end, 10);
      if (*end != '\0' || p < 0 || p > 65535) return Usage(argv[0]);
      port = static_cast<uint16_t>(p);
    } else if (arg == "--dialect" && i + 1 < argc) {
      dialect = argv[++i];
      if (dialect != "openai" && dialect != "anthropic") return Usage(argv[0]);
    } else {
      return Usage(argv[0]);
    }
  }
  // Blocked before the server thread starts, so only sigwait() below sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  FakeUpstream::Script script = Answer;
  if (dialect == "anthropic") script = ValidatingAnthropic(AnswerAnthropic);
  auto received = std::make_shared<Received>();
  FakeUpstream upstream(
      [script = std::move(script), received](const Recorded& r) {
        if (r.method == "GET" && r.target == "/_fake/requests") {
          return Action{.body = received->Json()};
        }
        received->Add(r);
        Action a = script(r);
        std::fprintf(stderr, "fake upstream: %s %s -> %d%s%s\n", r.method.c_str(), r.target.c_str(),
                     a.status, a.status == 200 ? "" : " ", a.status == 200 ? "" : a.body.c_str());
        return a;
      },
      FakeUpstreamOptions{.port = port});
  std::printf("port=%u\n", static_cast<unsigned>(upstream.port()));
  std::fflush(stdout);
  int sig = 0;
  sigwait(&signals, &sig);
  return 0;
}

}  // namespace
}  // namespace hybridgate::testing

int main(int argc, char** argv) {
  try {
    return hybridgate::testing::Main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hybridgate_fake_upstream: %s\n", e.what());
    return 1;
  }
}
