// A client dialect: one API a client may speak to the gateway (OpenAI chat completions, OpenAI
// Responses, Anthropic Messages, Gemini generateContent), as one registered unit. It owns the
// wire: which POST paths are its model calls, how their bodies decode into the one internal
// api::ChatRequest, and how the answer, its stream and its errors are written back. The gateway
// owns everything between (authorize, classify, plan, admit, execute, account) and never
// switches on which dialect it serves.
//
// A dialect is stateless and shared by every worker; what it needs to remember of one request
// (fields its answer echoes) lives in that request's RequestContext.
//
// Adding one: a folder under src/dialects/ with a class deriving from ClientDialect, its
// sources in src/dialects/CMakeLists.txt, and one line in RegisterBuiltins (registry.cc).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/chat_request.h"
#include "common/error.h"
#include "common/result.h"
#include "http/request.h"

namespace hybridgate::dialects {

// Server-side conversation state of a dialect that has it (the Responses API's `store` and
// `previous_response_id`): what the gateway's response store loads before the request is
// planned and saves after it is answered.
struct Conversation {
  std::string id;                  // this answer's id
  std::string previous_id;         // the stored answer this request continues ("" for none)
  bool store = false;              // keep this answer (and its conversation) for later requests
  std::string input_items = "[]";  // this request's input, a JSON array of items with ids
  // Set by the dialect's encoder once answered: the output items (JSON array) and the whole
  // answer object as the client got it; empty when the answer failed.
  std::string output_items;
  std::string response;
};

// What a dialect keeps of one request besides the decoded ChatRequest, for its answer.
class RequestContext {
 public:
  virtual ~RequestContext() = default;
  // The request's conversation state, when the dialect has any.
  virtual Conversation* conversation() { return nullptr; }
  // Request fields the dialect dropped for lack of an equivalent, comma-separated (the answer's
  // x-hybridgate-dropped-fields header); empty when none.
  virtual std::string_view dropped_fields() const { return {}; }
};

// A request to one of a dialect's endpoints besides its model call (token counting, embeddings,
// the model list), served by the gateway's shared handlers (gateway/dialect_endpoints.cc), which
// give them the same admission, classification and egress gate as every other endpoint.
struct Extra {
  enum class Kind : uint8_t {
    kNone,
    kCountTokens,  // the request's input tokens: DecodeCountTokens, EncodeTokenCount
    kEmbed,        // embeddings, forwarded as OpenAI's /embeddings: DecodeEmbed, EncodeEmbedAnswer
                   // (or as sent to an upstream of the dialect's own API, which answers as is)
    kBatchEmbed,   // the same, several inputs
    kListModels,   // the configured models: EncodeModels
    kGetModel,     // one of them (`model`), or 404: EncodeModels with one entry
  } kind = Kind::kNone;
  std::string model;  // from the path, percent-decoded (count, embed, get); may be empty
  // The API the client's body is in: an upstream that speaks it takes an embeddings request as
  // it was sent (Provider::EncodeNativeEmbed).
  api::ChatRequest::Dialect api = api::ChatRequest::Dialect::kOpenAi;
};

// A configured model as a dialect's model list shows it.
struct ModelEntry {
  std::string_view name;   // the public name (model or alias)
  std::string_view owner;  // the provider serving it
};

// Turns the upstream's OpenAI chat chunks into the client's stream events, one at a time.
class StreamEncoder {
 public:
  virtual ~StreamEncoder() = default;
  // One chunk's JSON, or "[DONE]": appends the client's events (maybe none) to `out`. An error
  // makes the caller end the stream with Fail.
  virtual Status Feed(std::string_view chunk, std::string& out) = 0;
  // Instead of Feed: one upstream SSE event already in the client's dialect (same-dialect
  // passthrough), appended to `out` as it came — unless the dialect must put back what routing
  // changed (the Responses API: the response's id, store and previous_response_id). The
  // upstream, not Finish, ends such a stream; Fail still may.
  virtual void Native(std::string_view sse_event, std::string& out) { out.append(sse_event); }
  // The upstream finished: closes the answer the way the dialect's clients expect (idempotent).
  virtual void Finish(std::string& out) = 0;
  // The answer failed after it began: the dialect's error event, never its normal end, so that
  // clients raise the error instead of taking a cut answer as complete.
  virtual void Fail(const Error& error, std::string& out) = 0;
};

class ClientDialect {
 public:
  virtual ~ClientDialect() = default;

  // The ledger's endpoint name ("chat_completions") and the log's path of a served request.
  virtual std::string_view endpoint() const = 0;
  virtual std::string_view log_path() const = 0;
  // Whether a POST to `path` (no query) is one of this dialect's model calls.
  virtual bool Serves(std::string_view path) const = 0;
  // Whether `path` lies under this dialect's API: errors there (no route, wrong method) take
  // its shape.
  virtual bool Owns(std::string_view path) const = 0;
  // Decodes the request into `out` (which starts empty). `body` may be parsed in place and is
  // left unspecified. `context` receives what the answer needs later, if anything.
  virtual Status Decode(const http::Request& request, std::string_view path, std::string& body,
                        api::ChatRequest& out, std::unique_ptr<RequestContext>& context) const = 0;
  // The client's answer from the upstream's OpenAI chat completion `body`.
  // Rewrites `body` in place (the OpenAI dialect leaves it as it is).
  virtual Status EncodeAnswer(std::string& body, const api::ChatRequest& request,
                              RequestContext* context) const = 0;
  // The upstream's own answer to a request it got as the client sent it (same-dialect
  // passthrough), which the client gets as it is: puts back in place what routing changed (the
  // Responses API: the response's id, store and previous_response_id) and keeps what the
  // dialect's state needs. The default leaves it.
  virtual Status EncodeNativeAnswer(std::string& body, RequestContext* context) const {
    (void)body, (void)context;
    return {};
  }
  // The dialect's error body.
  virtual std::string EncodeError(const Error& error) const = 0;
  // A stream encoder for one streamed answer.
  virtual std::unique_ptr<StreamEncoder> NewStream(const api::ChatRequest& request,
                                                   RequestContext* context) const = 0;
  // Puts a stored conversation's items (Conversation::input_items and output_items of the
  // answers before, one JSON array) in front of the request's own messages.
  virtual Status Replay(std::string_view items, api::ChatRequest& request) const {
    (void)items;
    (void)request;
    return Fail(MakeError(ErrorCode::kInvalidRequest, "this API keeps no conversation state"));
  }
  // --- Endpoints besides the model call (Extra); the defaults: none. ---
  // What a request with `method` ("GET", "POST") to `path` (no query) asks, if it is one of them.
  virtual Extra MatchExtra(std::string_view method, std::string_view path) const {
    (void)method;
    (void)path;
    return {};
  }
  // kCountTokens: the body (the dialect's documented count request) -> the request to count.
  virtual Status DecodeCountTokens(const Extra& extra, std::string& body,
                                   api::ChatRequest& out) const {
    (void)extra, (void)body, (void)out;
    return Fail(MakeError(ErrorCode::kNotFound, "this API counts no tokens"));
  }
  // kCountTokens: the answer for `tokens` input tokens.
  virtual std::string EncodeTokenCount(int64_t tokens) const {
    (void)tokens;
    return {};
  }
  // kEmbed, kBatchEmbed: the body -> an OpenAI /embeddings body (its strings are what is sent).
  virtual Result<std::string> DecodeEmbed(const Extra& extra, std::string_view body) const {
    (void)extra, (void)body;
    return Fail(MakeError(ErrorCode::kNotFound, "this API has no embeddings"));
  }
  // kEmbed, kBatchEmbed: the upstream's OpenAI embeddings answer -> the client's.
  virtual Result<std::string> EncodeEmbedAnswer(const Extra& extra,
                                                std::string_view openai_body) const {
    (void)extra;
    return std::string(openai_body);
  }
  // kListModels (`list`) and kGetModel (one entry): the answer's body.
  virtual std::string EncodeModels(std::span<const ModelEntry> models, bool list) const {
    (void)models, (void)list;
    return {};
  }

  // Whether the client gets usage whatever it asked (OpenAI chat: only with
  // stream_options.include_usage), so the executor asks the upstream for it.
  virtual bool AlwaysUsage(const api::ChatRequest& request) const = 0;
};

// The registered dialects. Filled explicitly by RegisterBuiltins; tests build their own.
class Registry {
 public:
  void Add(std::unique_ptr<ClientDialect> dialect) { all_.push_back(std::move(dialect)); }
  // The dialect whose model call a POST to `path` is, or null.
  const ClientDialect* Serving(std::string_view path) const {
    for (const auto& d : all_) {
      if (d->Serves(path)) return d.get();
    }
    return nullptr;
  }
  // The dialect whose API `path` is under; the first registered (OpenAI chat) when none is.
  const ClientDialect& Owning(std::string_view path) const {
    for (const auto& d : all_) {
      if (d->Owns(path)) return *d;
    }
    return *all_.front();
  }
  // The dialect and request for one of the dialects' other endpoints (Extra); null when none.
  std::pair<const ClientDialect*, Extra> MatchExtra(std::string_view method,
                                                    std::string_view path) const {
    for (const auto& d : all_) {
      if (Extra e = d->MatchExtra(method, path); e.kind != Extra::Kind::kNone) {
        return {d.get(), std::move(e)};
      }
    }
    return {nullptr, {}};
  }
  // Whether some dialect owns `path` as a model call (any method).
  bool Known(std::string_view path) const { return Serving(path) != nullptr; }

 private:
  std::vector<std::unique_ptr<ClientDialect>> all_;
};

// The built-in dialects, OpenAI chat first (the default shape of errors).
void RegisterBuiltins(Registry& registry);

}  // namespace hybridgate::dialects
