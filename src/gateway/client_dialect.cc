#include "gateway/client_dialect.h"

#include <array>
#include <charconv>
#include <optional>

#include "gateway/route_planner.h"

namespace hybridgate::gateway {

namespace {

constexpr std::string_view kJson = "application/json";

// The headers every answer of a request carries: views into the request's state (its id, the
// serving provider and model, the route, the limiter's values) and into the few numbers formatted
// here, which live as long as this does. Neither copied nor moved: the views point into it.
class ResponseHeaders {
 public:
  ResponseHeaders(const ResponseMeta& meta, const routing::Deployment& d) {
    Add("x-hybridgate-request-id", meta.id);
    if (meta.data_class > 0) AddNumber("x-hybridgate-data-class", meta.data_class);
    if (d.provider) {
      Add("x-hybridgate-provider", d.provider->name());
      Add("x-hybridgate-model", d.model->id);
    }
    if (meta.decision) {
      Add("x-hybridgate-route", meta.decision->route);
      if (d.provider) Add("x-hybridgate-tier", RoutePlanner::TierOf(*meta.decision, d));
    }
    if (!meta.rollout.empty()) Add("x-hybridgate-rollout", meta.rollout);
    if (meta.limit_headers) {
      for (const auto& [name, value] : *meta.limit_headers) Add(name, value);
    }
    if (meta.restorer) AddNumber("x-hybridgate-redacted", meta.restorer->replaced());
    AddDropped(meta, d);
  }
  ResponseHeaders(const ResponseHeaders&) = delete;
  ResponseHeaders& operator=(const ResponseHeaders&) = delete;

  void Add(std::string_view name, std::string_view value) { list_.emplace_back(name, value); }
  void AddNumber(std::string_view name, int64_t value) {
    if (used_ == numbers_.size()) return;  // more than any answer adds
    std::array<char, 24>& buf = numbers_[used_++];
    const auto end = std::to_chars(buf.data(), buf.data() + buf.size(), value).ptr;
    Add(name, std::string_view(buf.data(), static_cast<size_t>(end - buf.data())));
  }
  const http::HeaderList& list() const { return list_; }

 private:
  // x-hybridgate-dropped-fields: what the client's dialect dropped (the Responses API's unknown
  // fields) and what the translation for the answering upstream left out.
  void AddDropped(const ResponseMeta& meta, const routing::Deployment& d) {
    const std::string_view own = meta.context ? meta.context->dropped_fields() : std::string_view();
    if (d.provider && meta.request) {
      api::Dropped dropped(meta.request->ingress);
      dropped.AddList(own);
      d.provider->ReportDropped(*meta.request, dropped);
      dropped_ = dropped.TakeList();
    } else {
      dropped_ = own;
    }
    if (!dropped_.empty()) Add("x-hybridgate-dropped-fields", dropped_);
  }

  http::HeaderList list_;
  std::string dropped_;                          // viewed by list_
  std::array<std::array<char, 24>, 4> numbers_;  // data class, redacted, attempts, retry-after
  size_t used_ = 0;
};

// Streams to the client: the upstream's OpenAI chunks go through the dialect's encoder, each
// flushed as it arrives. With redaction, the originals are restored first, including
// placeholders split across chunks.
class DialectSink : public routing::StreamSink {
 public:
  DialectSink(http::Exchange& ex, const ResponseMeta& meta,
              std::unique_ptr<dialects::StreamEncoder> encoder)
      : ex_(ex), meta_(meta), encoder_(std::move(encoder)) {}

  asio::awaitable<bool> Begin(const routing::Deployment& d) override {
    // Built outside co_await: GCC 12 miscompiles braced lists inside co_await expressions.
    ResponseHeaders headers(meta_, d);
    headers.AddNumber("x-hybridgate-attempts", attempts());
    co_return co_await ex_.BeginStream(200, "text/event-stream", headers.list());
  }
  void Native(std::string_view event) override {
    // Already the client's own dialect (the upstream got its request as sent, never a redacted
    // one): written as it came (the dialect puts back what routing changed), and the upstream,
    // not the encoder, ends the message.
    native_ = true;
    encoder_->Native(event, pending_);
  }
  void Event(std::string_view chunk) override {
    if (!meta_.restorer) return Translate(chunk);
    restored_.clear();
    meta_.restorer->FeedChunk(chunk, restored_);
    for (const std::string& c : restored_) Translate(c);
  }
  asio::awaitable<bool> Flush() override {
    const bool ok = co_await ex_.Write(pending_);
    pending_.clear();
    co_return ok;
  }
  asio::awaitable<void> Finish() override {
    if (meta_.restorer) {
      restored_.clear();
      meta_.restorer->FinishStream(restored_);
      for (const std::string& c : restored_) Translate(c);
    }
    if (error_) co_return co_await Abort(*error_);
    if (!native_) EndMessage();
    if (meta_.answered) meta_.answered();
    if (meta_.saved_by) co_await meta_.saved_by->Committed();
    co_await Flush();
    co_await ex_.End();
  }
  asio::awaitable<void> Abort(const Error& error) override {
    // The dialect's error event, never its normal end ([DONE], message_stop, a finishReason).
    encoder_->Fail(error, pending_);
    co_await Flush();
    co_await ex_.End();
  }

 private:
  void Translate(std::string_view chunk) {
    if (error_) return;
    if (Status s = encoder_->Feed(chunk, pending_); !s) error_ = s.error();
  }
  void EndMessage() { encoder_->Finish(pending_); }

  http::Exchange& ex_;
  const ResponseMeta& meta_;
  std::unique_ptr<dialects::StreamEncoder> encoder_;
  std::string pending_;
  std::optional<Error> error_;
  std::vector<std::string> restored_;
  bool native_ = false;
};

}  // namespace

asio::awaitable<void> RespondError(http::Exchange& ex, const ResponseMeta& meta, const Error& e) {
  ResponseHeaders headers(meta, {});
  if (e.retry_after_ms >= 0 &&
      (e.code == ErrorCode::kRateLimited || e.code == ErrorCode::kUpstreamUnavailable ||
       e.code == ErrorCode::kUnavailable)) {
    headers.AddNumber("retry-after", (e.retry_after_ms + 999) / 1000);
  }
  co_await ex.Respond(e.HttpStatus(), kJson, meta.dialect->EncodeError(e), headers.list());
}

asio::awaitable<void> Finish(http::Exchange& ex, const ResponseMeta& meta, routing::Outcome& out,
                             RequestLogEntry& log, std::chrono::steady_clock::time_point start) {
  if (out.deployment.provider) {
    log.provider = out.deployment.provider->name();
    log.upstream_model = out.deployment.model->id;
  }
  log.attempts = out.attempts;
  if (out.ok && !out.streamed && !out.native_body.empty()) {
    // The upstream speaks the client's dialect and got its request as sent: its answer as is
    // (but for what routing changed, which the dialect puts back).
    out.body = std::move(out.native_body);
    if (auto s = meta.dialect->EncodeNativeAnswer(out.body, meta.context); !s) {
      out.ok = false;
      out.error = MakeError(ErrorCode::kUpstreamUnavailable,
                            "upstream answer could not be read: " + s.error().message);
    } else if (meta.answered) {
      meta.answered();
    }
  } else if (out.ok && !out.streamed) {
    static const api::ChatRequest kNone;
    auto translated =
        meta.dialect->EncodeAnswer(out.body, meta.request ? *meta.request : kNone, meta.context);
    if (!translated) {
      out.ok = false;
      out.error =
          MakeError(ErrorCode::kUpstreamUnavailable,
                    "upstream answer could not be translated: " + translated.error().message);
    } else if (meta.answered) {
      meta.answered();
    }
  }
  if (out.ok && !out.streamed && meta.answered && meta.saved_by) {
    co_await meta.saved_by->Committed();
  }
  if (out.ok && !out.streamed) {
    ResponseHeaders headers(meta, out.deployment);
    headers.AddNumber("x-hybridgate-attempts", out.attempts);
    headers.Add("x-hybridgate-escalated", out.escalated ? "1" : "0");
    co_await ex.Respond(out.status, kJson, std::move(out.body), headers.list());
  } else if (!out.ok && !out.streamed && !ex.client_gone()) {
    co_await RespondError(ex, meta, out.error);
  }
  log.status = ex.client_gone() ? 499 : out.ok ? out.status : out.error.HttpStatus();
  if (!out.ok) log.error_code = out.error.CodeName();
  if (out.usage.reported) {
    log.input_tokens = out.usage.input_tokens;
    log.output_tokens = out.usage.output_tokens;
  }
  if (out.ttft.count() >= 0) log.ttft_ms = static_cast<double>(out.ttft.count());
  log.latency_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  LogRequest(log);
}

std::unique_ptr<routing::StreamSink> MakeStreamSink(
    http::Exchange& ex, const ResponseMeta& meta,
    std::unique_ptr<dialects::StreamEncoder> encoder) {
  return std::make_unique<DialectSink>(ex, meta, std::move(encoder));
}

}  // namespace hybridgate::gateway
