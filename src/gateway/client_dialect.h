// The client's side of one exchange, in the client's own dialect (OpenAI, Anthropic Messages or
// Gemini): response headers, error bodies, the final answer of a non-stream request, and the
// stream sink that turns the upstream's OpenAI chunks into the dialect's SSE events as they
// arrive. The gateway decides what to answer; this file decides how it looks on the wire.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "gateway/redaction.h"
#include "gateway/request_log.h"
#include "http/server.h"
#include "routing/executor.h"
#include "routing/routes.h"

namespace hybridgate::gateway {

namespace asio = boost::asio;

// The client's API dialect: decides the request decoder, the response and stream encoders and
// the shape of errors.
enum class Dialect : uint8_t { kOpenAi, kAnthropic, kGemini };

// What every response of one request carries.
struct ResponseMeta {
  const std::string& id;
  int data_class = 0;  // 0: not classified (e.g. the body did not parse)
  Dialect dialect = Dialect::kOpenAi;
  // The key's rate-limit state (x-ratelimit-*), on answers and on errors alike.
  const std::vector<std::pair<std::string, std::string>>* limit_headers = nullptr;
  // Set when a route served the request: x-hybridgate-route and -tier.
  const routing::RouteDecision* decision = nullptr;
  // Set when the request was redacted: answers get the originals back (x-hybridgate-redacted).
  ResponseRestorer* restorer = nullptr;
};

// The dialect of an answer no decoder chose (no route, wrong method, a model lookup): the one
// whose API lives under `path` — Anthropic's under /v1/messages, Gemini's under /v1beta/ — else
// OpenAI's.
Dialect DialectOfPath(std::string_view path);

// The dialect's error body for `e`.
std::string EncodeError(Dialect dialect, const Error& e);

// An error answer (status, dialect body, retry-after when the error has a delay).
asio::awaitable<void> RespondError(http::Exchange& ex, const ResponseMeta& meta, const Error& e);

// Answers with the outcome unless the sink already streamed it (a non-stream answer is
// translated from the OpenAI body into the client's dialect here), then fills in and writes the
// log line.
asio::awaitable<void> Finish(http::Exchange& ex, const ResponseMeta& meta, routing::Outcome& out,
                             RequestLogEntry& log, std::chrono::steady_clock::time_point start);

// The stream sink for the client's dialect. `model` is the model name the client asked for
// (Anthropic and Gemini events echo it).
std::unique_ptr<routing::StreamSink> MakeStreamSink(http::Exchange& ex, const ResponseMeta& meta,
                                                    std::string model);

}  // namespace hybridgate::gateway
