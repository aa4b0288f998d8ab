// The request pipeline shared by every model endpoint: classify (sensitivity) and plan,
// authorize, admit (limits), execute, answer in the client's dialect, account. Gateway::Handle
// (gateway.cc) dispatches here with the Runtime the request holds.
#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <memory>
#include <string>
#include <utility>

#include "api/anthropic/anthropic.h"
#include "api/gemini/gemini.h"
#include "api/json.h"
#include "api/openai_chat.h"
#include "classify/request_texts.h"
#include "classify/sensitivity/json_view.h"
#include "gateway/gateway.h"
#include "gateway/redaction.h"
#include "gateway/request_log.h"
#include "ledger/row.h"
#include "routing/executor.h"
#include "routing/policy.h"

namespace hybridgate::gateway {

using Clock = std::chrono::steady_clock;

namespace {

int64_t UnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A rough token count for admission (TPM reservation) and for upstreams that report no usage.
int64_t EstimateTokens(std::span<const std::string_view> texts, int64_t max_output) {
  int64_t bytes = 0;
  for (std::string_view t : texts) bytes += static_cast<int64_t>(t.size());
  return ledger::EstimateTokensFromBytes(bytes) + std::max<int64_t>(max_output, 0);
}

}  // namespace

Result<sensitivity::Classification> Gateway::Classify(const Runtime& rt,
                                                      std::span<const std::string_view> texts,
                                                      const http::Request& request) {
  sensitivity::Classification c = rt.scanner->Classify(texts);
  const auto header = request["x-hybridgate-data-class"];
  if (!header.empty()) {
    if (header.size() != 1 || header[0] < '1' || header[0] > '5') {
      return Fail(MakeError(ErrorCode::kInvalidRequest,
                            "header x-hybridgate-data-class must be a data class from 1 to 5",
                            "x-hybridgate-data-class"));
    }
    c.data_class = std::max(c.data_class, header[0] - '0');  // raise, never lower
  }
  return c;
}

namespace {

std::vector<std::string> FindingTypes(const sensitivity::Classification& c) {
  std::vector<std::string> types;
  for (const auto& f : c.findings) {
    if (std::find(types.begin(), types.end(), f.type) == types.end()) types.push_back(f.type);
  }
  if (types.empty()) types.push_back("x-hybridgate-data-class header");
  return types;
}

}  // namespace

Result<routing::RoutePlan> Gateway::ClassifyAndPlan(
    const Runtime& rt, std::span<const std::string_view> texts, std::string_view model,
    const http::Request& request, const limits::KeyInfo* key, sensitivity::Classification& cls,
    const routing::Route* route, const api::ChatRequest* chat, routing::RouteDecision* decision) {
  cls.data_class = 0;  // unknown until classified
  auto c = Classify(rt, texts, request);
  if (!c) return Fail(std::move(c.error()));
  cls = std::move(*c);
  if (key) {
    // A key's floor raises the class (its team's data is sensitive by nature); its ceiling
    // refuses what the key may not send at all.
    cls.data_class = limits::EffectiveDataClass(*key, cls.data_class);
    if (auto ok = limits::CheckDataClass(*key, cls.data_class); !ok) {
      return Fail(std::move(ok.error()));
    }
  }
  // Residency runs before any routing decision: disallowed providers never become candidates.
  if (route && chat && decision) {
    return rt.planner->Plan(*route, *chat, cls.data_class, FindingTypes(cls), *rt.catalog,
                            *decision);
  }
  return routing::PlanForRequest(
      {.model = model, .data_class = cls.data_class, .finding_types = FindingTypes(cls)},
      *rt.catalog);
}

asio::awaitable<void> Gateway::GenerateContent(http::Exchange& ex,
                                               std::shared_ptr<const Runtime> rt,
                                               const std::string& id, std::string_view path) {
  auto parsed = api::gemini::ParseModelPath(path);
  if (!parsed) {
    co_return co_await RespondError(ex, {id, 0, Dialect::kGemini}, parsed.error());
  }
  const std::string& model = parsed->model;
  const bool stream = parsed->stream;
  if (stream && http::QueryParam(ex.request().target(), "alt") != "sse") {
    co_return co_await RespondError(
        ex, {id, 0, Dialect::kGemini},
        MakeError(ErrorCode::kInvalidRequest,
                  "streamGenerateContent is served as server-sent events only: add ?alt=sse "
                  "(the Google SDKs do)",
                  "alt"));
  }
  co_await ServeChat(ex, std::move(rt), id, Dialect::kGemini,
                     api::gemini::DecodeRequest(ex.request().body(), model, stream));
}

Result<std::shared_ptr<const limits::KeyInfo>> Gateway::Authorize(const http::Request& request,
                                                                  std::string_view model) {
  auto key = admission_->Authenticate(request);
  if (!key) {
    metrics_.RecordRejection("auth");
    return key;
  }
  if (*key) {
    if (auto ok = limits::CheckModelAllowed(**key, model); !ok) return Fail(std::move(ok.error()));
  }
  return key;
}

namespace {

// The log's path and the ledger's endpoint name for a chat dialect.
std::pair<std::string_view, std::string_view> ChatEndpoint(Dialect dialect) {
  switch (dialect) {
    case Dialect::kAnthropic:
      return {"/v1/messages", "messages"};
    case Dialect::kGemini:
      return {"/v1beta/models:generateContent", "generate_content"};
    case Dialect::kOpenAi:
      break;
  }
  return {"/v1/chat/completions", "chat_completions"};
}

}  // namespace

asio::awaitable<void> Gateway::ServeChat(http::Exchange& ex, std::shared_ptr<const Runtime> held,
                                         std::string id, Dialect dialect,
                                         Result<api::ChatRequest> req) {
  const Runtime& rt = *held;
  const auto start = Clock::now();
  const auto [log_path, endpoint] = ChatEndpoint(dialect);
  RequestLogEntry log{.id = id, .method = "POST", .path = log_path};
  RequestFacts facts{.id = id, .arrival_unix_ms = UnixMs(), .endpoint = endpoint};
  ResponseMeta meta{id, 0, dialect};
  routing::Outcome out;
  std::shared_ptr<const limits::KeyInfo> key;
  limits::Decision admitted;
  std::vector<std::string_view> texts;  // the scan views of the request's texts (same lengths)
  std::deque<std::string> text_views;   // what `texts` point into for rewritten JSON texts
  sensitivity::Classification cls;
  const routing::Route* route = nullptr;
  routing::RouteDecision decision;
  Result<routing::RoutePlan> plan = Fail(MakeError(ErrorCode::kInternal, "not planned"));
  std::unique_ptr<ResponseRestorer> restorer;  // set when the request was redacted
  http::CancelToken cancel;
  // One exit: every early answer (bad request, 401, 403, 429) is logged and accounted the same.
  do {
    if (!req) {
      out.error = std::move(req.error());
      break;
    }
    log.model = facts.route = req->model;
    log.stream = facts.stream = req->stream;
    auto who = Authorize(ex.request(), req->model);
    if (!who) {
      out.error = std::move(who.error());
      break;
    }
    key = std::move(*who);
    facts.key = key.get();
    auto selected = rt.planner->Select(ex.request()["x-hybridgate-route"], req->model,
                                       key ? std::string_view(key->team) : std::string_view());
    if (!selected) {
      out.error = std::move(selected.error());
      break;
    }
    route = selected->route;
    if (route) {
      facts.route = route->name;
      decision.route = route->name;
      meta.decision = &decision;
    }
    classify::CollectScanTexts(*req, texts, text_views);
    facts.estimated_input_tokens = EstimateTokens(texts, 0);
    plan = ClassifyAndPlan(rt, texts, req->model, ex.request(), key.get(), cls, route, &*req,
                           &decision);
    meta.data_class = cls.data_class;
    log.sensitivity = facts.sensitivity = &cls;
    if (!plan &&
        RedactionApplies(rt.config.residency, cls, plan.error(), key ? key->max_data_class : 0)) {
      // Residency `redact`: plan again for the redacted request (the same model); the header
      // and the log keep the original class and findings (types and offsets only).
      restorer = std::make_unique<ResponseRestorer>();
      RedactRequest(*req, cls, *restorer);
      texts.clear();
      text_views.clear();
      classify::CollectScanTexts(*req, texts, text_views);
      sensitivity::Classification redacted;
      plan = ClassifyAndPlan(rt, texts, req->model, ex.request(), key.get(), redacted, route, &*req,
                             &decision);
      if (plan) {
        meta.restorer = restorer.get();
        metrics_.RecordResidencyAction("redact");
      }
    }
    if (!plan) {
      out.error = std::move(plan.error());
      break;
    }
    log.rerouted_to = plan->rerouted_to;
    if (!plan->rerouted_to.empty()) metrics_.RecordResidencyAction("route");
    if (key) {
      const int64_t estimate = EstimateTokens(texts, req->MaxOutputTokens().value_or(0));
      admitted = co_await admission_->limiter().Admit(*key, estimate);
      meta.limit_headers = &admitted.headers;
      if (!admitted.allowed) {
        metrics_.RecordRejection(admitted.error.code == ErrorCode::kBudgetExceeded ? "budget"
                                                                                   : "rate_limit");
        out.error = admitted.error;
        break;
      }
    }
    routing::Executor executor(*pools_[ex.worker()]);
    ex.OnClientGone([&cancel] { cancel.Cancel(); });
    // Anthropic and Gemini clients always get usage (message_delta, usageMetadata).
    const routing::ExecuteOptions options{
        .request_id = id,
        .cancel = &cancel,
        .client_wants_usage = dialect != Dialect::kOpenAi || req->include_usage.value_or(false),
        .breakers = route ? &rt.planner->BreakersFor(*route) : nullptr};
    if (req->stream) {
      const auto sink = MakeStreamSink(ex, meta, req->model);
      out = co_await executor.ChatStream(*req, *plan, options, *sink);
    } else {
      out = co_await executor.Chat(*req, *plan, options);
      if (restorer && out.ok) out.body = restorer->RestoreBody(out.body);
    }
  } while (false);
  if (!out.ok && out.error.code == ErrorCode::kPolicyBlocked) {
    metrics_.RecordResidencyAction("block");
  }
  co_await Finish(ex, meta, out, log, start);
  facts.status = log.status;
  facts.latency_ms = log.latency_ms;
  if (route && out.deployment.provider) {
    facts.tier = RoutePlanner::TierOf(decision, out.deployment);
    // The executor tells the breakers about every attempt; here only the escalation is counted.
    if (out.escalated) metrics_.RecordEscalation(route->name, out.escalated_from, out.escalated_to);
  }
  const double cost = rt.accounting->Record(facts, out);
  if (key && admitted.allowed && meta.limit_headers) {
    const int64_t estimate = EstimateTokens(texts, req ? req->MaxOutputTokens().value_or(0) : 0);
    const int64_t actual = out.usage.input_tokens + out.usage.output_tokens;
    co_await admission_->limiter().Settle(*key, estimate, actual, cost);
  }
}

asio::awaitable<void> Gateway::Forward(http::Exchange& ex, const Runtime& rt, const std::string& id,
                                       std::string_view path) {
  const auto start = Clock::now();
  const std::string full_path = fmt::format("/v1{}", path);
  RequestLogEntry log{.id = id, .method = "POST", .path = full_path};
  RequestFacts facts{.id = id, .arrival_unix_ms = UnixMs(), .endpoint = path.substr(1)};
  ResponseMeta meta{id};
  std::shared_ptr<const limits::KeyInfo> key;
  routing::Outcome out;
  std::string& body = ex.request().body();
  std::string model;
  bool stream = false;
  {
    auto root = api::ParseJson(body);
    std::string_view m;
    if (!root) {
      out.error = root.error();
    } else if (!root->is_object()) {
      out.error = MakeError(ErrorCode::kInvalidRequest, "request body must be a JSON object");
    } else if ((*root)["model"].get_string().get(m) || m.empty()) {
      out.error = MakeError(ErrorCode::kInvalidRequest, "'model' is required and must be a string",
                            "model");
    } else {
      model.assign(m);
      bool s = false;
      if (!(*root)["stream"].get_bool().get(s)) stream = s;
    }
  }
  if (!model.empty()) {
    auto who = Authorize(ex.request(), model);
    if (who) {
      key = std::move(*who);
    } else {
      out.error = std::move(who.error());
      model.clear();
    }
  }
  if (model.empty()) {
    co_await Finish(ex, meta, out, log, start);
    facts.status = log.status;
    facts.latency_ms = log.latency_ms;
    rt.accounting->Record(facts, out);
    co_return;
  }
  log.model = facts.route = model;
  log.stream = facts.stream = stream;
  facts.key = key.get();
  // Bodies HybridGate does not model are scanned whole: every string in them leaves with them.
  // Its scan view blanks JSON whitespace escapes (`\n` …) so detectors see a boundary there.
  std::string body_view;
  const std::string_view whole[] = {sensitivity::JsonScanView(body, body_view)};
  sensitivity::Classification cls;
  facts.estimated_input_tokens = EstimateTokens(whole, 0);
  auto plan = ClassifyAndPlan(rt, whole, model, ex.request(), key.get(), cls);
  meta.data_class = cls.data_class;
  log.sensitivity = facts.sensitivity = &cls;
  std::unique_ptr<ResponseRestorer> restorer;  // set when the body was redacted
  if (!plan &&
      RedactionApplies(rt.config.residency, cls, plan.error(), key ? key->max_data_class : 0)) {
    // Residency `redact` for a passthrough body: only the prompt / input strings change (`whole`
    // points into the old body and is not used after this); a finding anywhere else survives
    // the second scan, which refuses the request.
    restorer = std::make_unique<ResponseRestorer>();
    if (RedactRawBody(body, cls, *restorer) > 0) {
      std::string redacted_view;
      const std::string_view redacted_whole[] = {sensitivity::JsonScanView(body, redacted_view)};
      sensitivity::Classification redacted;
      plan = ClassifyAndPlan(rt, redacted_whole, model, ex.request(), key.get(), redacted);
      if (plan) {
        meta.restorer = restorer.get();  // completions: choices[].text; embeddings: nothing
        metrics_.RecordResidencyAction("redact");
      }
    }
  }
  if (!plan) {
    out.error = std::move(plan.error());
    co_await Finish(ex, meta, out, log, start);
    facts.status = log.status;
    facts.latency_ms = log.latency_ms;
    rt.accounting->Record(facts, out);
    co_return;
  }
  log.rerouted_to = plan->rerouted_to;
  routing::Executor executor(*pools_[ex.worker()]);
  http::CancelToken cancel;
  ex.OnClientGone([&cancel] { cancel.Cancel(); });
  const routing::ExecuteOptions options{
      .request_id = id, .cancel = &cancel, .client_wants_usage = true};
  const auto sink = MakeStreamSink(ex, meta, model);
  out = co_await executor.Raw(path, body, model, stream, *plan, options, sink.get());
  if (meta.restorer && out.ok && !stream) out.body = restorer->RestoreBody(out.body);
  co_await Finish(ex, meta, out, log, start);
  facts.status = log.status;
  facts.latency_ms = log.latency_ms;
  rt.accounting->Record(facts, out);
}

}  // namespace hybridgate::gateway
