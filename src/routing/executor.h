// The executor: the ONLY place that performs upstream I/O for a routed request, retries, falls
// back and escalates. Each candidate gets up to plan.retry.attempts tries (backoff with jitter,
// Retry-After honoured) while its breaker allows, within the plan's total, per-attempt and
// time-to-first-token deadlines; then the next candidate. Only before any byte reached the
// client: after bytes were sent, the stream is ended with an error event in the client's dialect
// (the StreamSink's job), never left hanging or looking complete. Non-stream answers of a tier
// that may escalate are checked (confidence from logprobs, JSON validity) and a weak one makes
// the next tier answer instead. That bookkeeping is plain code in routing/attempts.h; this file's
// coroutines do the I/O and await.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "api/chat_request.h"
#include "api/openai_response.h"
#include "http/client.h"
#include "routing/breaker.h"
#include "routing/egress.h"
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
  // Instead of Event: one upstream SSE event, already in the client's dialect (the provider
  // passes the client's request through, Provider::PassesThrough), to be written as it is.
  virtual void Native(std::string_view sse_event) = 0;
  virtual asio::awaitable<bool> Flush() = 0;
  // The upstream finished properly.
  virtual asio::awaitable<void> Finish() = 0;
  // The upstream failed after Begin(): terminate the stream with an error event.
  virtual asio::awaitable<void> Abort(const Error& error) = 0;

  // Upstream attempts made so far, this one included; set by the executor before each attempt,
  // so Begin() can say it (x-hybridgate-attempts).
  void SetAttempts(int n) { attempts_ = n; }
  int attempts() const { return attempts_; }

 private:
  int attempts_ = 0;
};

// One upstream attempt, for the ledger, logs and tests.
struct AttemptRecord {
  std::string deployment;                         // "provider/model"
  std::string result;                             // "ok", "escalated", or the error's code name
  const providers::Provider* provider = nullptr;  // where it went: its zone, for the ledger
};

// An answer that was made (and paid for) but not served: a weak one that escalation replaced.
struct UnservedAnswer {
  Deployment deployment;
  api::Usage usage;
};

struct Outcome {
  bool ok = false;
  Error error;            // when !ok
  Deployment deployment;  // the one that answered (or failed last)
  int attempts = 0;
  int status = 0;    // upstream HTTP status of the answer
  std::string body;  // non-stream: the OpenAI-format body
  // Non-stream, when the upstream speaks the client's dialect and got its request as sent
  // (Provider::PassesThrough): the upstream's own body, which the client gets as it is (every
  // usage field kept); `body` is then its OpenAI translation, for usage and escalation.
  std::string native_body;
  api::Usage usage;
  bool streamed = false;  // bytes went to the client through the sink
  // Bytes of generated text (content, reasoning, tool arguments) the client got, streamed or in
  // the answer: what an answer without usage is charged by (ledger::EstimateTokensFromBytes).
  int64_t text_bytes = 0;
  bool client_gone = false;  // the sink could not write: nobody is listening any more
  // Cancelled (client gone, shutdown) while an upstream had the request: it read the prompt and
  // may have made the answer, so the ledger charges an estimate (gateway/accounting.cc).
  bool cancelled_in_flight = false;
  std::chrono::milliseconds ttft{-1};
  // A weak answer made a later tier answer (the weak one is served if that tier fails too).
  bool escalated = false;
  std::string escalated_from;  // tier names
  std::string escalated_to;
  std::vector<UnservedAnswer> unserved;  // the ledger charges them with the served answer
  std::vector<AttemptRecord> trail;      // every attempt, in order
};

// For a request some upstreams take in the client's own dialect (Gemini's embedContent at a
// `gemini` provider): the request for deployment `d`, or a kNotFound error for one that gets
// the OpenAI body instead.
using NativeEncode = std::function<Result<http::UpstreamRequest>(const Deployment& d)>;

struct ExecuteOptions {
  std::string_view request_id;
  http::CancelToken* cancel = nullptr;
  bool client_wants_usage = false;  // stream: forward the usage-only chunk
  // Told about every attempt, and asked before it; null: no breakers (plain model routing).
  BreakerSet* breakers = nullptr;
  // Asked before every attempt with what it would send; a refusal skips that candidate. The
  // default (unclassified) lets a request reach only providers that may receive class 5.
  EgressGate egress;
  // Streams: the answer's content text, appended as it is delivered (for a shadow comparison;
  // null: not kept). A retried or fallen-back attempt delivers only once it answers.
  std::string* capture_text = nullptr;
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
  // when `stream`. `native` (non-stream; optional) sends a deployment whose upstream takes it the
  // client's own request instead, and that upstream's answer is Outcome::native_body.
  asio::awaitable<Outcome> Raw(std::string_view path, const std::string& body,
                               std::string_view requested_model, bool stream, const RoutePlan& plan,
                               const ExecuteOptions& options, StreamSink* sink,
                               const NativeEncode* native = nullptr);

 private:
  // `chat` is null for raw forwards, which in-process providers do not serve. `encode(d, send)`
  // builds the upstream request for deployment `d`; `send` is the chat request to send (`chat`,
  // or its copy asking for logprobs when the answer may be escalated).
  // `raw_body` (with `raw_path`): a raw forward, which in-process providers answer with Raw().
  // Plain makes the attempts' state (a Pooled PlainRun, executor.cc) and runs RunPlain on it:
  // RunPlain's frame holds no Outcome then and stays small enough for Asio to recycle.
  struct PlainRun;
  template <class Encode>
  asio::awaitable<Outcome> Plain(const RoutePlan& plan, const ExecuteOptions& options,
                                 const api::ChatRequest* chat, Encode encode,
                                 std::string_view raw_path = {},
                                 const std::string* raw_body = nullptr);
  template <class Encode>
  asio::awaitable<void> RunPlain(PlainRun& st, const ExecuteOptions& options,
                                 const api::ChatRequest* chat, Encode encode,
                                 std::string_view raw_path, const std::string* raw_body);
  // Stream and RunStream: the same split for streams.
  struct StreamRun;
  template <class Encode>
  asio::awaitable<Outcome> Stream(const RoutePlan& plan, const ExecuteOptions& options,
                                  StreamSink& sink, const api::ChatRequest* chat, Encode encode);
  template <class Encode>
  asio::awaitable<void> RunStream(StreamRun& st, const ExecuteOptions& options, StreamSink& sink,
                                  const api::ChatRequest* chat, Encode encode);
  // An in-process provider's non-stream answer (`send`: chat, else the raw forward), its job
  // cancelled at `deadline` (an upstream_timeout error, which falls back).
  asio::awaitable<Result<std::string>> CallInProcess(
      providers::InProcess& ip, const Deployment& d, const api::ChatRequest* send,
      std::string_view raw_path, const std::string* raw_body, const ExecuteOptions& options,
      http::Clock::time_point deadline, api::Usage& usage);
  // Streams an in-process provider's answer into `sink`; true when it completed. Like Pump, the
  // job is cancelled at `first_deadline` when no chunk came yet, later at `deadline`.
  asio::awaitable<bool> PumpInProcess(providers::InProcess& ip, const api::ChatRequest& chat,
                                      const Deployment& d, const ExecuteOptions& options,
                                      StreamSink& sink, Outcome& out, http::Clock::time_point start,
                                      http::Clock::time_point first_deadline,
                                      http::Clock::time_point deadline);
  // Streams an upstream's answer into `sink`, through `decoder` when the upstream speaks another
  // dialect (null: OpenAI chunks passed through); true when it completed. Reads before the first
  // event end at `first_deadline` (time to first token), later ones at `deadline`. `native`: the
  // upstream speaks the client's dialect (Provider::PassesThrough), so its events go to
  // StreamSink::Native as they are and `decoder` only reads usage and text sizes.
  asio::awaitable<bool> Pump(http::UpstreamStream& stream, providers::StreamDecoder* decoder,
                             bool native, const ExecuteOptions& options, StreamSink& sink,
                             Outcome& out, http::Clock::time_point start,
                             http::Clock::time_point first_deadline,
                             http::Clock::time_point deadline);

  http::ClientPool& pool_;
};

}  // namespace hybridgate::routing
