// The Provider seam: a provider adapter is pure translation between HybridGate's internal types and
// one upstream API. It never opens a socket: the executor owns I/O, retries and time. Adapters are
// created from config through a Registry (see builtin.cc), so tests can build their own.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "api/chat_request.h"
#include "api/dropped.h"
#include "api/openai_response.h"
#include "api/sse.h"
#include "common/result.h"
#include "config/config.h"
#include "http/client.h"

namespace hybridgate::providers {

// A streamed in-process answer, pulled by the executor: each Next() waits for the next burst of
// OpenAI chat.completion.chunk JSON documents. Dropping it stops generation.
class InProcessStream {
 public:
  virtual ~InProcessStream() = default;
  // Appends chunks to `chunks`; sets `done` after the last one (finish_reason, then usage).
  virtual boost::asio::awaitable<Status> Next(std::vector<std::string>& chunks, bool& done) = 0;
  virtual api::Usage usage() const = 0;
};

// A provider that answers in-process (the embedded engine) instead of over HTTP. The executor
// calls it where it would otherwise open a connection; answers are OpenAI-format, like a
// pass-through upstream's. Errors before any chunk was delivered may fall back.
class InProcess {
 public:
  virtual ~InProcess() = default;
  // Non-streaming: the chat.completion JSON body.
  virtual boost::asio::awaitable<Result<std::string>> Complete(const api::ChatRequest& req,
                                                               const config::ModelConfig& model,
                                                               std::string_view request_id,
                                                               http::CancelToken* cancel,
                                                               api::Usage& usage) = 0;
  // Streaming: queues the request; `model` must outlive the stream.
  virtual boost::asio::awaitable<Result<std::unique_ptr<InProcessStream>>> Stream(
      const api::ChatRequest& req, const config::ModelConfig& model, std::string_view request_id,
      bool include_usage, http::CancelToken* cancel) = 0;
  // An OpenAI-format body for another endpoint (`path`: "/embeddings", "/completions"): the
  // answer's JSON body, or an error when the provider does not serve it.
  virtual boost::asio::awaitable<Result<std::string>> Raw(std::string_view path,
                                                          const std::string& body,
                                                          const config::ModelConfig& model,
                                                          http::CancelToken* cancel,
                                                          api::Usage& usage) = 0;
  // The request's input tokens as this provider counts them (its tokenizer over the prompt it
  // would render); kNotFound when it cannot count.
  virtual Result<int64_t> CountTokens(const api::ChatRequest& req) const {
    (void)req;
    return Fail(MakeError(ErrorCode::kNotFound, "this provider counts no tokens"));
  }
};

// Translates one upstream stream in another dialect (Anthropic, Gemini) into OpenAI
// chat.completion.chunk JSON documents, which is what the executor hands every StreamSink. Pure and
// synchronous; one instance per stream, used by the executor's thread only.
class StreamDecoder {
 public:
  virtual ~StreamDecoder() = default;
  // Appends the chunks one upstream SSE event produces (often none) to `chunks`. An in-stream
  // error event, or a malformed one, is returned as the Error the client should see; the stream
  // is then over.
  virtual Status Feed(const api::SseEvent& event, std::vector<std::string>& chunks) = 0;
  // True once the upstream said its answer is complete (Anthropic's message_stop): the executor
  // stops reading. Upstreams without such a marker (Gemini) say it in End().
  virtual bool Done() const = 0;
  // The upstream's body ended: appends what is still owed (a final usage chunk) and returns
  // whether the answer was complete (Gemini: a candidate carried a finishReason).
  virtual bool End(std::vector<std::string>& chunks) = 0;
};

class Provider {
 public:
  Provider(const config::ProviderConfig& config, http::Endpoint endpoint)
      : config_(config), endpoint_(std::move(endpoint)) {}
  virtual ~Provider() = default;

  const config::ProviderConfig& config() const { return config_; }
  const http::Endpoint& endpoint() const { return endpoint_; }
  const std::string& name() const { return config_.name; }

  // The upstream request for a chat completion with `model` (its id is what the upstream sees).
  virtual Result<http::UpstreamRequest> EncodeChat(const api::ChatRequest& req,
                                                   const config::ModelConfig& model,
                                                   std::string_view request_id) const = 0;
  // Whether the upstream answers chat requests in OpenAI's chat format (responses are then passed
  // through and DecodeChat/NewStreamDecoder are not called, except for a request it
  // PassesThrough, whose answer is in the client's own dialect).
  virtual bool SpeaksOpenAi() const = 0;
  // Whether EncodeChat sends `req` as the client sent it (ChatRequest::native_body, the model id
  // replaced): the client speaks this upstream's own dialect (Anthropic Messages; OpenAI's
  // Responses API at an `openai` provider with `responses_api`) and nothing rewrote the request.
  // The upstream's answer body and stream events then go back to the client unchanged; the
  // executor still runs them through DecodeChat / the StreamDecoder for usage and the ledger.
  virtual bool PassesThrough(const api::ChatRequest& req) const {
    (void)req;
    return false;
  }
  // What EncodeChat leaves out of `req` for lack of an equivalent in this upstream's dialect,
  // named as the client wrote it (the answer's x-hybridgate-dropped-fields); nothing when it
  // sends the request as it came. Pure and cheap: asked for every answer's headers.
  virtual void ReportDropped(const api::ChatRequest& req, api::Dropped& out) const {
    (void)req, (void)out;
  }
  // A 2xx non-stream chat answer -> the OpenAI chat.completion JSON body. The default passes the
  // body through (for OpenAI-speaking upstreams).
  virtual Result<std::string> DecodeChat(const http::UpstreamResponse& response,
                                         const config::ModelConfig& model,
                                         std::string_view request_id) const {
    (void)model;
    (void)request_id;
    return response.body;
  }
  // The translator for one streamed chat answer; null when the upstream already streams OpenAI
  // chunks (the default).
  virtual std::unique_ptr<StreamDecoder> NewStreamDecoder(const config::ModelConfig& model,
                                                          std::string_view request_id) const {
    (void)model;
    (void)request_id;
    return nullptr;
  }
  // An OpenAI-format body forwarded as is to `path` (/completions, /embeddings); empty when the
  // provider has no such endpoint.
  virtual Result<http::UpstreamRequest> EncodeRaw(std::string_view path, std::string body,
                                                  bool stream,
                                                  std::string_view request_id) const = 0;
  // Counting a request's input tokens at the upstream (Anthropic's /messages/count_tokens,
  // Gemini's :countTokens): the request, or kNotFound when the upstream has no such endpoint
  // (the gateway then counts itself). DecodeTokenCount reads a 2xx answer.
  virtual Result<http::UpstreamRequest> EncodeCountTokens(const api::ChatRequest& req,
                                                          const config::ModelConfig& model,
                                                          std::string_view request_id) const {
    (void)req, (void)model, (void)request_id;
    return Fail(MakeError(ErrorCode::kNotFound, "this provider has no token counting endpoint"));
  }
  virtual Result<int64_t> DecodeTokenCount(const http::UpstreamResponse& response) const {
    (void)response;
    return Fail(MakeError(ErrorCode::kNotFound, "this provider has no token counting endpoint"));
  }
  // An embeddings request in this upstream's own dialect, as a client of that dialect (`api`)
  // sent it (`body`, canonical JSON), for the upstream's own endpoint with the deployment's model
  // put in: Gemini's embedContent, or batchEmbedContents with `batch`, at a `gemini` provider.
  // kNotFound when the upstream does not speak `api` (it gets the OpenAI translation at
  // /embeddings instead). The answer goes back to the client as the upstream wrote it.
  virtual Result<http::UpstreamRequest> EncodeNativeEmbed(api::ChatRequest::Dialect api,
                                                          std::string_view body, bool batch,
                                                          const config::ModelConfig& model,
                                                          std::string_view request_id) const {
    (void)api, (void)body, (void)batch, (void)model, (void)request_id;
    return Fail(MakeError(ErrorCode::kNotFound, "this provider has no native embeddings endpoint"));
  }
  // Maps a non-2xx upstream response to the client-facing Error.
  virtual Error ClassifyError(const http::UpstreamResponse& response) const = 0;
  // A cheap request that proves the upstream is reachable (for /readyz).
  virtual http::UpstreamRequest HealthProbe() const = 0;
  // Non-null when the provider answers in-process: the executor then calls it instead of HTTP.
  virtual InProcess* in_process() const { return nullptr; }
  // A line for /readyz and the startup log (model, slots, queue), empty for HTTP providers.
  virtual std::string Describe() const { return {}; }

 private:
  const config::ProviderConfig& config_;
  http::Endpoint endpoint_;
};

using ProviderFactory =
    std::function<Result<std::unique_ptr<Provider>>(const config::ProviderConfig&, http::Endpoint)>;

// Maps a config `type` to its factory. Filled explicitly by RegisterBuiltins (no static
// self-registration).
class Registry {
 public:
  void Add(std::string type, ProviderFactory factory) {
    factories_[std::move(type)] = std::move(factory);
  }
  Result<std::unique_ptr<Provider>> Create(const config::ProviderConfig& config) const;

 private:
  std::map<std::string, ProviderFactory, std::less<>> factories_;
};

void RegisterBuiltins(Registry& registry);

// Rewrites an upstream error (already mapped from the dialect's error body) so it names the
// provider: credentials problems never echo the key, rate limits and failures keep the
// upstream's own words minus the translator's `dialect_prefix` ("anthropic: "). Client errors
// are left as the upstream worded them. `rate_limited` is the phrase for kRateLimited.
void AttributeToProvider(Error& e, std::string_view provider, int status,
                         std::string_view dialect_prefix, std::string_view rate_limited);

}  // namespace hybridgate::providers
