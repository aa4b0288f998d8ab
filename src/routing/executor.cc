#include "routing/executor.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <optional>

#include "api/json.h"
#include "api/sse.h"
#include "common/pooled.h"
#include "routing/attempts.h"

namespace hybridgate::routing {

using HttpClock = http::Clock;  // routing::Clock is the breakers' clock
using std::chrono::milliseconds;

namespace {

Error NotServed(const Deployment& d) {
  return MakeError(
      ErrorCode::kInvalidRequest,
      fmt::format("provider '{}' (in-process) serves chat completions only", d.provider->name()));
}

// Whether a chat answer comes as OpenAI chat documents: from an OpenAI-speaking upstream, unless
// it got the request in the client's own dialect (an `openai` provider's Responses API).
bool AnswersInOpenAiChat(const Deployment& d, const api::ChatRequest& chat) {
  return d.provider->SpeaksOpenAi() && !d.provider->PassesThrough(chat);
}

// The translator for a chat stream from an upstream in another dialect; null for pass-through
// (OpenAI-speaking upstreams, and raw forwards).
std::unique_ptr<providers::StreamDecoder> DecoderFor(const Deployment& d,
                                                     const api::ChatRequest* chat,
                                                     std::string_view request_id) {
  if (!chat || AnswersInOpenAiChat(d, *chat)) return nullptr;
  return d.provider->NewStreamDecoder(*d.model, request_id);
}

// Replaces a 2xx chat answer from an upstream in another dialect by its OpenAI-format body.
Status DecodeBody(const Deployment& d, const api::ChatRequest* chat, http::UpstreamResponse& res,
                  std::string_view request_id) {
  if (!chat || d.provider->SpeaksOpenAi()) return {};
  auto body = d.provider->DecodeChat(res, *d.model, request_id);
  if (!body) return Fail(std::move(body.error()));
  res.body = std::move(*body);
  return {};
}

// Upstream body bytes -> the OpenAI chunks a StreamSink takes. OpenAI-speaking upstreams pass
// through and end with [DONE]; other dialects go through the provider's StreamDecoder. Usage is
// read from the (translated) chunks; the usage-only chunk is dropped unless the client asked for
// it. Plain code on purpose: GCC 12 miscompiles some coroutines here, so Pump only awaits.
// `native` (with a decoder): the client speaks the upstream's dialect, so each upstream event is
// delivered as it came, through StreamSink::Native, and its translation is only read for usage
// and the generated text's size.
class ChunkFeed {
 public:
  ChunkFeed(providers::StreamDecoder* decoder, bool client_wants_usage, bool native,
            std::string* capture)
      : decoder_(decoder),
        client_wants_usage_(client_wants_usage),
        native_(native && decoder),
        capture_(capture) {}

  // Feeds one read of the body (`eof`: the body ended). The chunks gather until Deliver(). An
  // in-stream error, or a body that ends before the answer is complete, is an Error.
  Status Feed(std::string_view bytes, bool eof, api::Usage& usage) {
    Status status;
    auto fed = parser_.Feed(bytes, [&](const api::SseEvent& ev) {
      if (!status || done_) return;
      if (!decoder_) {
        if (ev.data == "[DONE]") {
          done_ = true;
          return;
        }
        Take(ev.data, usage);
        return;
      }
      decoded_.clear();
      status = decoder_->Feed(ev, decoded_);
      if (native_ && status) {
        std::string& raw = chunks_.emplace_back();
        if (!ev.event.empty()) raw.append("event: ").append(ev.event).push_back('\n');
        for (size_t at = 0; at <= ev.data.size();) {  // one data line per line of data
          const size_t eol = std::min(ev.data.find('\n', at), ev.data.size());
          raw.append("data: ").append(ev.data, at, eol - at).push_back('\n');
          at = eol + 1;
        }
        raw.push_back('\n');
      }
      for (std::string& chunk : decoded_) Take(std::move(chunk), usage);
      done_ = status && decoder_->Done();
    });
    if (!fed) status = Fail(std::move(fed.error()));
    if (status && eof && !done_) {
      if (decoder_) {
        decoded_.clear();
        done_ = decoder_->End(decoded_);
        for (std::string& chunk : decoded_) Take(std::move(chunk), usage);
      }
      if (!done_) {
        status = Fail(MakeError(ErrorCode::kUpstreamUnavailable,
                                "upstream ended the stream without completing it"));
      }
    }
    failed_ = !status;
    return status;
  }
  // Hands the gathered chunks to `sink`, counting their text in `text_bytes`; true when there
  // were any.
  bool Deliver(StreamSink& sink, int64_t& text_bytes) {
    if (native_) {
      text_bytes += native_text_bytes_;
      native_text_bytes_ = 0;
      for (const std::string& event : chunks_) sink.Native(event);
      const bool any = !chunks_.empty();
      chunks_.clear();
      return any;
    }
    for (const std::string& chunk : chunks_) {
      text_bytes += api::GeneratedTextBytes(chunk);
      sink.Event(chunk);
    }
    const bool any = !chunks_.empty();
    chunks_.clear();
    return any;
  }
  bool done() const { return done_ && !failed_; }

 private:
  void Take(std::string chunk, api::Usage& usage) {
    if (capture_) api::AppendDeltaContent(chunk, *capture_);
    if (chunk.find("\"usage\"") != std::string::npos) {
      const auto info = api::InspectOpenAiResponse(chunk);
      if (info.usage.reported) usage = info.usage;
      if (!info.has_choices && !client_wants_usage_) return;
    }
    if (native_) {
      native_text_bytes_ += api::GeneratedTextBytes(chunk);
      return;
    }
    chunks_.push_back(std::move(chunk));
  }

  providers::StreamDecoder* decoder_;
  bool client_wants_usage_;
  bool native_;
  std::string* capture_;
  int64_t native_text_bytes_ = 0;
  api::SseParser parser_;
  std::vector<std::string> chunks_;
  std::vector<std::string> decoded_;
  bool done_ = false;
  bool failed_ = false;
};

// A non-stream upstream response -> the answer in `out` (status, usage, OpenAI-format body), or
// the Error that says why it is not one.
Status TakeAnswer(const Deployment& d, const api::ChatRequest* chat,
                  Result<http::UpstreamResponse>& res, std::string_view request_id, Outcome& out) {
  if (!res) return Fail(std::move(res.error()));
  if (res->status < 200 || res->status >= 300) return Fail(d.provider->ClassifyError(*res));
  out.native_body.clear();
  if (chat && d.provider->PassesThrough(*chat)) {
    // The client gets the upstream's own body; its translation serves usage and escalation.
    auto body = d.provider->DecodeChat(*res, *d.model, request_id);
    if (!body) return Fail(std::move(body.error()));
    out.native_body = std::move(res->body);
    res->body = std::move(*body);
  } else if (Status decoded = DecodeBody(d, chat, *res, request_id); !decoded) {
    return decoded;
  }
  const api::OpenAiResponseInfo info = api::InspectOpenAiResponse(res->body);
  if (!info.valid_json) {
    return Fail(MakeError(
        ErrorCode::kUpstreamUnavailable,
        fmt::format("provider '{}' returned a response that is not JSON", d.provider->name())));
  }
  out.status = res->status;
  out.usage = info.usage;
  out.body = std::move(res->body);
  if (!out.usage.reported) out.text_bytes = api::GeneratedTextBytes(out.body);
  return {};
}

// A raw forward's answer from `native` (the provider that got the client's own request last, if
// any): the client's as it is.
Outcome MarkNative(Outcome&& out, const providers::Provider* native) {
  if (out.ok && native && out.deployment.provider == native) out.native_body = std::move(out.body);
  return std::move(out);
}

bool ClientGone(const ExecuteOptions& options, const Outcome& out) {
  return out.client_gone || (options.cancel && options.cancel->cancelled());
}

}  // namespace

// What RunPlain keeps across its suspensions, in a Pooled block: as locals they made its
// coroutine frame ~3 KB, past what Asio recycles (common/pooled.h).
struct Executor::PlainRun {
  PlainRun(const RoutePlan& plan, const ExecuteOptions& options, const api::ChatRequest* chat)
      : run(plan, options, chat, /*stream=*/false) {}
  Outcome out;
  Attempts run;
  std::optional<asio::steady_timer> timer;  // made for the first backoff; most requests have none
  Result<http::UpstreamRequest> up;
  Result<http::UpstreamResponse> res;
  Result<std::string> body;  // an in-process provider's answer
};

template <class Encode>
asio::awaitable<Outcome> Executor::Plain(const RoutePlan& plan, const ExecuteOptions& options,
                                         const api::ChatRequest* chat, Encode encode,
                                         std::string_view raw_path, const std::string* raw_body) {
  const Pooled<PlainRun> st = Pooled<PlainRun>::Make(plan, options, chat);
  co_await RunPlain(*st, options, chat, std::move(encode), raw_path, raw_body);
  co_return std::move(st->out);
}

template <class Encode>
asio::awaitable<void> Executor::RunPlain(PlainRun& st, const ExecuteOptions& options,
                                         const api::ChatRequest* chat, Encode encode,
                                         std::string_view raw_path, const std::string* raw_body) {
  Outcome& out = st.out;
  Attempts& run = st.run;
  while (run.Next(out)) {
    if (run.delay().count() > 0) {
      if (!st.timer) st.timer.emplace(co_await asio::this_coro::executor);
      asio::steady_timer& timer = *st.timer;
      timer.expires_after(run.delay());
      if (options.cancel) options.cancel->Set([&timer] { timer.cancel(); });
      co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
      if (options.cancel) options.cancel->Set(nullptr);
      if (ClientGone(options, out)) {
        run.Cancelled(out, /*in_flight=*/false);
        co_return;
      }
    }
    const Deployment& d = run.candidate().deployment;
    const api::ChatRequest* send = run.Request();
    if (send && !send->native_only.empty() && !d.provider->PassesThrough(*send)) {
      run.Skip(out, MakeError(ErrorCode::kInvalidRequest, send->native_only));
      continue;
    }
    const auto start = HttpClock::now();
    if (providers::InProcess* ip = d.provider->in_process()) {
      if (!send && !raw_body) {
        run.Skip(out, NotServed(d));
        continue;
      }
      if (Status gate = options.egress.Check(d, {}); !gate) {
        run.Skip(out, std::move(gate.error()));
        continue;
      }
      const http::Deadlines deadlines = run.Begin(start);
      st.body = co_await CallInProcess(*ip, d, send, raw_path, raw_body, options,
                                       deadlines.response, out.usage);
      if (ClientGone(options, out)) {
        run.Cancelled(out);
        co_return;
      }
      if (!st.body) {
        out.error = std::move(st.body.error());
        run.Failed(out);
        continue;
      }
      out.status = 200;
      out.body = std::move(*st.body);
    } else {
      st.up = encode(d, send);
      if (!st.up) {
        out.error = std::move(st.up.error());
        run.Failed(out);
        continue;
      }
      if (Status gate = options.egress.Check(d, st.up->body); !gate) {
        run.Skip(out, std::move(gate.error()));
        continue;
      }
      const http::Deadlines deadlines = run.Begin(start);
      st.res = co_await pool_.Send(d.provider->endpoint(), *st.up, deadlines, options.cancel);
      if (ClientGone(options, out)) {
        run.Cancelled(out);
        co_return;
      }
      if (Status got = TakeAnswer(d, chat, st.res, options.request_id, out); !got) {
        out.error = std::move(got.error());
        run.Failed(out);
        continue;
      }
    }
    out.ttft = std::chrono::duration_cast<milliseconds>(HttpClock::now() - start);
    if (run.Answered(out)) co_return;
  }
  run.Finish(out);
}

asio::awaitable<bool> Executor::Pump(http::UpstreamStream& stream,
                                     providers::StreamDecoder* decoder, bool native,
                                     const ExecuteOptions& options, StreamSink& sink, Outcome& out,
                                     HttpClock::time_point start,
                                     HttpClock::time_point first_deadline,
                                     HttpClock::time_point deadline) {
  ChunkFeed feed(decoder, options.client_wants_usage, native, options.capture_text);
  std::string buf;
  for (;;) {
    buf.clear();
    auto n = co_await stream.Read(buf, out.streamed ? deadline : first_deadline);
    if (options.cancel && options.cancel->cancelled()) {
      out.error = CancelledError();
      co_return false;
    }
    if (!n) {
      out.error = std::move(n.error());
      break;
    }
    Status fed = feed.Feed(buf, *n == 0, out.usage);
    // What came before a failure still reaches a client that is being answered; before that it
    // is dropped, so that a fallback starts clean.
    const bool any = (fed || out.streamed) && feed.Deliver(sink, out.text_bytes);
    if (any && !out.streamed) {
      if (!co_await sink.Begin(out.deployment)) {
        out.error = CancelledError();
        out.client_gone = true;
        co_return false;
      }
      out.streamed = true;
      out.ttft = std::chrono::duration_cast<milliseconds>(HttpClock::now() - start);
    }
    if (out.streamed && !co_await sink.Flush()) {
      out.error = CancelledError();
      out.client_gone = true;
      co_return false;
    }
    if (!fed) {
      out.error = std::move(fed.error());
      break;
    }
    if (feed.done()) break;
  }
  if (feed.done()) {
    // A stream that completed without one event (only [DONE], or only usage) still answers with
    // a head first: the sink's end is never written before its beginning.
    if (!out.streamed) {
      if (!co_await sink.Begin(out.deployment)) {
        out.error = CancelledError();
        out.client_gone = true;
        co_return false;
      }
      out.streamed = true;
      out.ttft = std::chrono::duration_cast<milliseconds>(HttpClock::now() - start);
    }
    out.ok = true;
    co_await sink.Finish();
    co_return true;
  }
  co_return false;
}
asio::awaitable<Result<std::string>> Executor::CallInProcess(
    providers::InProcess& ip, const Deployment& d, const api::ChatRequest* send,
    std::string_view raw_path, const std::string* raw_body, const ExecuteOptions& options,
    HttpClock::time_point deadline, api::Usage& usage) {
  const auto ex = co_await asio::this_coro::executor;
  InProcessDeadline limit(ex, options.cancel);
  limit.Arm(deadline);
  Result<std::string> body = Fail(NotServed(d));
  if (send) {
    body = co_await ip.Complete(*send, *d.model, options.request_id, limit.token(), usage);
  } else {
    body = co_await ip.Raw(raw_path, *raw_body, *d.model, limit.token(), usage);
  }
  if (!body && limit.expired()) body = Fail(InProcessDeadline::TimeoutError(d));
  co_return body;
}

asio::awaitable<bool> Executor::PumpInProcess(providers::InProcess& ip,
                                              const api::ChatRequest& chat, const Deployment& d,
                                              const ExecuteOptions& options, StreamSink& sink,
                                              Outcome& out, HttpClock::time_point start,
                                              HttpClock::time_point first_deadline,
                                              HttpClock::time_point deadline) {
  const auto ex = co_await asio::this_coro::executor;
  // Declared before the stream, whose job holds its token until the stream is gone.
  InProcessDeadline limit(ex, options.cancel);
  limit.Arm(first_deadline);
  auto opened = co_await ip.Stream(chat, *d.model, options.request_id, options.client_wants_usage,
                                   limit.token());
  out.status = 200;
  if (!opened) {
    out.error = std::move(opened.error());
    co_return false;
  }
  providers::InProcessStream& stream = **opened;
  std::vector<std::string> chunks;
  for (;;) {
    chunks.clear();
    bool done = false;
    auto next = co_await stream.Next(chunks, done);
    out.usage = stream.usage();
    if (options.cancel && options.cancel->cancelled()) {
      out.error = CancelledError();
      co_return false;
    }
    if (!next) {
      out.error = limit.expired() ? InProcessDeadline::TimeoutError(d) : std::move(next.error());
      co_return false;
    }
    for (const std::string& chunk : chunks) {
      out.text_bytes += api::GeneratedTextBytes(chunk);
      if (options.capture_text) api::AppendDeltaContent(chunk, *options.capture_text);
      sink.Event(chunk);
    }
    // Inline rather than shared with Pump: GCC 12 miscompiles this as a separate coroutine. The
    // head goes first even when the answer ends without a chunk.
    if ((!chunks.empty() || done) && !out.streamed) {
      if (!co_await sink.Begin(out.deployment)) {
        out.error = CancelledError();
        out.client_gone = true;
        co_return false;
      }
      out.streamed = true;
      out.ttft = std::chrono::duration_cast<milliseconds>(HttpClock::now() - start);
      limit.Arm(deadline);
    }
    if (out.streamed && !co_await sink.Flush()) {
      out.error = CancelledError();
      out.client_gone = true;
      co_return false;
    }
    if (done) break;
  }
  out.ok = true;
  co_await sink.Finish();
  co_return true;
}

// What RunStream keeps across its suspensions, in a Pooled block (like PlainRun).
struct Executor::StreamRun {
  StreamRun(const RoutePlan& plan, const ExecuteOptions& options, const api::ChatRequest* chat)
      : run(plan, options, chat, /*stream=*/true) {}
  Outcome out;
  Attempts run;
  std::optional<asio::steady_timer> timer;  // made for the first backoff; most requests have none
  Result<http::UpstreamRequest> up;
  std::optional<Result<http::UpstreamStream>> opened;  // the current attempt's upstream stream
  http::UpstreamResponse err;                          // a non-2xx answer, read whole
};

template <class Encode>
asio::awaitable<Outcome> Executor::Stream(const RoutePlan& plan, const ExecuteOptions& options,
                                          StreamSink& sink, const api::ChatRequest* chat,
                                          Encode encode) {
  const Pooled<StreamRun> st = Pooled<StreamRun>::Make(plan, options, chat);
  co_await RunStream(*st, options, sink, chat, std::move(encode));
  co_return std::move(st->out);
}

template <class Encode>
asio::awaitable<void> Executor::RunStream(StreamRun& st, const ExecuteOptions& options,
                                          StreamSink& sink, const api::ChatRequest* chat,
                                          Encode encode) {
  Outcome& out = st.out;
  Attempts& run = st.run;
  while (run.Next(out)) {
    st.opened.reset();  // the last attempt's stream, if any, closes before the next one
    sink.SetAttempts(out.attempts);
    if (run.delay().count() > 0) {
      if (!st.timer) st.timer.emplace(co_await asio::this_coro::executor);
      asio::steady_timer& timer = *st.timer;
      timer.expires_after(run.delay());
      if (options.cancel) options.cancel->Set([&timer] { timer.cancel(); });
      co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
      if (options.cancel) options.cancel->Set(nullptr);
      if (ClientGone(options, out)) {
        run.Cancelled(out, /*in_flight=*/false);
        co_return;
      }
    }
    const Deployment& d = run.candidate().deployment;
    if (chat && !chat->native_only.empty() && !d.provider->PassesThrough(*chat)) {
      run.Skip(out, MakeError(ErrorCode::kInvalidRequest, chat->native_only));
      continue;
    }
    if (providers::InProcess* ip = d.provider->in_process()) {
      if (!chat) {
        run.Skip(out, NotServed(d));
        continue;
      }
      if (Status gate = options.egress.Check(d, {}); !gate) {
        run.Skip(out, std::move(gate.error()));
        continue;
      }
      const auto start = HttpClock::now();
      const http::Deadlines deadlines = run.Begin(start);
      const HttpClock::time_point first = run.FirstEventDeadline(start);
      if (co_await PumpInProcess(*ip, *chat, d, options, sink, out, start, first,
                                 deadlines.response)) {
        run.Succeeded(out);
        co_return;
      }
      if (ClientGone(options, out)) {
        run.Cancelled(out);
        co_return;
      }
      run.Failed(out);
      if (out.streamed) {
        co_await sink.Abort(out.error);
        co_return;
      }
      continue;
    }
    st.up = encode(d, chat);
    if (!st.up) {
      out.error = std::move(st.up.error());
      run.Failed(out);
      continue;
    }
    if (Status gate = options.egress.Check(d, st.up->body); !gate) {
      run.Skip(out, std::move(gate.error()));
      continue;
    }
    const auto start = HttpClock::now();
    const http::Deadlines deadlines = run.Begin(start);
    const HttpClock::time_point first = run.FirstEventDeadline(start);
    const http::Deadlines head_deadlines{deadlines.connect, std::min(first, deadlines.response)};
    st.opened.emplace(
        co_await pool_.Open(d.provider->endpoint(), *st.up, head_deadlines, options.cancel));
    Result<http::UpstreamStream>& opened = *st.opened;
    if (ClientGone(options, out)) {
      run.Cancelled(out);
      co_return;
    }
    if (!opened) {
      out.error = std::move(opened.error());
      run.Failed(out);
      continue;
    }
    http::UpstreamStream& stream = *opened;
    if (options.cancel) options.cancel->Set([&stream] { stream.Abort(); });
    struct Unhook {
      http::CancelToken* t;
      ~Unhook() {
        if (t) t->Set(nullptr);
      }
    } unhook{options.cancel};
    out.status = stream.head().status;
    if (out.status < 200 || out.status >= 300) {
      http::UpstreamResponse& err = st.err;
      err = stream.head();
      while (err.body.size() < 1024 * 1024) {
        auto n = co_await stream.Read(err.body, deadlines.response);
        if (!n || *n == 0) break;
      }
      out.error = d.provider->ClassifyError(err);
      run.Failed(out);
      continue;
    }
    const auto decoder = DecoderFor(d, chat, options.request_id);
    const bool native = decoder && d.provider->PassesThrough(*chat);
    if (co_await Pump(stream, decoder.get(), native, options, sink, out, start, first,
                      deadlines.response)) {
      run.Succeeded(out);
      co_return;
    }
    if (ClientGone(options, out)) {
      run.Cancelled(out);
      co_return;
    }
    run.Failed(out);
    if (out.streamed) {
      // Bytes already reached the client: a fallback would splice two answers together.
      co_await sink.Abort(out.error);
      co_return;
    }
  }
}

// Chat and ChatStream are not coroutines themselves: they hand back Plain's / RunStream's, which
// saves a frame and a resumption per request. Everything they pass along is owned by the caller,
// who awaits the result at once.
asio::awaitable<Outcome> Executor::Chat(const api::ChatRequest& req, const RoutePlan& plan,
                                        const ExecuteOptions& options) {
  return Plain(plan, options, &req,
               [opts = &options](const Deployment& d, const api::ChatRequest* send) {
                 return d.provider->EncodeChat(*send, *d.model, opts->request_id);
               });
}

asio::awaitable<Outcome> Executor::ChatStream(const api::ChatRequest& req, const RoutePlan& plan,
                                              const ExecuteOptions& options, StreamSink& sink) {
  return Stream(plan, options, sink, &req,
                [opts = &options](const Deployment& d, const api::ChatRequest* send) {
                  return d.provider->EncodeChat(*send, *d.model, opts->request_id);
                });
}

asio::awaitable<Outcome> Executor::Raw(std::string_view path, const std::string& body,
                                       std::string_view requested_model, bool stream,
                                       const RoutePlan& plan, const ExecuteOptions& options,
                                       StreamSink* sink, const NativeEncode* native) {
  // The provider the last request went to in the client's own dialect: its answer, if it is the
  // one, is the client's as it is. (An in-process attempt encodes nothing: it is never native.)
  const providers::Provider* sent_native = nullptr;
  auto encode = [&](const Deployment& d, const api::ChatRequest*) -> Result<http::UpstreamRequest> {
    sent_native = nullptr;
    if (native && *native && !stream) {
      auto up = (*native)(d);
      if (up) sent_native = d.provider;
      if (up || up.error().code != ErrorCode::kNotFound) return up;
    }
    if (d.model->id == requested_model) {
      return d.provider->EncodeRaw(path, body, stream, options.request_id);
    }
    auto rewritten = api::ReplaceStringField(body, "model", d.model->id);
    if (!rewritten) return Fail(std::move(rewritten.error()));
    return d.provider->EncodeRaw(path, std::move(*rewritten), stream, options.request_id);
  };
  if (stream && sink) co_return co_await Stream(plan, options, *sink, nullptr, encode);
  // No Outcome of its own in this frame (common/pooled.h): the answer is handed on.
  co_return MarkNative(co_await Plain(plan, options, nullptr, encode, path, &body), sent_native);
}

}  // namespace hybridgate::routing
