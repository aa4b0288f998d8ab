// The client dialects' endpoints besides their model calls (dialects::Extra): Anthropic's
// count_tokens, Gemini's countTokens, embedContent and batchEmbedContents, and Gemini's model
// list. The dialect decodes and encodes; here they get what every endpoint gets: the key
// (Authorize), the sensitivity class of every string the client sent, a plan at that class, the
// egress gate before anything leaves, and a log line. Embeddings go through Forward, the same
// code as POST /v1/embeddings (admission, settlement, ledger row); a deployment whose upstream
// speaks the client's dialect gets the client's own request and answers it as is.
#include <fmt/format.h>

#include <chrono>
#include <list>
#include <string>
#include <vector>

#include "api/json.h"
#include "classify/request_texts.h"
#include "gateway/gateway.h"
#include "gateway/request_log.h"
#include "ledger/row.h"

namespace hybridgate::gateway {

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::string_view kJson = "application/json";

// Answers in `dialect`'s shape, with its embeddings answer in place of a chat answer: what Finish
// writes for a ForwardVia request.
class EmbedAnswer final : public dialects::ClientDialect {
 public:
  EmbedAnswer(const dialects::ClientDialect& dialect, const dialects::Extra& extra)
      : dialect_(dialect), extra_(extra) {}
  std::string_view endpoint() const override { return "embeddings"; }
  std::string_view log_path() const override { return dialect_.log_path(); }
  bool Serves(std::string_view) const override { return false; }
  bool Owns(std::string_view path) const override { return dialect_.Owns(path); }
  Status Decode(const http::Request&, std::string_view, std::string&, api::ChatRequest&,
                std::unique_ptr<dialects::RequestContext>&) const override {
    return Fail(MakeError(ErrorCode::kInternal, "an embeddings request is not decoded as chat"));
  }
  Status EncodeAnswer(std::string& body, const api::ChatRequest&,
                      dialects::RequestContext*) const override {
    auto encoded = dialect_.EncodeEmbedAnswer(extra_, body);
    if (!encoded) return Fail(std::move(encoded.error()));
    body = std::move(*encoded);
    return {};
  }
  std::string EncodeError(const Error& error) const override { return dialect_.EncodeError(error); }
  std::unique_ptr<dialects::StreamEncoder> NewStream(
      const api::ChatRequest& request, dialects::RequestContext* context) const override {
    return dialect_.NewStream(request, context);
  }
  bool AlwaysUsage(const api::ChatRequest&) const override { return true; }

 private:
  const dialects::ClientDialect& dialect_;
  const dialects::Extra& extra_;
};

// The estimate when nobody can count exactly: the texts' bytes (ledger::EstimateTokensFromBytes,
// about four per token) plus the chat template's tokens around them (3 per request, 4 per
// message), as PrepareChat reserves, plus the tool definitions' bytes.
int64_t EstimateInputTokens(const api::ChatRequest& req) {
  std::vector<std::string_view> texts;
  std::list<std::string> storage;
  classify::CollectScanTexts(req, texts, storage);
  int64_t bytes = 0;
  for (std::string_view t : texts) bytes += static_cast<int64_t>(t.size());
  for (const api::Tool& t : req.tools) {
    bytes += static_cast<int64_t>(t.name.size() + t.description.size() + t.parameters_json.size() +
                                  t.raw.size());
  }
  return ledger::EstimateTokensFromBytes(bytes) + 3 + 4 * static_cast<int64_t>(req.messages.size());
}

void Log(RequestLogEntry& log, const http::Exchange& ex, Clock::time_point start) {
  log.status = ex.client_gone() ? 499 : ex.status();
  log.latency_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  LogRequest(log);
}

}  // namespace

asio::awaitable<void> Gateway::ServeExtra(http::Exchange& ex, const Runtime& rt,
                                          std::string_view path, const std::string& id,
                                          RequestLogEntry& log,
                                          const dialects::ClientDialect& dialect,
                                          const dialects::Extra& extra) {
  using Kind = dialects::Extra::Kind;
  if (extra.kind == Kind::kEmbed || extra.kind == Kind::kBatchEmbed) {
    const EmbedAnswer answer(dialect, extra);
    ForwardVia via{.dialect = &answer, .log_path = path};
    auto body = dialect.DecodeEmbed(extra, ex.request().body());
    if (body) {
      via.body = std::move(*body);
      // An upstream of the client's own API (Gemini's :embedContent at a `gemini` provider) takes
      // the request as sent, in its canonical form: what the egress gate checks is what is sent.
      std::string native_body;
      if (auto canonical = api::CanonicalJson(ex.request().body())) {
        native_body = std::move(*canonical);
        via.native = [&extra, &id, &native_body](const routing::Deployment& d) {
          return d.provider->EncodeNativeEmbed(extra.api, native_body,
                                               extra.kind == Kind::kBatchEmbed, *d.model, id);
        };
      }
      co_return co_await Forward(ex, rt, id, "/embeddings", &via);
    }
    // Not forwarded: answered and logged here, in the dialect's shape.
    const auto start = Clock::now();
    log.model = extra.model;
    log.error_code = body.error().CodeName();
    co_await RespondError(ex, {id, 0, &dialect}, body.error());
    co_return Log(log, ex, start);
  }
  if (extra.kind == Kind::kCountTokens) {
    co_await CountTokens(ex, rt, id, log, dialect, extra);
  } else {
    co_await DialectModels(ex, rt, id, log, dialect, extra);
  }
}

asio::awaitable<void> Gateway::CountTokens(http::Exchange& ex, const Runtime& rt,
                                           const std::string& id, RequestLogEntry& log,
                                           const dialects::ClientDialect& dialect,
                                           const dialects::Extra& extra) {
  const auto start = Clock::now();
  ResponseMeta meta{id, 0, &dialect};
  api::ChatRequest req;
  std::string body = ex.request().body();  // the decoders may parse in place
  Result<int64_t> counted = Fail(MakeError(ErrorCode::kInternal, "not counted"));
  std::string_view method = "estimate";
  const routing::Deployment* served_by = nullptr;
  sensitivity::Classification cls;
  Result<routing::RoutePlan> plan{std::in_place};
  // One exit: every failure is an error answer in the dialect's shape.
  auto fail = [&](Error e) -> Error {
    log.error_code = e.CodeName();
    return e;
  };
  std::optional<Error> error;
  do {
    if (auto s = dialect.DecodeCountTokens(extra, body, req); !s) {
      error = fail(std::move(s.error()));
      break;
    }
    log.model = extra.model.empty() ? std::string_view(req.model) : std::string_view(extra.model);
    auto who = Authorize(ex.request(), req.model);
    if (!who) {
      error = fail(std::move(who.error()));
      break;
    }
    const std::shared_ptr<const limits::KeyInfo> key = std::move(*who);
    // Classified and planned like the model call it counts: a provider that may not receive the
    // request is not asked to count it either.
    auto classified = ClassifyBody(rt, ex.request().body(), ex.request());
    if (!classified) {
      error = fail(std::move(classified.error()));
      break;
    }
    cls = std::move(*classified);
    plan = Plan(rt, req.model, key.get(), cls);
    meta.data_class = cls.data_class;
    log.sensitivity = &cls;
    if (!plan || plan->candidates.empty()) {
      // Residency may forbid every provider of the model; counting leaves nothing, so an
      // estimate is still a fair answer, but an unknown model or a refused key is not.
      if (!plan && plan.error().code != ErrorCode::kPolicyBlocked) {
        error = fail(std::move(plan.error()));
        break;
      }
      counted = EstimateInputTokens(req);
      break;
    }
    const routing::Deployment& d = plan->candidates.front().deployment;
    served_by = &d;
    log.provider = d.provider->name();
    log.upstream_model = d.model->id;
    if (providers::InProcess* local = d.provider->in_process()) {
      if (counted = local->CountTokens(req); counted) method = "tokenizer";
      break;
    }
    auto up = d.provider->EncodeCountTokens(req, *d.model, id);
    if (!up) {
      if (up.error().code != ErrorCode::kNotFound) error = fail(std::move(up.error()));
      break;
    }
    // The egress gate judges the count request as it would the generation: refused, nothing
    // leaves and the gateway estimates.
    if (!Gate(rt, cls.data_class, cls, key.get()).Check(d, up->body)) break;
    const auto now = Clock::now();
    const auto& pc = d.provider->config();
    const http::Deadlines deadlines{
        now + std::chrono::milliseconds(pc.connect_timeout_ms),
        now + std::chrono::milliseconds(std::min<int64_t>(pc.timeout_ms, 60'000))};
    auto res = co_await pools_[ex.worker()]->Send(d.provider->endpoint(), *up, deadlines);
    if (!res) {
      error = fail(std::move(res.error()));
    } else if (res->status / 100 != 2) {
      error = fail(d.provider->ClassifyError(*res));
    } else if (counted = d.provider->DecodeTokenCount(*res); !counted) {
      error = fail(std::move(counted.error()));
    } else {
      method = "provider";
    }
  } while (false);
  if (error) {
    co_await RespondError(ex, meta, *error);
    co_return Log(log, ex, start);  // the log's views point into this frame
  }
  if (!counted) counted = EstimateInputTokens(req);
  log.input_tokens = *counted;
  http::HeaderList headers;
  headers.emplace_back("x-hybridgate-request-id", id);
  const std::string data_class = std::to_string(cls.data_class);
  if (cls.data_class > 0) headers.emplace_back("x-hybridgate-data-class", data_class);
  if (served_by) {
    headers.emplace_back("x-hybridgate-provider", served_by->provider->name());
    headers.emplace_back("x-hybridgate-model", served_by->model->id);
  }
  // How the number was made: provider (exact, the upstream's), tokenizer (exact, the embedded
  // engine's), estimate.
  headers.emplace_back("x-hybridgate-token-count", method);
  co_await ex.Respond(200, kJson, dialect.EncodeTokenCount(*counted), headers);
  Log(log, ex, start);
}

asio::awaitable<void> Gateway::DialectModels(http::Exchange& ex, const Runtime& rt,
                                             const std::string& id, RequestLogEntry& log,
                                             const dialects::ClientDialect& dialect,
                                             const dialects::Extra& extra) {
  const auto start = Clock::now();
  const auto models = rt.catalog->PublicModels();
  std::vector<dialects::ModelEntry> entries;
  const bool list = extra.kind == dialects::Extra::Kind::kListModels;
  std::string_view wanted = extra.model;
  if (wanted.starts_with("models/")) wanted.remove_prefix(7);  // "models%2Fx" decoded
  if (!list) log.model = extra.model;
  for (const auto& [name, owner] : models) {
    if (list || name == wanted) entries.push_back({name, owner});
  }
  if (!list && entries.empty()) {
    const Error e = MakeError(
        ErrorCode::kModelNotFound,
        fmt::format("models/{} is not served by this gateway (GET /v1beta/models lists them)",
                    wanted),
        "model");
    log.error_code = e.CodeName();
    co_await RespondError(ex, {id, 0, &dialect}, e);
    co_return Log(log, ex, start);
  }
  http::HeaderList headers;
  headers.emplace_back("x-hybridgate-request-id", id);
  co_await ex.Respond(200, kJson, dialect.EncodeModels(entries, list), headers);
  Log(log, ex, start);
}

}  // namespace hybridgate::gateway
