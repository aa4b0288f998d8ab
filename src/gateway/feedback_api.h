// POST /v1/feedback: a client's score for an answer it got, by the answer's
// x-hybridgate-request-id, stored in the quality store (quality/feedback.h) for
// `hybridgate quality report`. Authenticated like any request: with auth on, a key may rate only
// the requests it made (another key's request, or an unknown id, is 404); with auth off, anyone
// may rate any answered request. The body is checked strictly (400 naming the field). The store's
// work runs on its own thread; the event loop only awaits it. Off (404 saying so) with
// `quality.feedback: false`.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <memory>
#include <string>

#include "common/result.h"
#include "config/config.h"
#include "dialects/dialect.h"
#include "gateway/admission.h"
#include "gateway/request_log.h"
#include "gateway/runtime.h"
#include "http/server.h"
#include "metrics/metrics.h"
#include "quality/feedback.h"

namespace hybridgate::gateway {

class FeedbackApi {
 public:
  // Opens the store `config` names (quality.feedback; quality/store_config.h), or none when
  // feedback is off. `admission` and `metrics` must outlive this.
  static Result<std::unique_ptr<FeedbackApi>> Create(const config::Config& config,
                                                     const Admission& admission,
                                                     metrics::Metrics& metrics);

  // Where Accounting remembers every answered request (who made it, its route); null when
  // feedback is off.
  quality::FeedbackStore* store() const { return store_.get(); }

  // POST /v1/feedback (another method: 405). Errors in `dialect`'s shape; `log` gets their code.
  boost::asio::awaitable<void> Serve(http::Exchange& ex, const Runtime& rt, const std::string& id,
                                     RequestLogEntry& log, const dialects::ClientDialect& dialect);

 private:
  FeedbackApi(const Admission& admission, metrics::Metrics& metrics)
      : admission_(admission), metrics_(metrics) {}

  const Admission& admission_;
  metrics::Metrics& metrics_;
  std::unique_ptr<quality::FeedbackStore> store_;
};

}  // namespace hybridgate::gateway
