#include "routing/executor.h"

#include <fmt/format.h>

#include "api/json.h"
#include "api/sse.h"

namespace hybridgate::routing {

using http::Clock;
using std::chrono::milliseconds;

namespace {

http::Deadlines DeadlinesFor(const Deployment& d, Clock::time_point now) {
  const auto& pc = d.provider->config();
  const int64_t total = d.model->timeout_ms > 0 ? d.model->timeout_ms : pc.timeout_ms;
  return {now + milliseconds(pc.connect_timeout_ms), now + milliseconds(total)};
}

Error CancelledError() {
  return MakeError(ErrorCode::kUpstreamUnavailable, "client closed the connection");
}

Error NotServed(const Deployment& d) {
  return MakeError(
      ErrorCode::kInvalidRequest,
      fmt::format("provider '{}' (in-process) serves chat completions only", d.provider->name()));
}

}  // namespace

template <class Encode>
asio::awaitable<Outcome> Executor::RunPlain(const RoutePlan& plan, const ExecuteOptions& options,
                                            const api::ChatRequest* chat, Encode encode) {
  Outcome out;
  for (const Candidate& c : plan.candidates) {
    out.deployment = c.deployment;
    ++out.attempts;
    if (providers::InProcess* ip = c.deployment.provider->in_process()) {
      if (!chat) {
        out.error = NotServed(c.deployment);
        continue;
      }
      const auto start = Clock::now();
      auto body = co_await ip->Complete(*chat, *c.deployment.model, options.request_id,
                                        options.cancel, out.usage);
      if (options.cancel && options.cancel->cancelled()) {
        out.error = CancelledError();
        co_return out;
      }
      if (!body) {
        out.error = std::move(body.error());
        if (out.error.Retryable()) continue;
        co_return out;
      }
      out.ok = true;
      out.status = 200;
      out.body = std::move(*body);
      out.ttft = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
      co_return out;
    }
    auto up = encode(c.deployment);
    if (!up) {
      out.error = std::move(up.error());
      co_return out;
    }
    const auto start = Clock::now();
    auto res = co_await pool_.Send(c.deployment.provider->endpoint(), *up,
                                   DeadlinesFor(c.deployment, start), options.cancel);
    if (options.cancel && options.cancel->cancelled()) {
      out.error = CancelledError();
      co_return out;
    }
    if (!res) {
      out.error = std::move(res.error());
      if (out.error.Retryable()) continue;
      co_return out;
    }
    if (res->status < 200 || res->status >= 300) {
      out.error = c.deployment.provider->ClassifyError(*res);
      if (out.error.Retryable()) continue;
      co_return out;
    }
    const api::OpenAiResponseInfo info = api::InspectOpenAiResponse(res->body);
    if (!info.valid_json) {
      out.error = MakeError(ErrorCode::kUpstreamUnavailable,
                            fmt::format("provider '{}' returned a response that is not JSON",
                                        c.deployment.provider->name()));
      continue;
    }
    out.ok = true;
    out.status = res->status;
    out.usage = info.usage;
    out.body = std::move(res->body);
    out.ttft = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
    co_return out;
  }
  co_return out;
}

asio::awaitable<bool> Executor::Pump(http::UpstreamStream& stream, const ExecuteOptions& options,
                                     StreamSink& sink, Outcome& out, Clock::time_point start,
                                     Clock::time_point deadline) {
  api::SseParser parser;
  std::string buf;
  bool saw_done = false;
  for (;;) {
    buf.clear();
    auto n = co_await stream.Read(buf, deadline);
    if (options.cancel && options.cancel->cancelled()) {
      out.error = CancelledError();
      co_return false;
    }
    if (!n) {
      out.error = std::move(n.error());
      break;
    }
    if (*n == 0) {
      if (!saw_done) {
        out.error = MakeError(ErrorCode::kUpstreamUnavailable,
                              "upstream ended the stream without completing it");
      }
      break;
    }
    bool any = false;
    auto fed = parser.Feed(buf, [&](const api::SseEvent& ev) {
      if (ev.data == "[DONE]") {
        saw_done = true;
        return;
      }
      if (ev.data.find("\"usage\"") != std::string::npos) {
        const auto info = api::InspectOpenAiResponse(ev.data);
        if (info.usage.reported) out.usage = info.usage;
        if (!info.has_choices && !options.client_wants_usage) return;
      }
      any = true;
      sink.Event(ev.data);
    });
    if (!fed) {
      out.error = std::move(fed.error());
      break;
    }
    if (any && !out.streamed) {
      if (!co_await sink.Begin(out.deployment)) {
        out.error = CancelledError();
        co_return false;
      }
      out.streamed = true;
      out.ttft = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
    }
    if (out.streamed && !co_await sink.Flush()) {
      out.error = CancelledError();
      co_return false;
    }
    if (saw_done) break;
  }
  if (saw_done) {
    out.ok = true;
    co_await sink.Finish();
    co_return true;
  }
  co_return false;
}

asio::awaitable<bool> Executor::PumpInProcess(providers::InProcess& ip,
                                              const api::ChatRequest& chat, const Deployment& d,
                                              const ExecuteOptions& options, StreamSink& sink,
                                              Outcome& out) {
  const auto start = Clock::now();
  auto opened = co_await ip.Stream(chat, *d.model, options.request_id, options.client_wants_usage,
                                   options.cancel);
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
      out.error = std::move(next.error());
      co_return false;
    }
    for (const std::string& chunk : chunks) sink.Event(chunk);
    // Inline rather than shared with Pump: GCC 12 miscompiles this as a separate coroutine.
    if (!chunks.empty() && !out.streamed) {
      if (!co_await sink.Begin(out.deployment)) {
        out.error = CancelledError();
        co_return false;
      }
      out.streamed = true;
      out.ttft = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
    }
    if (out.streamed && !co_await sink.Flush()) {
      out.error = CancelledError();
      co_return false;
    }
    if (done) break;
  }
  out.ok = true;
  co_await sink.Finish();
  co_return true;
}

template <class Encode>
asio::awaitable<Outcome> Executor::RunStream(const RoutePlan& plan, const ExecuteOptions& options,
                                             StreamSink& sink, const api::ChatRequest* chat,
                                             Encode encode) {
  Outcome out;
  for (const Candidate& c : plan.candidates) {
    out.deployment = c.deployment;
    ++out.attempts;
    if (providers::InProcess* ip = c.deployment.provider->in_process()) {
      if (!chat) {
        out.error = NotServed(c.deployment);
        continue;
      }
      if (co_await PumpInProcess(*ip, *chat, c.deployment, options, sink, out)) co_return out;
      if (options.cancel && options.cancel->cancelled()) co_return out;
      if (out.streamed) {
        co_await sink.Abort(out.error);
        co_return out;
      }
      if (!out.error.Retryable()) co_return out;
      continue;
    }
    auto up = encode(c.deployment);
    if (!up) {
      out.error = std::move(up.error());
      co_return out;
    }
    const auto start = Clock::now();
    const http::Deadlines deadlines = DeadlinesFor(c.deployment, start);
    auto opened =
        co_await pool_.Open(c.deployment.provider->endpoint(), *up, deadlines, options.cancel);
    if (options.cancel && options.cancel->cancelled()) {
      out.error = CancelledError();
      co_return out;
    }
    if (!opened) {
      out.error = std::move(opened.error());
      if (out.error.Retryable()) continue;
      co_return out;
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
      http::UpstreamResponse err = stream.head();
      while (err.body.size() < 1024 * 1024) {
        auto n = co_await stream.Read(err.body, deadlines.response);
        if (!n || *n == 0) break;
      }
      out.error = c.deployment.provider->ClassifyError(err);
      if (out.error.Retryable()) continue;
      co_return out;
    }
    if (co_await Pump(stream, options, sink, out, start, deadlines.response)) co_return out;
    if (options.cancel && options.cancel->cancelled()) co_return out;
    if (out.streamed) {
      // Bytes already reached the client: a fallback would splice two answers together.
      co_await sink.Abort(out.error);
      co_return out;
    }
    if (!out.error.Retryable()) co_return out;
  }
  co_return out;
}

asio::awaitable<Outcome> Executor::Chat(const api::ChatRequest& req, const RoutePlan& plan,
                                        const ExecuteOptions& options) {
  co_return co_await RunPlain(plan, options, &req, [&](const Deployment& d) {
    return d.provider->EncodeChat(req, *d.model, options.request_id);
  });
}

asio::awaitable<Outcome> Executor::ChatStream(const api::ChatRequest& req, const RoutePlan& plan,
                                              const ExecuteOptions& options, StreamSink& sink) {
  co_return co_await RunStream(plan, options, sink, &req, [&](const Deployment& d) {
    return d.provider->EncodeChat(req, *d.model, options.request_id);
  });
}

asio::awaitable<Outcome> Executor::Raw(std::string_view path, const std::string& body,
                                       std::string_view requested_model, bool stream,
                                       const RoutePlan& plan, const ExecuteOptions& options,
                                       StreamSink* sink) {
  auto encode = [&](const Deployment& d) -> Result<http::UpstreamRequest> {
    if (d.model->id == requested_model) {
      return d.provider->EncodeRaw(path, body, stream, options.request_id);
    }
    auto rewritten = api::ReplaceStringField(body, "model", d.model->id);
    if (!rewritten) return Fail(std::move(rewritten.error()));
    return d.provider->EncodeRaw(path, std::move(*rewritten), stream, options.request_id);
  };
  if (stream && sink) co_return co_await RunStream(plan, options, *sink, nullptr, encode);
  co_return co_await RunPlain(plan, options, nullptr, encode);
}

}  // namespace hybridgate::routing
