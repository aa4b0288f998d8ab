// The request pipeline shared by every model endpoint: classify (sensitivity) and plan,
// authorize, admit (limits), execute, answer in the client's dialect, account. Gateway::Handle
// (gateway.cc) dispatches here with the Runtime the request holds.
#include <fmt/format.h>

#include <algorithm>
#include <list>
#include <memory>
#include <string>
#include <utility>

#include "api/anthropic/anthropic.h"
#include "api/gemini/gemini.h"
#include "api/json.h"
#include "api/openai_chat.h"
#include "classify/request_texts.h"
#include "classify/sensitivity/json_view.h"
#include "gateway/chat_state.h"
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

// The distinct finding types, for residency messages. Those exist only above class 1 (every
// provider may receive class 1), so a class-1 request gets none and allocates nothing.
std::vector<std::string> FindingTypes(const sensitivity::Classification& c) {
  std::vector<std::string> types;
  if (c.data_class <= 1) return types;
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
  co_await ServeChat(
      ex, std::move(rt),
      Pooled<ChatState>::Make(id, Dialect::kGemini,
                              api::gemini::DecodeRequest(ex.request().body(), model, stream)));
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

bool Gateway::PrepareChat(http::Exchange& ex, const Runtime& rt, ChatState& st) {
  if (!st.req) {
    st.out.error = std::move(st.req.error());
    return false;
  }
  api::ChatRequest& req = *st.req;
  st.log.model = st.facts.route = req.model;
  st.log.stream = st.facts.stream = req.stream;
  auto who = Authorize(ex.request(), req.model);
  if (!who) {
    st.out.error = std::move(who.error());
    return false;
  }
  st.key = std::move(*who);
  st.facts.key = st.key.get();
  auto selected = rt.planner->Select(ex.request()["x-hybridgate-route"], req.model,
                                     st.key ? std::string_view(st.key->team) : std::string_view());
  if (!selected) {
    st.out.error = std::move(selected.error());
    return false;
  }
  st.route = selected->route;
  if (st.route) {
    st.facts.route = st.route->name;
    st.decision.route = st.route->name;
    st.meta.decision = &st.decision;
  }
  classify::CollectScanTexts(req, st.texts, st.text_views);
  st.facts.estimated_input_tokens = EstimateTokens(st.texts, 0);
  st.plan = ClassifyAndPlan(rt, st.texts, req.model, ex.request(), st.key.get(), st.cls, st.route,
                            &req, &st.decision);
  st.meta.data_class = st.cls.data_class;
  st.log.sensitivity = st.facts.sensitivity = &st.cls;
  if (!st.plan && RedactionApplies(rt.config.residency, st.cls, st.plan.error(),
                                   st.key ? st.key->max_data_class : 0)) {
    // Residency `redact`: plan again for the redacted request (the same model); the header
    // and the log keep the original class and findings (types and offsets only).
    st.restorer = std::make_unique<ResponseRestorer>();
    RedactRequest(req, st.cls, *st.restorer);
    st.texts.clear();
    st.text_views.clear();
    classify::CollectScanTexts(req, st.texts, st.text_views);
    sensitivity::Classification redacted;
    st.plan = ClassifyAndPlan(rt, st.texts, req.model, ex.request(), st.key.get(), redacted,
                              st.route, &req, &st.decision);
    if (st.plan) {
      st.meta.restorer = st.restorer.get();
      metrics_.RecordResidencyAction("redact");
    }
  }
  if (!st.plan) {
    st.out.error = std::move(st.plan.error());
    return false;
  }
  st.log.rerouted_to = st.plan->rerouted_to;
  if (!st.plan->rerouted_to.empty()) metrics_.RecordResidencyAction("route");
  return true;
}

asio::awaitable<void> Gateway::ExecuteChat(http::Exchange& ex, const Runtime& rt, ChatState& st) {
  const api::ChatRequest& req = *st.req;
  routing::Executor executor(*pools_[ex.worker()]);
  ex.OnClientGone([&st] { st.cancel.Cancel(); });
  // Anthropic and Gemini clients always get usage (message_delta, usageMetadata).
  const routing::ExecuteOptions options{
      .request_id = st.id,
      .cancel = &st.cancel,
      .client_wants_usage =
          st.meta.dialect != Dialect::kOpenAi || req.include_usage.value_or(false),
      .breakers = st.route ? &rt.planner->BreakersFor(*st.route) : nullptr};
  if (req.stream) {
    const auto sink = MakeStreamSink(ex, st.meta, req.model);
    st.out = co_await executor.ChatStream(req, *st.plan, options, *sink);
  } else {
    st.out = co_await executor.Chat(req, *st.plan, options);
    if (st.restorer && st.out.ok) st.out.body = st.restorer->RestoreBody(st.out.body);
  }
}

asio::awaitable<void> Gateway::ServeChat(http::Exchange& ex, std::shared_ptr<const Runtime> held,
                                         Pooled<ChatState> state) {
  const Runtime& rt = *held;
  ChatState& st = *state;
  const auto start = Clock::now();
  const auto [log_path, endpoint] = ChatEndpoint(st.meta.dialect);
  st.log = {.id = st.id, .method = "POST", .path = log_path};
  st.facts = {.id = st.id, .arrival_unix_ms = UnixMs(), .endpoint = endpoint};
  // One exit: every early answer (bad request, 401, 403, 429) is logged and accounted the same.
  do {
    if (!PrepareChat(ex, rt, st)) break;
    if (st.key) {
      const int64_t estimate = EstimateTokens(st.texts, st.req->MaxOutputTokens().value_or(0));
      st.admitted = co_await admission_->limiter().Admit(*st.key, estimate);
      st.meta.limit_headers = &st.admitted.headers;
      if (!st.admitted.allowed) {
        metrics_.RecordRejection(
            st.admitted.error.code == ErrorCode::kBudgetExceeded ? "budget" : "rate_limit");
        st.out.error = st.admitted.error;
        break;
      }
    }
    co_await ExecuteChat(ex, rt, st);
  } while (false);
  routing::Outcome& out = st.out;
  if (!out.ok && out.error.code == ErrorCode::kPolicyBlocked) {
    metrics_.RecordResidencyAction("block");
  }
  co_await Finish(ex, st.meta, out, st.log, start);
  st.facts.status = st.log.status;
  st.facts.latency_ms = st.log.latency_ms;
  if (st.route && out.deployment.provider) {
    st.facts.tier = RoutePlanner::TierOf(st.decision, out.deployment);
    // The executor tells the breakers about every attempt; here only the escalation is counted.
    if (out.escalated) {
      metrics_.RecordEscalation(st.route->name, out.escalated_from, out.escalated_to);
    }
  }
  const double cost = rt.accounting->Record(st.facts, out);
  if (st.key && st.admitted.allowed && st.meta.limit_headers) {
    const int64_t estimate =
        EstimateTokens(st.texts, st.req ? st.req->MaxOutputTokens().value_or(0) : 0);
    const int64_t actual = out.usage.input_tokens + out.usage.output_tokens;
    co_await admission_->limiter().Settle(*st.key, estimate, actual, cost);
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
