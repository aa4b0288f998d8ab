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
#include "classify/body_strings.h"
#include "classify/request_texts.h"
#include "classify/sensitivity/json_view.h"
#include "common/clock.h"
#include "dialects/openai_chat/openai_chat.h"
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

// A rough token count of texts, for admission (TPM reservation) and for upstreams that report
// no usage.
int64_t EstimateTokens(std::span<const std::string_view> texts) {
  int64_t bytes = 0;
  for (std::string_view t : texts) bytes += static_cast<int64_t>(t.size());
  return ledger::EstimateTokensFromBytes(bytes);
}

// Applies the client's x-hybridgate-data-class header to `c`: it may raise the class, never
// lower it.
Status ApplyClassHeader(const http::Request& request, sensitivity::Classification& c) {
  const auto header = request["x-hybridgate-data-class"];
  if (header.empty()) return {};
  if (header.size() != 1 || header[0] < '1' || header[0] > '5') {
    return Fail(MakeError(ErrorCode::kInvalidRequest,
                          "header x-hybridgate-data-class must be a data class from 1 to 5",
                          "x-hybridgate-data-class"));
  }
  c.data_class = std::max(c.data_class, header[0] - '0');  // raise, never lower
  return {};
}

// The client's headers that go on, as written, to an upstream of its dialect
// (ChatRequest::dialect_headers): what they say leaves too. Their usual values — a version
// date, beta names that end in one, `assistants=v2` — carry nothing and are not scanned.
constexpr std::string_view kForwardedHeaders[] = {"anthropic-beta", "anthropic-version",
                                                  "openai-beta"};

bool Digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}
// "2023-06-01"
bool IsDate(std::string_view s) {
  return s.size() == 10 && s[4] == '-' && s[7] == '-' && Digits(s.substr(0, 4)) &&
         Digits(s.substr(5, 2)) && Digits(s.substr(8, 2));
}
bool PlainHeaderValue(std::string_view value) {
  while (!value.empty()) {
    const size_t comma = std::min(value.find(','), value.size());
    std::string_view item = value.substr(0, comma);
    value.remove_prefix(std::min(comma + 1, value.size()));
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    const auto lower = [](char c) { return (c >= 'a' && c <= 'z') || c == '-' || c == '_'; };
    if (IsDate(item)) continue;                                            // anthropic-version
    if (const size_t eq = item.find('='); eq != std::string_view::npos) {  // assistants=v2
      const std::string_view name = item.substr(0, eq);
      const std::string_view version = item.substr(eq + 1);
      if (!name.empty() && std::all_of(name.begin(), name.end(), lower) && version.size() >= 2 &&
          version[0] == 'v' && Digits(version.substr(1))) {
        continue;
      }
      return false;
    }
    // prompt-caching-2024-07-31, claude-code-20250219: a lower-case name ending in a date.
    const auto named = [&](size_t date) {
      if (item.size() <= date + 1 || item[item.size() - date - 1] != '-') return false;
      const std::string_view d = item.substr(item.size() - date);
      return (date == 10 ? IsDate(d) : Digits(d)) &&
             std::all_of(item.begin(), item.end() - static_cast<std::ptrdiff_t>(date + 1), lower);
    };
    if (!named(10) && !named(8)) return false;
  }
  return true;
}

// The forwarded headers' findings, added to `c` (text_index past the body's texts: they cannot
// be redacted, so a class they raise is routed or refused, never redacted around).
void ClassifyForwardedHeaders(const Runtime& rt, const http::Request& request, size_t text_index,
                              sensitivity::Classification& c) {
  std::string lines;
  for (std::string_view name : kForwardedHeaders) {
    const std::string_view v = request[name];
    if (v.empty() || PlainHeaderValue(v)) continue;
    lines.append(name).append(": ").append(v).append("\n");
  }
  if (lines.empty()) return;
  const std::string_view text = lines;
  sensitivity::Classification h = rt.scanner->Classify({text});
  for (sensitivity::Finding& f : h.findings) {
    f.text_index = text_index;
    c.findings.push_back(std::move(f));
  }
  c.data_class = std::max(c.data_class, h.data_class);
}

}  // namespace

Result<sensitivity::Classification> Gateway::ClassifyBody(const Runtime& rt, std::string_view body,
                                                          const http::Request& request,
                                                          int64_t* estimated_tokens) {
  // Scratch reused by the thread: the findings keep types and offsets, never the strings.
  thread_local classify::BodyStrings strings;
  if (auto collected = classify::CollectBodyStrings(body, strings); !collected) {
    return Fail(std::move(collected.error()));
  }
  if (estimated_tokens) *estimated_tokens = EstimateTokens(strings.texts);
  sensitivity::Classification c =
      classify::ClassifyStrings(*rt.scanner, rt.config.residency, strings);
  ClassifyForwardedHeaders(rt, request, strings.texts.size() + 1, c);
  if (auto ok = ApplyClassHeader(request, c); !ok) return Fail(std::move(ok.error()));
  return c;
}

Result<sensitivity::Classification> Gateway::Classify(const Runtime& rt,
                                                      std::span<const std::string_view> texts,
                                                      const http::Request& request) {
  sensitivity::Classification c = rt.scanner->Classify(texts);
  if (auto ok = ApplyClassHeader(request, c); !ok) return Fail(std::move(ok.error()));
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

Result<routing::RoutePlan> Gateway::Plan(const Runtime& rt, std::string_view model,
                                         const limits::KeyInfo* key,
                                         sensitivity::Classification& cls,
                                         const routing::RouteSelection* selected,
                                         const api::ChatRequest* chat,
                                         routing::RouteDecision* decision) {
  if (key) {
    // A key's floor raises the class (its team's data is sensitive by nature); its ceiling
    // refuses what the key may not send at all.
    cls.data_class = limits::EffectiveDataClass(*key, cls.data_class);
    if (auto ok = limits::CheckDataClass(*key, cls.data_class); !ok) {
      return Fail(std::move(ok.error()));
    }
  }
  // Residency runs before any routing decision: disallowed providers never become candidates.
  Result<routing::RoutePlan> plan = routing::RoutePlan{};
  const routing::Route* route = selected ? selected->route : nullptr;
  if (route && chat && decision) {
    plan =
        rt.planner->Plan(*route, *chat, cls.data_class, FindingTypes(cls), *rt.catalog, *decision);
  } else {
    plan = routing::PlanForRequest(
        {.model = model, .data_class = cls.data_class, .finding_types = FindingTypes(cls)},
        *rt.catalog);
  }
  if (plan && key) {
    if (auto ok = KeepAllowedModels(*key, model, selected, *plan); !ok) {
      return Fail(std::move(ok.error()));
    }
  }
  return plan;
}

Status Gateway::KeepAllowedModels(const limits::KeyInfo& key, std::string_view requested,
                                  const routing::RouteSelection* selected,
                                  routing::RoutePlan& plan) {
  if (key.models.empty()) return {};
  // The key names what it may call: a model, or a route (whose tiers are what that name
  // means), or the name it asked for when that name's own deployments serve it. Whatever else a
  // plan reaches — another route's tiers through a header, a residency fallback — must be
  // named by the key itself.
  const routing::Route* route = selected ? selected->route : nullptr;
  const bool route_allowed =
      route &&
      (key.AllowsModel(route->name) ||
       (selected->by == routing::RouteSelection::By::kModel && key.AllowsModel(selected->name)));
  const bool requested_direct = !route && plan.rerouted_to.empty() && key.AllowsModel(requested);
  if (route_allowed || requested_direct) return {};
  std::string refused;
  std::erase_if(plan.candidates, [&](const routing::Candidate& c) {
    if (c.deployment.model && key.AllowsModel(c.deployment.model->name)) return false;
    if (refused.empty() && c.deployment.model) refused = c.deployment.model->name;
    return true;
  });
  if (!plan.candidates.empty()) return {};
  return Fail(MakeError(
      ErrorCode::kPermissionDenied,
      fmt::format("key {} may not use model '{}'{}", key.id, refused.empty() ? requested : refused,
                  route                       ? fmt::format(" (chosen by route '{}')", route->name)
                  : !plan.rerouted_to.empty() ? std::string(" (the residency fallback)")
                                              : std::string()),
      "model"));
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
  st.selection = *selected;
  st.route = selected->route;
  if (st.route) {
    st.facts.route = st.route->name;
    st.decision.route = st.route->name;
    st.meta.decision = &st.decision;
  }
  classify::CollectScanTexts(req, st.texts, st.text_views);
  // The texts, plus what chat templates add around them (OpenAI's rule of thumb: 3 tokens per
  // request and 4 per message), which dominates short prompts.
  st.facts.estimated_input_tokens =
      EstimateTokens(st.texts) + 3 + 4 * static_cast<int64_t>(req.messages.size());
  // The class comes from every string the client sent (the body as received), not from the
  // fields the decoder models.
  auto cls = ClassifyBody(rt, ex.request().body(), ex.request());
  if (!cls) {
    st.out.error = std::move(cls.error());
    return false;
  }
  st.cls = std::move(*cls);
  if (!st.history.empty()) {
    // A continued conversation is as sensitive as anything said in it before, the answers
    // included: the stored class is its inputs', the scan of what is replayed adds the outputs'
    // (unreadable, it counts as the highest).
    auto past = ClassifyBody(rt, st.history, ex.request());
    const int past_class =
        std::max(st.history_class, past ? past->data_class : sensitivity::kMaxClass);
    if (past_class > st.cls.data_class) {
      st.cls.data_class = past_class;
      st.cls.findings.push_back({.type = "previous_response", .data_class = past_class});
    }
  }
  st.plan = Plan(rt, req.model, st.key.get(), st.cls, &st.selection, &req, &st.decision);
  st.meta.data_class = st.cls.data_class;
  st.egress_class = st.cls.data_class;
  st.log.sensitivity = st.facts.sensitivity = &st.cls;
  if (!st.plan && RedactionApplies(rt.config.residency, st.cls, st.plan.error(),
                                   st.key ? st.key->max_data_class : 0)) {
    RedactChat(ex, rt, st);
  }
  if (!st.plan) {
    st.out.error = std::move(st.plan.error());
    return false;
  }
  st.log.rerouted_to = st.plan->rerouted_to;
  if (!st.plan->rerouted_to.empty()) {
    st.facts.residency_action = "route";
    metrics_.RecordResidencyAction("route");
  }
  if (st.route && st.route->rollout) AssignRollout(rt, st);
  return true;
}

void Gateway::AssignRollout(const Runtime& rt, ChatState& st) {
  rollouts_.Assign(rt, *st.route, st.decision.features,
                   st.key ? std::string_view(st.key->id) : std::string_view(), st.req->user,
                   *st.plan, st.rollout);
  if (st.rollout.arm == rollout::Arm::kCandidate && st.key) {
    // A key limited to other models keeps to them: the request is then no part of the rollout.
    if (!KeepAllowedModels(*st.key, st.req->model, &st.selection, *st.plan) ||
        st.plan->candidates.empty() ||
        st.plan->candidates.front().deployment.model != st.rollout.candidate) {
      st.rollout = {};
      return;
    }
  }
  st.meta.rollout = st.rollout.header;
}

void Gateway::RedactChat(http::Exchange& ex, const Runtime& rt, ChatState& st) {
  // Residency `redact`: the findings are placed in the request's own texts (redaction edits the
  // decoded request), replaced, and the redacted request is planned again for the same model.
  // The header and the log keep the original class and findings (types and offsets only). What
  // redaction cannot reach (a finding in a field it does not edit, an image) still counts: the
  // egress gate scans the encoded request before it leaves and refuses it.
  api::ChatRequest& req = *st.req;
  auto located = Classify(rt, st.texts, ex.request());
  if (!located) return;
  st.restorer = std::make_unique<ResponseRestorer>();
  RedactRequest(req, *located, *st.restorer);
  st.texts.clear();
  st.text_views.clear();
  classify::CollectScanTexts(req, st.texts, st.text_views);
  auto redacted = Classify(rt, st.texts, ex.request());
  if (!redacted) return;
  for (const sensitivity::Finding& f : st.cls.findings) {
    if (f.type.ends_with("_content"))
      redacted->data_class = std::max(redacted->data_class, f.data_class);
  }
  st.plan = Plan(rt, req.model, st.key.get(), *redacted, &st.selection, &req, &st.decision);
  if (st.plan) {
    st.egress_class = redacted->data_class;
    st.meta.restorer = st.restorer.get();
    st.facts.residency_action = "redact";
    metrics_.RecordResidencyAction("redact");
  }
}

limits::Reservation Gateway::WorstCase(const Runtime& rt, const routing::RoutePlan& plan,
                                       int64_t input_tokens, std::optional<int64_t> max_output,
                                       int64_t choices) {
  // Without max_tokens the reservation assumes kDefaultOutputReserve output tokens, for each of
  // the `n` choices asked for; settlement replaces it with the real cost either way.
  const int64_t output = std::max<int64_t>(max_output.value_or(kDefaultOutputReserve), 0) *
                         std::clamp<int64_t>(choices, 1, kMaxChoices);
  api::Usage usage;
  usage.input_tokens = input_tokens;
  usage.output_tokens = output;
  double worst = 0;
  for (const routing::Candidate& c : plan.candidates) {
    worst = std::max(worst, rt.accounting->Cost(c.deployment, usage));
  }
  return {.tokens = input_tokens + output, .micro_usd = limits::ToMicroUsd(worst)};
}

asio::awaitable<bool> Gateway::Admit(const Runtime& rt,
                                     const std::shared_ptr<const limits::KeyInfo>& key,
                                     const routing::RoutePlan& plan, int64_t input_tokens,
                                     std::optional<int64_t> max_output, int64_t choices,
                                     limits::Decision& decision, Settlement& settlement,
                                     routing::Outcome& out) {
  const limits::Reservation hold = WorstCase(rt, plan, input_tokens, max_output, choices);
  const int64_t firm = input_tokens + std::max<int64_t>(max_output.value_or(0), 0) *
                                          std::clamp<int64_t>(choices, 1, kMaxChoices);
  decision = limits::RefuseOversized(*key, firm);
  if (decision.allowed) decision = co_await admission_->limiter().Admit(*key, hold);
  if (!decision.allowed) {
    metrics_.RecordRejection(decision.error.code == ErrorCode::kBudgetExceeded ? "budget"
                                                                               : "rate_limit");
    out.error = decision.error;
    co_return false;
  }
  settlement = Settlement(admission_->limiter(), key, hold, co_await asio::this_coro::executor,
                          &internal_errors_);
  co_return true;
}

routing::EgressGate Gateway::Gate(const Runtime& rt, int data_class,
                                  const sensitivity::Classification& cls,
                                  const limits::KeyInfo* key) {
  return {.data_class = data_class,
          .findings = &cls,
          .key_max_class = key ? key->max_data_class : sensitivity::kMaxClass,
          .scanner = &*rt.scanner,
          .residency = &rt.config.residency};
}

asio::awaitable<void> Gateway::ExecuteChat(http::Exchange& ex, const Runtime& rt, ChatState& st) {
  const api::ChatRequest& req = *st.req;
  routing::Executor executor(*pools_[ex.worker()]);
  ex.OnClientGone([&st] { st.cancel.Cancel(); });
  // Anthropic and Gemini clients always get usage (message_delta, usageMetadata).
  const routing::ExecuteOptions options{
      .request_id = st.id,
      .cancel = &st.cancel,
      .client_wants_usage = st.meta.dialect->AlwaysUsage(req),
      .breakers = st.route ? &rt.planner->BreakersFor(*st.route) : nullptr,
      .egress = Gate(rt, st.egress_class, st.cls, st.key.get()),
      // A request some shadow target sampled keeps a stream's text for the comparison.
      .capture_text = st.shadows != 0 ? &st.answer_text : nullptr};
  if (req.stream) {
    const auto sink =
        MakeStreamSink(ex, st.meta, st.meta.dialect->NewStream(req, st.context.get()));
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
  st.log = {.id = st.id, .method = "POST", .path = st.meta.dialect->log_path()};
  st.facts = {.id = st.id, .arrival_unix_ms = UnixMs(), .endpoint = st.meta.dialect->endpoint()};
  // One exit: every early answer (bad request, 401, 403, 429) is logged and accounted the same.
  do {
    if (st.context && st.context->conversation() && st.req && !co_await LoadConversation(ex, st)) {
      break;
    }
    if (!PrepareChat(ex, rt, st)) break;
    if (st.key) {
      const bool admitted = co_await Admit(rt, st.key, *st.plan, st.facts.estimated_input_tokens,
                                           st.req->MaxOutputTokens(), st.req->n.value_or(1),
                                           st.admitted, st.settlement, st.out);
      st.meta.limit_headers = &st.admitted.headers;
      if (!admitted) break;
    }
    if (st.route && !st.route->shadow.empty()) st.shadows = SampleShadows(*st.route);
    co_await ExecuteChat(ex, rt, st);
    if (st.shadows != 0 && st.out.ok && !st.out.streamed) {
      // Read before the answer is written: the dialect encodes it in place.
      quality::AnswerFacts read;
      quality::ReadOpenAiAnswer(st.out.body, read);
      st.answer_text = std::move(read.text);
      st.finish_reason = std::move(read.finish_reason);
    }
  } while (false);
  Rollouts::TagForFeedback(st.rollout, st.out);
  if (!st.rollout.feedback_arm.empty()) {
    st.facts.rollout = st.rollout.live->feedback_name;
    st.facts.rollout_arm = st.rollout.feedback_arm;
    st.facts.rollout_epoch = st.rollout.live->epoch;
  }
  co_await Conclude(ex, rt, st.meta, st.log, st.facts, st.out, st.settlement, start);
  Rollouts::Record(st.rollout, st.out, st.log.latency_ms);
  if (st.route && st.out.deployment.provider) {
    // The executor tells the breakers about every attempt; here only the escalation is counted.
    if (st.out.escalated) {
      metrics_.RecordEscalation(st.route->name, st.out.escalated_from, st.out.escalated_to);
    }
    if (st.shadows != 0 && st.out.ok) Shadow(ex, held, st);
  }
}

void Gateway::Shadow(http::Exchange& ex, const std::shared_ptr<const Runtime>& held,
                     const ChatState& st) {
  const Runtime& rt = *held;
  ShadowOffer offer{.runtime = held,
                    .route = st.route,
                    .request_id = st.id,
                    .arrival_unix_ms = st.facts.arrival_unix_ms,
                    .request = &*st.req,
                    .classification = &st.cls,
                    .egress_class = st.egress_class,
                    .estimated_input_tokens = st.facts.estimated_input_tokens,
                    .sampled = st.shadows,
                    .store = comparisons_.load(std::memory_order_acquire)};
  if (st.route->rollout) {
    offer.on_scored = [this](const quality::Comparison& c) {
      double sum = 0;
      for (const quality::Score& s : c.scores) sum += s.value;
      rollouts_.Score(c.route, c.primary.deployment, c.shadow.deployment,
                      sum / static_cast<double>(c.scores.size()));
    };
  }
  quality::AnswerFacts& p = offer.primary;
  p.deployment = std::string(st.out.deployment.key);
  p.ok = true;
  p.text = st.answer_text;
  p.finish_reason = st.finish_reason;
  p.latency_ms = static_cast<int64_t>(st.log.latency_ms);
  p.input_tokens = st.out.usage.input_tokens;
  p.output_tokens = st.out.usage.output_tokens;
  p.cost_usd = std::max(rt.accounting->Cost(st.out.deployment, st.out.usage), 0.0);
  OfferShadows(std::move(offer), *runners_[ex.worker()], *pools_[ex.worker()], shadow_book_,
               metrics_);
}

asio::awaitable<void> Gateway::Conclude(http::Exchange& ex, const Runtime& rt,
                                        const ResponseMeta& meta, RequestLogEntry& log,
                                        RequestFacts& facts, routing::Outcome& out,
                                        Settlement& settlement, Clock::time_point start) {
  if (!out.ok && out.error.code == ErrorCode::kPolicyBlocked) {
    facts.residency_action = "block";
    metrics_.RecordResidencyAction("block");
  }
  co_await Finish(ex, meta, out, log, start);
  facts.status = log.status;
  facts.latency_ms = log.latency_ms;
  if (meta.decision && out.deployment.provider) {
    facts.tier = RoutePlanner::TierOf(*meta.decision, out.deployment);
  }
  // The key pays what the ledger row says (estimated when the upstream sent no usage, e.g. a
  // stream cut short).
  const Accounting::Charge charge = rt.accounting->Record(facts, out);
  if (settlement.holds()) co_await settlement.Settle(charge.tokens, charge.cost_usd);
}

asio::awaitable<void> Gateway::Forward(http::Exchange& ex, const Runtime& rt, const std::string& id,
                                       std::string_view path, const ForwardVia* via) {
  const Pooled<ForwardState> state =
      Pooled<ForwardState>::Make(id, via ? *via->dialect : dialects_.Owning(path));
  ForwardState& st = *state;
  const auto start = Clock::now();
  st.full_path = via ? std::string(via->log_path) : fmt::format("/v1{}", path);
  if (via) st.translated = &via->body;
  st.log = {.id = id, .method = "POST", .path = st.full_path};
  st.facts = {.id = id, .arrival_unix_ms = UnixMs(), .endpoint = path.substr(1)};
  if (PrepareForward(ex, rt, st)) {
    bool admitted = true;
    if (st.key) {
      admitted = co_await Admit(rt, st.key, *st.plan, st.facts.estimated_input_tokens,
                                st.max_output, st.choices, st.admitted, st.settlement, st.out);
      st.meta.limit_headers = &st.admitted.headers;
    }
    if (admitted) {
      routing::Executor executor(*pools_[ex.worker()]);
      ex.OnClientGone([&st] { st.cancel.Cancel(); });
      const routing::ExecuteOptions options{
          .request_id = id,
          .cancel = &st.cancel,
          .client_wants_usage = true,
          .egress = Gate(rt, st.egress_class, st.cls, st.key.get())};
      const auto sink = MakeStreamSink(ex, st.meta, dialects::NewOpenAiPassthroughStream());
      // The client's own body holds what redaction replaced: a redacted request goes translated.
      const routing::NativeEncode* native =
          via && via->native && !st.meta.restorer ? &via->native : nullptr;
      st.out = co_await executor.Raw(path, st.body, st.model, st.stream, *st.plan, options,
                                     sink.get(), native);
      if (st.meta.restorer && st.out.ok && !st.stream) {
        st.out.body = st.restorer->RestoreBody(st.out.body);
      }
    }
  }
  co_await Conclude(ex, rt, st.meta, st.log, st.facts, st.out, st.settlement, start);
}

bool Gateway::PrepareForward(http::Exchange& ex, const Runtime& rt, ForwardState& st) {
  // The body is forwarded as HybridGate re-encodes it: duplicate keys resolved to the first, the
  // one every check below reads. What is scanned, checked and priced is what is sent.
  auto canonical = api::CanonicalJson(st.translated ? *st.translated : ex.request().body());
  if (!canonical) {
    st.out.error = std::move(canonical.error());
    return false;
  }
  st.body = std::move(*canonical);
  {
    auto root = api::ParseJson(st.body);
    std::string_view m;
    if (!root) {
      st.out.error = root.error();
      return false;
    }
    if (!root->is_object()) {
      st.out.error = MakeError(ErrorCode::kInvalidRequest, "request body must be a JSON object");
      return false;
    }
    if ((*root)["model"].get_string().get(m) || m.empty()) {
      st.out.error = MakeError(ErrorCode::kInvalidRequest,
                               "'model' is required and must be a string", "model");
      return false;
    }
    st.model.assign(m);
    bool stream = false;
    if (!(*root)["stream"].get_bool().get(stream)) st.stream = stream;
    int64_t max_tokens = 0;
    if (!(*root)["max_tokens"].get_int64().get(max_tokens)) st.max_output = max_tokens;
    // Completions make max(n, best_of) answers upstream, each up to max_tokens.
    for (const char* field : {"n", "best_of"}) {
      int64_t k = 0;
      if (!(*root)[field].get_int64().get(k)) st.choices = std::max(st.choices, k);
    }
    if (st.facts.endpoint == "embeddings") st.max_output = 0;  // embeddings generate no text
  }
  st.log.model = st.facts.route = st.model;
  st.log.stream = st.facts.stream = st.stream;
  auto who = Authorize(ex.request(), st.model);
  if (!who) {
    st.out.error = std::move(who.error());
    return false;
  }
  st.key = std::move(*who);
  st.facts.key = st.key.get();
  // The token estimate counts the strings the body carries. A translated body is classified as
  // the client sent it: every string, also those the translation does not forward.
  auto cls = ClassifyBody(rt, st.translated ? ex.request().body() : st.body, ex.request(),
                          &st.facts.estimated_input_tokens);
  if (!cls) {
    st.out.error = std::move(cls.error());
    return false;
  }
  st.cls = std::move(*cls);
  st.egress_class = st.cls.data_class;
  st.plan = Plan(rt, st.model, st.key.get(), st.cls);
  st.meta.data_class = st.cls.data_class;
  st.log.sensitivity = st.facts.sensitivity = &st.cls;
  if (!st.plan && RedactionApplies(rt.config.residency, st.cls, st.plan.error(),
                                   st.key ? st.key->max_data_class : 0)) {
    // Residency `redact` for a passthrough body: the prompt / input strings are redacted (their
    // findings located in the body read whole); a finding anywhere else survives the second
    // scan, which refuses the request.
    std::string view;
    const std::string_view whole[] = {sensitivity::JsonScanView(st.body, view)};
    auto located = Classify(rt, whole, ex.request());
    st.restorer = std::make_unique<ResponseRestorer>();
    if (located && RedactRawBody(st.body, *located, *st.restorer) > 0) {
      auto redacted = ClassifyBody(rt, st.body, ex.request());
      if (redacted) {
        st.plan = Plan(rt, st.model, st.key.get(), *redacted);
        if (st.plan) {
          st.egress_class = redacted->data_class;
          st.meta.restorer = st.restorer.get();  // completions: choices[].text; embeddings: none
          st.facts.residency_action = "redact";
          metrics_.RecordResidencyAction("redact");
        }
      }
    }
  }
  if (!st.plan) {
    st.out.error = std::move(st.plan.error());
    return false;
  }
  st.log.rerouted_to = st.plan->rerouted_to;
  if (!st.plan->rerouted_to.empty()) {
    st.facts.residency_action = "route";
    metrics_.RecordResidencyAction("route");
  }
  return true;
}

}  // namespace hybridgate::gateway
