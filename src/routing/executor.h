// The executor: the ONLY place that performs upstream I/O for a routed request, tries candidates
// in plan order, and falls back. A failure before any byte reached the client moves on to the next
// candidate when the error is retryable; after bytes were sent, the stream is ended with an error
// event in the client's dialect (the StreamSink's job), never left hanging or looking complete.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <string>
#include <string_view>

#include "api/chat_request.h"
#include "api/openai_response.h"
#include "http/client.h"
#include "routing/policy.h"

namespace hybridgate::routing {

namespace asio = boost::asio;

// Where a streamed answer goes, in the client's dialect. Events are OpenAI chat.completion.chunk
// JSON documents; the sink buffers them and Flush() writes what it has in one go.
class StreamSink {
 public:
  virtual ~StreamSink() = default;
  // Called once, before the first event, with the deployment that answers.
  virtual asio::awaitable<bool> Begin(const Deployment& d) = 0;
  virtual void Event(std::string_view openai_chunk) = 0;
  virtual asio::awaitable<bool> Flush() = 0;
  // The upstream finished properly.
  virtual asio::awaitable<void> Finish() = 0;
  // The upstream failed after Begin(): terminate the stream with an error event.
  virtual asio::awaitable<void> Abort(const Error& error) = 0;
};

struct Outcome {
  bool ok = false;
  Error error;            // when !ok
  Deployment deployment;  // the one that answered (or failed last)
  int attempts = 0;
  int status = 0;    // upstream HTTP status of the answer
  std::string body;  // non-stream: the OpenAI-format body
  api::Usage usage;
  bool streamed = false;  // bytes went to the client through the sink
  std::chrono::milliseconds ttft{-1};
};

struct ExecuteOptions {
  std::string_view request_id;
  http::CancelToken* cancel = nullptr;
  bool client_wants_usage = false;  // stream: forward the usage-only chunk
};

class Executor {
 public:
  explicit Executor(http::ClientPool& pool) : pool_(pool) {}

  // Non-streaming chat completion.
  asio::awaitable<Outcome> Chat(const api::ChatRequest& req, const RoutePlan& plan,
                                const ExecuteOptions& options);
  // Streaming chat completion into `sink`. If nothing was sent (outcome.streamed false), the
  // caller answers with outcome.error as a normal error response.
  asio::awaitable<Outcome> ChatStream(const api::ChatRequest& req, const RoutePlan& plan,
                                      const ExecuteOptions& options, StreamSink& sink);
  // An OpenAI-format body forwarded to `path` (/completions, /embeddings); streamed into `sink`
  // when `stream`.
  asio::awaitable<Outcome> Raw(std::string_view path, const std::string& body,
                               std::string_view requested_model, bool stream, const RoutePlan& plan,
                               const ExecuteOptions& options, StreamSink* sink);

 private:
  // `chat` is null for raw forwards, which in-process providers do not serve.
  template <class Encode>
  asio::awaitable<Outcome> RunPlain(const RoutePlan& plan, const ExecuteOptions& options,
                                    const api::ChatRequest* chat, Encode encode);
  template <class Encode>
  asio::awaitable<Outcome> RunStream(const RoutePlan& plan, const ExecuteOptions& options,
                                     StreamSink& sink, const api::ChatRequest* chat, Encode encode);
  // Streams an in-process provider's answer into `sink`; true when it completed.
  asio::awaitable<bool> PumpInProcess(providers::InProcess& ip, const api::ChatRequest& chat,
                                      const Deployment& d, const ExecuteOptions& options,
                                      StreamSink& sink, Outcome& out);
  // Streams an upstream's answer into `sink`, through `decoder` when the upstream speaks another
  // dialect (null: OpenAI chunks passed through); true when it completed.
  asio::awaitable<bool> Pump(http::UpstreamStream& stream, providers::StreamDecoder* decoder,
                             const ExecuteOptions& options, StreamSink& sink, Outcome& out,
                             http::Clock::time_point start, http::Clock::time_point deadline);

  http::ClientPool& pool_;
};

}  // namespace hybridgate::routing
