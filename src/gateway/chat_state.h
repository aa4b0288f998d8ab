// ChatState: what one chat request keeps from its decode to its ledger row (Gateway::ServeChat).
// It lives in a Pooled block rather than in ServeChat's coroutine frame, which made that frame
// 3.6 KB: too big for Asio's frame recycling, so it cost a large malloc per request
// (common/pooled.h). Internal to the gateway module.
#pragma once

#include <list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/chat_request.h"
#include "classify/sensitivity/scanner.h"
#include "common/error.h"
#include "common/result.h"
#include "gateway/accounting.h"
#include "gateway/client_dialect.h"
#include "gateway/redaction.h"
#include "gateway/request_log.h"
#include "gateway/response_store.h"
#include "gateway/rollouts.h"
#include "gateway/settlement.h"
#include "http/client.h"
#include "limits/keys.h"
#include "limits/limiter.h"
#include "routing/executor.h"
#include "routing/policy.h"
#include "routing/routes.h"

namespace hybridgate::gateway {

struct ChatState {
  // Decodes the request's body with the client's dialect straight into `req` (a returned
  // request cost some twenty string moves to get here).
  ChatState(std::string request_id, const dialects::ClientDialect& client_dialect,
            http::Request& request, std::string_view path)
      : id(std::move(request_id)), req(std::in_place), meta{id, 0, &client_dialect} {
    if (auto s = client_dialect.Decode(request, path, request.body(), *req, context); !s) {
      req = Fail(std::move(s.error()));
    } else {
      meta.context = context.get();
      meta.request = &*req;
    }
  }
  ChatState(const ChatState&) = delete;
  ChatState& operator=(const ChatState&) = delete;

  const std::string id;          // the request id; log, facts and meta point at it
  Result<api::ChatRequest> req;  // the decoded request, or why it did not decode
  std::unique_ptr<dialects::RequestContext> context;  // the dialect's, for its answer
  // A continued conversation (Responses API previous_response_id): what was said before, and
  // the highest data class in it, which the request's class is raised to.
  std::string history;
  int history_class = 0;
  ResponseStore::Slot store_slot;  // held while the answer is to be stored
  RequestLogEntry log;             // the request's log line
  RequestFacts facts;              // what the ledger row and the metrics are made from
  ResponseMeta meta;               // what the answer's headers say
  routing::Outcome out;            // the executor's answer, or the error the client gets
  std::shared_ptr<const limits::KeyInfo> key;  // null with auth off
  limits::Decision admitted;                   // the limiter's verdict (keyed requests)
  Settlement settlement;                       // what the key holds until the request ends
  std::vector<std::string_view> texts;    // the scan views of the request's texts (same lengths)
  std::list<std::string> text_views;      // what `texts` point into for rewritten JSON texts
  sensitivity::Classification cls;        // every string of the body: the request's class
  int egress_class = 0;                   // the class the egress gate holds it to (after redaction)
  routing::RouteSelection selection;      // how a route was selected, if one was
  const routing::Route* route = nullptr;  // the route the request selected, if any
  routing::RouteDecision decision;
  // Set by PrepareChat before anything reads it; starts as an empty plan, which allocates
  // nothing (an error here cost an Error and its strings on every request).
  Result<routing::RoutePlan> plan{std::in_place};
  std::unique_ptr<ResponseRestorer> restorer;  // set when the request was redacted
  http::CancelToken cancel;                    // cancelled when the client hangs up
  uint64_t shadows = 0;       // the route's shadow targets that sampled it (SampleShadows)
  RolloutAssignment rollout;  // its arm, when its route has a rollout that takes it
  // The answer's text and finish reason, kept for those only (a stream's as it was streamed).
  std::string answer_text;
  std::string finish_reason;
};

// What one /v1/completions or /v1/embeddings request keeps (Gateway::Forward), likewise in a
// Pooled block.
struct ForwardState {
  ForwardState(const std::string& request_id, const dialects::ClientDialect& openai)
      : id(request_id), meta{id, 0, &openai} {}
  ForwardState(const ForwardState&) = delete;
  ForwardState& operator=(const ForwardState&) = delete;

  const std::string& id;
  std::string full_path;  // "/v1/completions", for the log
  std::string body;       // the canonical body: what is scanned, priced and sent
  // A dialect's translated embeddings body (ForwardVia): `body` is made from it, and the
  // client's own body is what is scanned.
  const std::string* translated = nullptr;
  std::string model;
  bool stream = false;
  std::optional<int64_t> max_output;  // the body's max_tokens
  int64_t choices = 1;                // the body's max(n, best_of)
  RequestLogEntry log;
  RequestFacts facts;
  ResponseMeta meta;
  routing::Outcome out;
  std::shared_ptr<const limits::KeyInfo> key;
  limits::Decision admitted;
  Settlement settlement;
  sensitivity::Classification cls;
  int egress_class = 0;
  Result<routing::RoutePlan> plan{std::in_place};
  std::unique_ptr<ResponseRestorer> restorer;
  http::CancelToken cancel;
};

}  // namespace hybridgate::gateway
