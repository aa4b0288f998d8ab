// The client's side of one exchange: response headers, and the answer, stream and errors written
// through the client's dialect (dialects/dialect.h), which decides how they look on the wire.
// The gateway decides what to answer.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "dialects/dialect.h"
#include "gateway/redaction.h"
#include "gateway/request_log.h"
#include "gateway/response_store.h"
#include "http/server.h"
#include "routing/executor.h"
#include "routing/routes.h"

namespace hybridgate::gateway {

namespace asio = boost::asio;

// What every response of one request carries.
struct ResponseMeta {
  const std::string& id;
  int data_class = 0;  // 0: not classified (e.g. the body did not parse)
  const dialects::ClientDialect* dialect = nullptr;  // never null once answered
  // What the dialect keeps of the request for its answer (may be null).
  dialects::RequestContext* context = nullptr;
  // The decoded request, for dialects whose answers echo it (null on endpoints without one).
  const api::ChatRequest* request = nullptr;
  // The key's rate-limit state (x-ratelimit-*), on answers and on errors alike.
  const std::vector<std::pair<std::string, std::string>>* limit_headers = nullptr;
  // Set when a route served the request: x-hybridgate-route and -tier.
  const routing::RouteDecision* decision = nullptr;
  // x-hybridgate-rollout (<route>/<percent>/<arm>), when a rollout took the request.
  std::string_view rollout;
  // Set when the request was redacted: answers get the originals back (x-hybridgate-redacted).
  ResponseRestorer* restorer = nullptr;
  // Called once a successful answer is encoded, before its last byte is written (the response
  // store queues its row there), and the store that must have committed what `answered` queued
  // before that last byte leaves: a client that read the answer finds it stored, even after a
  // kill -9.
  std::function<void()> answered;
  ResponseStore* saved_by = nullptr;
};

// An error answer (status, dialect body, retry-after when the error has a delay).
asio::awaitable<void> RespondError(http::Exchange& ex, const ResponseMeta& meta, const Error& e);

// Answers with the outcome unless the sink already streamed it (a non-stream answer is
// translated from the OpenAI body into the client's dialect here), then fills in and writes the
// log line.
asio::awaitable<void> Finish(http::Exchange& ex, const ResponseMeta& meta, routing::Outcome& out,
                             RequestLogEntry& log, std::chrono::steady_clock::time_point start);

// The stream sink that writes `encoder`'s events (the client's dialect) as chunks arrive.
std::unique_ptr<routing::StreamSink> MakeStreamSink(
    http::Exchange& ex, const ResponseMeta& meta, std::unique_ptr<dialects::StreamEncoder> encoder);

}  // namespace hybridgate::gateway
