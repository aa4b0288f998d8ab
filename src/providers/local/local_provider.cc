#include "providers/local/local_provider.h"

#include <fmt/format.h>

#include <boost/asio/this_coro.hpp>
#include <chrono>
#include <ctime>

#include "api/json.h"
#include "common/json_writer.h"
#include "engine/job_waiter.h"
#include "engine/model_files.h"
#include "engine/utf8.h"

namespace hybridgate::providers {

namespace asio = boost::asio;

namespace {

Error Unsupported(const config::ModelConfig& model, std::string_view what, std::string param) {
  return MakeError(ErrorCode::kInvalidRequest,
                   fmt::format("model '{}' is served by the embedded engine, which does not "
                               "support {}",
                               model.name, what),
                   std::move(param));
}

std::string_view TurnRole(std::string_view role) {
  if (role == "developer") return "system";
  if (role == "function") return "tool";
  return role;
}

void WriteToken(JsonWriter& w, std::string_view token, float logprob) {
  std::string valid;
  engine::AppendValidUtf8(token, valid);
  w.Field("token", valid).Field("logprob", static_cast<double>(logprob)).Key("bytes").BeginArray();
  for (unsigned char c : token) w.Int(c);
  w.EndArray();
}

void WriteLogprobs(JsonWriter& w, const std::vector<engine::TokenLogprob>& lps) {
  w.Key("logprobs").BeginObject().Key("content").BeginArray();
  for (const auto& lp : lps) {
    w.BeginObject();
    WriteToken(w, lp.token, lp.logprob);
    w.Key("top_logprobs").BeginArray();
    for (const auto& [tok, p] : lp.top) {
      w.BeginObject();
      WriteToken(w, tok, p);
      w.EndObject();
    }
    w.EndArray().EndObject();
  }
  w.EndArray().EndObject();
}

void WriteUsage(JsonWriter& w, const engine::Progress& p) {
  w.Key("usage")
      .BeginObject()
      .Field("prompt_tokens", p.prompt_tokens)
      .Field("completion_tokens", p.completion_tokens)
      .Field("total_tokens", p.prompt_tokens + p.completion_tokens)
      .EndObject();
}

void WriteHead(JsonWriter& w, std::string_view request_id, std::string_view object,
               const config::ModelConfig& model, int64_t created) {
  w.Field("id", fmt::format("chatcmpl-{}", request_id))
      .Field("object", object)
      .Field("created", created)
      .Field("model", model.name)
      .Field("system_fingerprint", "hybridgate-local");
}

// One engine job seen from an event loop: Next() waits for the next burst of progress. The
// destructor cancels the job (freeing its slot) and unhooks the client's cancel token.
class JobRun {
 public:
  JobRun(std::shared_ptr<engine::Job> job, engine::JobWaiter waiter, http::CancelToken* cancel,
         int64_t timeout_ms)
      : job_(std::move(job)),
        waiter_(std::move(waiter)),
        cancel_(cancel),
        deadline_(std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms)),
        timeout_ms_(timeout_ms) {
    if (cancel_) {
      cancel_->Set([j = job_.get(), wake = waiter_.Notifier()] {
        j->Cancel();
        wake();
      });
    }
  }
  JobRun(const JobRun&) = delete;
  JobRun& operator=(const JobRun&) = delete;
  ~JobRun() {
    job_->Cancel();
    if (cancel_) cancel_->Set(nullptr);
  }

  // Progress since the previous call (p.done at the end), or the job's error.
  asio::awaitable<Result<engine::Progress>> Next(const config::ModelConfig& model) {
    for (;;) {
      co_await waiter_.Wait(std::chrono::seconds(1));
      if (cancel_ && cancel_->cancelled()) {
        co_return Fail(MakeError(ErrorCode::kUpstreamUnavailable, "client closed the connection"));
      }
      engine::Progress p;
      job_->Take(p);
      if (p.error) co_return Fail(std::move(*p.error));
      if (!p.text.empty() || !p.logprobs.empty() || p.done) co_return p;
      if (std::chrono::steady_clock::now() > deadline_) {
        co_return Fail(MakeError(
            ErrorCode::kUpstreamTimeout,
            fmt::format("model '{}' did not finish within {} ms", model.name, timeout_ms_)));
      }
    }
  }

 private:
  std::shared_ptr<engine::Job> job_;
  engine::JobWaiter waiter_;
  http::CancelToken* cancel_;
  std::chrono::steady_clock::time_point deadline_;
  int64_t timeout_ms_;
};

}  // namespace

Result<std::unique_ptr<Provider>> LocalProvider::Create(const config::ProviderConfig& config,
                                                        http::Endpoint endpoint) {
  const config::LocalEngineConfig& lc = config.local;
  auto resolved = engine::ResolveModel(lc.model, lc.models_dir);
  if (!resolved) {
    resolved.error().message =
        fmt::format("provider '{}': {}", config.name, resolved.error().message);
    return Fail(std::move(resolved.error()));
  }
  engine::EngineConfig ec;
  ec.model_path = resolved->path;
  ec.slots = static_cast<int>(lc.slots);
  ec.context = static_cast<int>(lc.context);
  ec.threads = static_cast<int>(lc.threads);
  ec.batch = static_cast<int>(lc.batch);
  ec.max_queue = static_cast<int>(lc.max_queue);
  auto loaded = engine::Engine::Load(ec);
  if (!loaded) {
    loaded.error().message = fmt::format("provider '{}': {}", config.name, loaded.error().message);
    return Fail(std::move(loaded.error()));
  }
  return std::unique_ptr<Provider>(
      new LocalProvider(config, std::move(endpoint), std::move(*loaded), resolved->path));
}

std::string LocalProvider::Describe() const {
  const auto s = engine_->stats();
  return fmt::format(
      "embedded engine: {}{} ({} slots × {} tokens, {} thread(s)); {} active, {} "
      "queued",
      model_path_,
      engine_->placeholder() ? " — PLACEHOLDER with random weights, output is "
                               "gibberish; run `hybridgate models pull` for a "
                               "real model"
                             : "",
      engine_->config().slots, engine_->config().context, engine_->config().threads, s.active,
      s.queued);
}

Result<http::UpstreamRequest> LocalProvider::EncodeChat(const api::ChatRequest&,
                                                        const config::ModelConfig&,
                                                        std::string_view) const {
  return Fail(MakeError(ErrorCode::kInternal, "the embedded engine is called in-process"));
}

Result<http::UpstreamRequest> LocalProvider::EncodeRaw(std::string_view path, std::string, bool,
                                                       std::string_view) const {
  return Fail(MakeError(
      ErrorCode::kInvalidRequest,
      fmt::format("provider '{}' (the embedded engine) does not serve {}", name(), path)));
}

Error LocalProvider::ClassifyError(const http::UpstreamResponse&) const {
  return MakeError(ErrorCode::kInternal, "the embedded engine has no HTTP errors");
}

Result<std::string> RenderPrompt(const engine::Engine& engine, const api::ChatRequest& req) {
  std::vector<std::string> contents;
  contents.reserve(req.messages.size());
  for (const api::Message& m : req.messages) {
    std::string& c = contents.emplace_back(m.text);
    for (const api::ContentPart& part : m.parts) {
      if (part.kind == api::ContentPart::Kind::kText) c += part.text;
    }
  }
  std::vector<engine::Engine::Turn> turns;
  for (size_t i = 0; i < req.messages.size(); ++i) {
    turns.push_back({TurnRole(req.messages[i].role), contents[i]});
  }
  return engine.FormatChat(turns);
}

Result<engine::Sampling> SamplingFor(const api::ChatRequest& req) {
  engine::Sampling s;  // unset fields keep llama-server's defaults
  if (req.temperature) s.temperature = static_cast<float>(*req.temperature);
  if (req.top_p) s.top_p = static_cast<float>(*req.top_p);
  if (req.top_k) s.top_k = static_cast<int>(*req.top_k);
  for (const api::RawField& f : req.extra) {
    if (f.key != "min_p") continue;
    char* end = nullptr;
    const double v = std::strtod(f.json.c_str(), &end);
    if (end == f.json.c_str() || v < 0 || v > 1) {
      return Fail(
          MakeError(ErrorCode::kInvalidRequest, "min_p must be a number from 0 to 1", "min_p"));
    }
    s.min_p = static_cast<float>(v);
  }
  if (req.seed) s.seed = static_cast<uint32_t>(*req.seed);
  if (auto m = req.MaxOutputTokens())
    s.max_tokens = static_cast<int>(std::min<int64_t>(*m, 1 << 30));
  s.stop = req.stop;
  if (req.logprobs.value_or(false)) {
    s.top_logprobs = static_cast<int>(std::clamp<int64_t>(req.top_logprobs.value_or(0), 0, 20));
  }
  return s;
}

namespace {

Status CheckSupported(const api::ChatRequest& req, const config::ModelConfig& model) {
  if (req.HasTools()) return Fail(Unsupported(model, "tools yet", "tools"));
  if (req.HasImages()) return Fail(Unsupported(model, "images", "messages"));
  if (req.n && *req.n > 1) return Fail(Unsupported(model, "n > 1", "n"));
  if (req.response_format.kind == api::ResponseFormat::Kind::kJsonObject ||
      req.response_format.kind == api::ResponseFormat::Kind::kJsonSchema) {
    return Fail(Unsupported(model, "response_format (JSON mode) yet", "response_format"));
  }
  return {};
}

int64_t TimeoutFor(const config::ProviderConfig& pc, const config::ModelConfig& m) {
  return m.timeout_ms > 0 ? m.timeout_ms : pc.timeout_ms;
}

// Checks, renders and queues a request; `logprobs` tells whether the answer carries them.
asio::awaitable<Result<std::unique_ptr<JobRun>>> StartJob(
    engine::Engine& engine, const config::ProviderConfig& pc, const api::ChatRequest& req,
    const config::ModelConfig& model, http::CancelToken* cancel, bool& logprobs) {
  if (auto ok = CheckSupported(req, model); !ok) co_return Fail(std::move(ok.error()));
  auto prompt = RenderPrompt(engine, req);
  if (!prompt) co_return Fail(std::move(prompt.error()));
  auto sampling = SamplingFor(req);
  if (!sampling) co_return Fail(std::move(sampling.error()));
  logprobs = sampling->top_logprobs >= 0;
  engine::JobWaiter waiter(co_await asio::this_coro::executor);
  auto job = engine.Submit(*prompt, *sampling, waiter.Notifier());
  if (!job) co_return Fail(std::move(job.error()));
  co_return std::make_unique<JobRun>(std::move(*job), std::move(waiter), cancel,
                                     TimeoutFor(pc, model));
}

}  // namespace

asio::awaitable<Result<std::string>> LocalProvider::Complete(const api::ChatRequest& req,
                                                             const config::ModelConfig& model,
                                                             std::string_view request_id,
                                                             http::CancelToken* cancel,
                                                             api::Usage& usage) {
  bool logprobs = false;
  auto started = co_await StartJob(*engine_, config(), req, model, cancel, logprobs);
  if (!started) co_return Fail(std::move(started.error()));
  JobRun& run = **started;
  engine::Progress all;
  for (;;) {
    auto p = co_await run.Next(model);
    if (!p) co_return Fail(std::move(p.error()));
    all.text += p->text;
    for (auto& lp : p->logprobs) all.logprobs.push_back(std::move(lp));
    all.prompt_tokens = p->prompt_tokens;
    all.completion_tokens = p->completion_tokens;
    if (p->done) {
      all.finish_reason = p->finish_reason;
      break;
    }
  }
  std::string body;
  JsonWriter w(body);
  w.BeginObject();
  WriteHead(w, request_id, "chat.completion", model, std::time(nullptr));
  w.Key("choices").BeginArray().BeginObject().Field("index", 0);
  w.Key("message").BeginObject().Field("role", "assistant").Field("content", all.text).EndObject();
  if (logprobs) {
    WriteLogprobs(w, all.logprobs);
  } else {
    w.Key("logprobs").Null();
  }
  w.Field("finish_reason", all.finish_reason).EndObject().EndArray();
  WriteUsage(w, all);
  w.EndObject();
  usage = {all.prompt_tokens, all.completion_tokens, 0, true};
  co_return body;
}

namespace {

// OpenAI chunks from one engine job: role on the first, content deltas (with logprobs when
// asked), then the finish_reason chunk and the usage-only chunk.
class LocalStream : public InProcessStream {
 public:
  LocalStream(std::unique_ptr<JobRun> run, const config::ModelConfig& model, std::string request_id,
              bool include_usage, bool logprobs)
      : run_(std::move(run)),
        model_(model),
        request_id_(std::move(request_id)),
        include_usage_(include_usage),
        logprobs_(logprobs),
        created_(std::time(nullptr)) {}

  asio::awaitable<Status> Next(std::vector<std::string>& chunks, bool& done) override {
    auto got = co_await run_->Next(model_);
    if (!got) co_return Fail(std::move(got.error()));
    const engine::Progress& p = *got;
    usage_ = {p.prompt_tokens, p.completion_tokens, 0, true};
    if (!p.text.empty() || !p.logprobs.empty() || first_) {
      JsonWriter w(chunks.emplace_back());
      Head(w);
      w.Key("choices").BeginArray().BeginObject().Field("index", 0).Key("delta").BeginObject();
      if (first_) w.Field("role", "assistant");
      w.Field("content", p.text).EndObject();
      if (logprobs_) {
        WriteLogprobs(w, p.logprobs);
      } else {
        w.Key("logprobs").Null();
      }
      w.Key("finish_reason").Null().EndObject().EndArray().EndObject();
      first_ = false;
    }
    if (!p.done) co_return Status{};
    done = true;
    {
      JsonWriter w(chunks.emplace_back());
      Head(w);
      w.Key("choices").BeginArray().BeginObject().Field("index", 0);
      w.Key("delta").BeginObject().EndObject().Key("logprobs").Null();
      w.Field("finish_reason", p.finish_reason).EndObject().EndArray().EndObject();
    }
    if (include_usage_) {
      JsonWriter w(chunks.emplace_back());
      Head(w);
      w.Key("choices").BeginArray().EndArray();
      WriteUsage(w, p);
      w.EndObject();
    }
    co_return Status{};
  }

  api::Usage usage() const override { return usage_; }

 private:
  void Head(JsonWriter& w) {
    w.BeginObject();
    WriteHead(w, request_id_, "chat.completion.chunk", model_, created_);
  }

  std::unique_ptr<JobRun> run_;
  const config::ModelConfig& model_;
  std::string request_id_;
  bool include_usage_;
  bool logprobs_;
  int64_t created_;
  bool first_ = true;
  api::Usage usage_;
};

}  // namespace

asio::awaitable<Result<std::unique_ptr<InProcessStream>>> LocalProvider::Stream(
    const api::ChatRequest& req, const config::ModelConfig& model, std::string_view request_id,
    bool include_usage, http::CancelToken* cancel) {
  bool logprobs = false;
  auto started = co_await StartJob(*engine_, config(), req, model, cancel, logprobs);
  if (!started) co_return Fail(std::move(started.error()));
  co_return std::unique_ptr<InProcessStream>(new LocalStream(
      std::move(*started), model, std::string(request_id), include_usage, logprobs));
}

namespace {

// The embeddings request's inputs: a string or an array of strings (token arrays are refused).
Result<std::vector<std::string>> EmbeddingInputs(const std::string& body, bool& base64) {
  auto root = api::ParseJsonView(body);
  if (!root) return Fail(std::move(root.error()));
  if (!root->is_object()) {
    return Fail(MakeError(ErrorCode::kInvalidRequest, "request body must be a JSON object"));
  }
  std::string_view format;
  if (!(*root)["encoding_format"].get_string().get(format)) {
    if (format != "float" && format != "base64") {
      return Fail(MakeError(ErrorCode::kInvalidRequest,
                            "encoding_format must be 'float' or 'base64'", "encoding_format"));
    }
    base64 = format == "base64";
  }
  std::vector<std::string> inputs;
  simdjson::dom::element input;
  if ((*root)["input"].get(input)) {
    return Fail(MakeError(ErrorCode::kInvalidRequest, "'input' is required", "input"));
  }
  std::string_view one;
  if (!input.get_string().get(one)) {
    inputs.emplace_back(one);
  } else if (input.is_array()) {
    for (simdjson::dom::element e : input.get_array()) {
      if (e.get_string().get(one)) {
        return Fail(MakeError(ErrorCode::kInvalidRequest,
                              "'input' must be a string or an array of strings (token arrays "
                              "are not supported by the embedded engine)",
                              "input"));
      }
      inputs.emplace_back(one);
    }
  } else {
    return Fail(MakeError(ErrorCode::kInvalidRequest,
                          "'input' must be a string or an array of strings", "input"));
  }
  if (inputs.empty() || inputs.size() > 2048) {
    return Fail(
        MakeError(ErrorCode::kInvalidRequest, "'input' must hold 1 to 2048 items", "input"));
  }
  return inputs;
}

void AppendBase64(std::string& out, const unsigned char* data, size_t n) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t i = 0;
  for (; i + 2 < n; i += 3) {
    const uint32_t v = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i < n) {
    const uint32_t v = (data[i] << 16) | (i + 1 < n ? data[i + 1] << 8 : 0);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < n ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
}

}  // namespace

asio::awaitable<Result<std::string>> LocalProvider::Raw(std::string_view path,
                                                        const std::string& body,
                                                        const config::ModelConfig& model,
                                                        http::CancelToken* cancel,
                                                        api::Usage& usage) {
  if (path != "/embeddings") {
    co_return Fail(MakeError(ErrorCode::kInvalidRequest,
                             fmt::format("model '{}' is served by the embedded engine, which "
                                         "serves chat completions and embeddings, not {}",
                                         model.name, path)));
  }
  bool base64 = false;
  auto inputs = EmbeddingInputs(body, base64);
  if (!inputs) co_return Fail(std::move(inputs.error()));
  engine::JobWaiter waiter(co_await asio::this_coro::executor);
  auto job = engine_->SubmitEmbedding(*inputs, waiter.Notifier());
  if (!job) co_return Fail(std::move(job.error()));
  std::vector<std::vector<float>> vectors;
  std::optional<Error> error;
  int64_t tokens = 0;
  while (!(*job)->Take(vectors, error, tokens)) {
    co_await waiter.Wait(std::chrono::seconds(1));
    if (cancel && cancel->cancelled()) {
      co_return Fail(MakeError(ErrorCode::kUpstreamUnavailable, "client closed the connection"));
    }
  }
  if (error) co_return Fail(std::move(*error));
  std::string out;
  JsonWriter w(out);
  w.BeginObject().Field("object", "list").Key("data").BeginArray();
  for (size_t i = 0; i < vectors.size(); ++i) {
    w.BeginObject().Field("object", "embedding").Field("index", static_cast<int64_t>(i));
    if (base64) {
      std::string b64;
      AppendBase64(b64, reinterpret_cast<const unsigned char*>(vectors[i].data()),
                   vectors[i].size() * sizeof(float));
      w.Field("embedding", b64);
    } else {
      w.Key("embedding").BeginArray();
      for (float x : vectors[i]) w.Double(x);
      w.EndArray();
    }
    w.EndObject();
  }
  w.EndArray().Field("model", model.name);
  w.Key("usage").BeginObject().Field("prompt_tokens", tokens).Field("total_tokens", tokens);
  w.EndObject().EndObject();
  usage = {tokens, 0, 0, true};
  co_return out;
}

Result<int64_t> LocalProvider::CountTokens(const api::ChatRequest& req) const {
  auto prompt = RenderPrompt(*engine_, req);
  if (!prompt) return Fail(std::move(prompt.error()));
  auto tokens = engine_->Tokenize(*prompt);
  if (!tokens) return Fail(std::move(tokens.error()));
  return static_cast<int64_t>(tokens->size());
}

}  // namespace hybridgate::providers
