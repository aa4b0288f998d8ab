#include "eval/cases.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <exception>

#include "api/openai_chat.h"
#include "common/json_writer.h"
#include "ledger/pricing.h"
#include "quality/comparators/comparator.h"
#include "quality/comparators/embedding/embedding.h"
#include "quality/comparators/json_schema/json_schema.h"

namespace hybridgate::eval {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace json = boost::json;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
// Longer than any provider's timeout a config would set: only a hung gateway reaches it.
constexpr auto kRequestTimeout = std::chrono::minutes(15);

struct Reply {
  int status = 0;
  std::string body;
  std::string provider;  // x-hybridgate-provider
  std::string model;     // x-hybridgate-model
};

// The gateway, seen as a client sees it: HTTP, one connection a request.
class GatewayClient {
 public:
  GatewayClient(Endpoint at, std::string key) : at_(std::move(at)), key_(std::move(key)) {}

  asio::awaitable<Result<Reply>> Send(bhttp::verb method, std::string_view target,
                                      std::string body) const {
    beast::tcp_stream stream(co_await asio::this_coro::executor);
    stream.expires_after(kRequestTimeout);
    open_.insert(&stream);
    struct Forget {
      std::set<beast::tcp_stream*>& open;
      beast::tcp_stream* s;
      ~Forget() { open.erase(s); }
    } forget{open_, &stream};
    boost::system::error_code address_ec;
    const asio::ip::address address = asio::ip::make_address(at_.address, address_ec);
    if (address_ec) co_return Fail(Down(address_ec));
    auto [connect_ec] =
        co_await stream.async_connect(asio::ip::tcp::endpoint(address, at_.port), kTuple);
    if (connect_ec) co_return Fail(Down(connect_ec));
    bhttp::request<bhttp::string_body> req{method, target, 11};
    req.set(bhttp::field::host, at_.address);
    req.set(bhttp::field::content_type, "application/json");
    if (!key_.empty()) req.set(bhttp::field::authorization, "Bearer " + key_);
    req.body() = std::move(body);
    req.prepare_payload();
    auto [write_ec, w] = co_await bhttp::async_write(stream, req, kTuple);
    // A gateway that refused the body as it came (413) answers, then closes: its answer is
    // read even when the write failed.
    beast::flat_buffer buffer;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(256 << 20);
    auto [read_ec, r] = co_await bhttp::async_read(stream, buffer, parser, kTuple);
    if (read_ec) co_return Fail(Down(write_ec ? write_ec : read_ec));
    auto& res = parser.get();
    Reply out{.status = static_cast<int>(res.result_int()), .body = std::move(res.body())};
    out.provider = std::string(res["x-hybridgate-provider"]);
    out.model = std::string(res["x-hybridgate-model"]);
    co_return out;
  }

  // Ends every exchange in flight (its operation fails): for a run that was stopped, once the
  // gateway behind them has shut down.
  void CancelAll() const {
    for (beast::tcp_stream* s : open_) s->close();
  }

 private:
  static Error Down(const beast::error_code& ec) {
    return MakeError(ErrorCode::kUpstreamUnavailable,
                     fmt::format("the gateway did not answer: {}", ec.message()));
  }
  Endpoint at_;
  std::string key_;
  mutable std::set<beast::tcp_stream*> open_;  // the eval's event loop only
};

// "code: message" of an OpenAI error body, else the status and the body's start.
std::string ErrorText(const Reply& r) {
  boost::system::error_code ec;
  const json::value v = json::parse(r.body, ec);
  const auto* o = !ec ? v.if_object() : nullptr;
  const auto* e = o ? o->if_contains("error") : nullptr;
  const auto* eo = e ? e->if_object() : nullptr;
  if (eo) {
    const auto* code = eo->if_contains("code");
    const auto* message = eo->if_contains("message");
    return fmt::format("{}: {}", code && code->is_string() ? code->as_string() : "error",
                       message && message->is_string() ? message->as_string() : "");
  }
  return fmt::format("HTTP {}: {}", r.status, r.body.substr(0, 200));
}

// What an answer cost at the config's prices (the ledger holds the exact row).
double Price(const config::Config& cfg, const Reply& r, int64_t input, int64_t output) {
  for (const config::ProviderConfig& p : cfg.providers) {
    if (p.name != r.provider) continue;
    for (const config::ModelConfig& m : p.models) {
      if (m.name == r.model || m.id == r.model) {
        return ledger::Cost({.input_per_mtok = m.input_per_mtok,
                             .output_per_mtok = m.output_per_mtok,
                             .cached_input_per_mtok = m.input_per_mtok},
                            input, 0, output);
      }
    }
  }
  return 0;
}

// Whether the answer came from what was asked for: a concrete model ("name" or
// "provider/name") must have answered itself; a route or an alias may be served by any of its
// deployments.
bool ServedAsAsked(const config::Config& cfg, std::string_view asked, const Reply& r) {
  const size_t slash = asked.find('/');
  const std::string_view provider =
      slash == std::string_view::npos ? std::string_view() : asked.substr(0, slash);
  const std::string_view name = slash == std::string_view::npos ? asked : asked.substr(slash + 1);
  bool concrete = false;
  for (const config::ProviderConfig& p : cfg.providers) {
    if (!provider.empty() && p.name != provider) continue;
    for (const config::ModelConfig& m : p.models) {
      if (m.name != name) continue;
      concrete = true;
      if (p.name == r.provider && (m.name == r.model || m.id == r.model)) return true;
    }
  }
  return !concrete;
}

// Whether an OpenAI chat.completion body holds an answer: a first choice with a message.
bool HasAnswer(std::string_view body) {
  boost::system::error_code ec;
  const json::value v = json::parse(body, ec);
  const auto* o = !ec ? v.if_object() : nullptr;
  const auto* choices = o ? o->if_contains("choices") : nullptr;
  const auto* a = choices ? choices->if_array() : nullptr;
  if (!a || a->empty() || !a->front().is_object()) return false;
  const auto* message = a->front().as_object().if_contains("message");
  return message && message->is_object();
}

void ReadUsage(std::string_view body, int64_t& input, int64_t& output) {
  boost::system::error_code ec;
  const json::value v = json::parse(body, ec);
  const auto* o = !ec ? v.if_object() : nullptr;
  const auto* usage = o ? o->if_contains("usage") : nullptr;
  const auto* u = usage ? usage->if_object() : nullptr;
  if (!u) return;
  if (const auto* p = u->if_contains("prompt_tokens"); p && p->is_int64()) input = p->as_int64();
  if (const auto* c = u->if_contains("completion_tokens"); c && c->is_int64()) {
    output = c->as_int64();
  }
}

// A comparator's model calls: requests to the gateway like any other.
class Calls final : public quality::ModelCalls {
 public:
  Calls(const GatewayClient& client, const config::Config& cfg) : client_(client), cfg_(cfg) {}

  asio::awaitable<Result<std::string>> Chat(std::string_view model,
                                            const api::ChatRequest& request) override {
    std::string body;
    api::EncodeOpenAiChat(request, {.model = model, .force_include_usage = false}, body);
    auto reply = co_await client_.Send(bhttp::verb::post, "/v1/chat/completions", body);
    if (!reply) co_return Fail(std::move(reply.error()));
    Charge(*reply);
    if (reply->status != 200) {
      co_return Fail(MakeError(ErrorCode::kUpstreamUnavailable, ErrorText(*reply)));
    }
    if (auto s = Asked(model, *reply); !s) co_return Fail(std::move(s.error()));
    co_return std::move(reply->body);
  }

  asio::awaitable<Result<std::vector<std::vector<double>>>> Embed(
      std::string_view model, std::span<const std::string> texts) override {
    std::string body;
    JsonWriter w(body);
    w.BeginObject().Field("model", model).Key("input").BeginArray();
    for (const std::string& t : texts) w.String(t);
    w.EndArray().EndObject();
    auto reply = co_await client_.Send(bhttp::verb::post, "/v1/embeddings", body);
    if (!reply) co_return Fail(std::move(reply.error()));
    Charge(*reply);
    if (reply->status != 200) {
      co_return Fail(MakeError(ErrorCode::kUpstreamUnavailable, ErrorText(*reply)));
    }
    if (auto s = Asked(model, *reply); !s) co_return Fail(std::move(s.error()));
    co_return quality::ReadOpenAiEmbeddings(reply->body, texts.size());
  }

  double spent_usd() const override { return spent_; }

 private:
  // A judge or embedding model the gateway replaced (residency, a fallback) gives no score: its
  // stand-in is not the model the run was asked to compare with.
  Status Asked(std::string_view model, const Reply& r) const {
    if (ServedAsAsked(cfg_, model, r)) return {};
    return Fail(MakeError(
        ErrorCode::kUpstreamUnavailable,
        fmt::format("answered by {}/{}, not {} (the gateway rerouted it: residency or a fallback)",
                    r.provider, r.model, model)));
  }
  void Charge(const Reply& r) {
    int64_t input = 0, output = 0;
    ReadUsage(r.body, input, output);
    spent_ += Price(cfg_, r, input, output);
  }
  const GatewayClient& client_;
  const config::Config& cfg_;
  double spent_ = 0;
};

// One case's request body for `model`: its messages, and its schema as response_format.
std::string CaseBody(const SuiteCase& c, std::string_view model) {
  std::string body;
  JsonWriter w(body);
  w.BeginObject().Field("model", model).RawField("messages", c.messages_json);
  if (c.schema) {
    w.Key("response_format")
        .BeginObject()
        .Field("type", "json_schema")
        .Key("json_schema")
        .BeginObject()
        .Field("name", "eval")
        .RawField("schema", *c.schema)
        .EndObject()
        .EndObject();
  }
  w.EndObject();
  return body;
}

struct Job {
  const config::Config& cfg;
  const std::vector<SuiteCase>& suite;
  const RunOptions& options;
  const GatewayClient& client;
  std::vector<std::unique_ptr<quality::Comparator>> comparators;  // against the reference
  EvalResult& result;
  size_t next = 0;
  size_t done = 0;
  const std::function<void(size_t, size_t)>& progress;
  const std::atomic<bool>& stop;

  size_t total() const { return suite.size() * options.models.size(); }

  asio::awaitable<void> Case(ModelResult& m, const SuiteCase& sc, CaseResult& out) {
    out.id = sc.id;
    const auto start = std::chrono::steady_clock::now();
    auto reply =
        co_await client.Send(bhttp::verb::post, "/v1/chat/completions", CaseBody(sc, m.model));
    out.latency_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::steady_clock::now() - start)
                         .count();
    quality::Comparison c;
    c.question = sc.question;
    c.primary.ok = sc.reference.has_value();
    c.primary.text = sc.reference.value_or("");
    if (!reply) {
      out.error = reply.error().message;
    } else if (reply->status != 200) {
      out.error = ErrorText(*reply);
    } else if (out.served_by = reply->provider + "/" + reply->model;
               !ServedAsAsked(cfg, m.model, *reply)) {
      out.error =
          fmt::format("answered by {}, not {} (the gateway rerouted it: residency or a fallback)",
                      out.served_by, m.model);
    } else if (!HasAnswer(reply->body)) {
      out.error = fmt::format("{} answered 200 without an answer (no choices[0].message): {}",
                              out.served_by, reply->body.substr(0, 200));
    } else {
      out.ok = true;
      quality::ReadOpenAiAnswer(reply->body, c.shadow);
      ReadUsage(reply->body, out.input_tokens, out.output_tokens);
      m.cost_usd += Price(cfg, *reply, out.input_tokens, out.output_tokens);
    }
    out.answer = c.shadow.text;
    c.shadow.ok = out.ok;
    const bool scorable = sc.reference || sc.schema;
    if (!out.ok) {
      if (scorable) out.score = 0;
      co_return;
    }
    if (sc.reference) {
      Calls calls(client, cfg);
      for (const auto& comparator : comparators) {
        auto s = co_await comparator->Compare(c, calls);
        if (s && std::isfinite(s->value)) {
          out.scores.push_back(std::move(*s));
        } else {
          out.unscored.emplace_back(comparator->name());
        }
      }
      m.cost_usd += calls.spent_usd();
    }
    if (sc.schema) {
      const quality::SchemaCheck check = quality::CheckSchemaText(*sc.schema, out.answer);
      if (check.result == quality::SchemaCheck::Result::kUnusable) {
        out.unscored.emplace_back("json_schema");  // the schema's fault, not the answer's
      } else {
        const bool conforms = check.result == quality::SchemaCheck::Result::kConforms;
        out.scores.push_back(
            {"json_schema", conforms ? 1.0 : 0.0, conforms ? "the answer conforms" : check.detail});
      }
    }
    if (!out.scores.empty()) {
      double sum = 0;
      for (const quality::Score& s : out.scores) sum += s.value;
      out.score = sum / static_cast<double>(out.scores.size());
    }
  }

  // One of `options.concurrency` loops: takes the next (model, case) until none is left.
  asio::awaitable<void> Worker() {
    while (next < total() && !stop.load(std::memory_order_relaxed)) {
      const size_t i = next++;
      ModelResult& m = result.models[i / suite.size()];
      co_await Case(m, suite[i % suite.size()], m.cases[i % suite.size()]);
      if (progress) progress(++done, total());
    }
  }
};

asio::awaitable<Result<std::set<std::string>>> ListModels(const GatewayClient& client) {
  auto reply = co_await client.Send(bhttp::verb::get, "/v1/models", "");
  if (!reply) co_return Fail(std::move(reply.error()));
  if (reply->status != 200) {
    co_return Fail(MakeError(ErrorCode::kInvalidRequest,
                             fmt::format("GET /v1/models: {}", ErrorText(*reply))));
  }
  std::set<std::string> out;
  boost::system::error_code ec;
  const json::value v = json::parse(reply->body, ec);
  const auto* o = !ec ? v.if_object() : nullptr;
  const auto* data = o ? o->if_contains("data") : nullptr;
  if (data && data->is_array()) {
    for (const json::value& m : data->as_array()) {
      const auto* mo = m.if_object();
      const auto* id = mo ? mo->if_contains("id") : nullptr;
      if (id && id->is_string()) out.insert(std::string(id->as_string()));
    }
  }
  co_return out;
}

}  // namespace

Status CheckModel(const config::Config& cfg, const std::set<std::string>& listed,
                  std::string_view model) {
  if (listed.contains(std::string(model))) return {};
  for (const routing::Route& r : cfg.routes.routes) {
    if (r.name == model || std::ranges::find(r.aliases, model) != r.aliases.end()) return {};
  }
  if (const size_t slash = model.find('/'); slash != std::string_view::npos) {
    for (const config::ProviderConfig& p : cfg.providers) {
      if (p.name != model.substr(0, slash)) continue;
      for (const config::ModelConfig& m : p.models) {
        if (m.name == model.substr(slash + 1)) return {};
      }
    }
  }
  return Fail(MakeError(ErrorCode::kInvalidRequest,
                        fmt::format("model '{}' is not served by this config", model)));
}

std::set<std::string> ConfiguredModels(const config::Config& cfg) {
  std::set<std::string> out;
  for (const config::ProviderConfig& p : cfg.providers) {
    for (const config::ModelConfig& m : p.models) out.insert(m.name);
  }
  for (const auto& [alias, model] : cfg.aliases) out.insert(alias);
  return out;
}

struct CaseRun::Impl {
  const config::Config& cfg;
  const std::vector<SuiteCase>& suite;
  const RunOptions& options;
  GatewayClient client;
  std::function<void(size_t, size_t)> progress;
  const std::atomic<bool>& stop;
};

CaseRun::CaseRun(const config::Config& cfg, const std::vector<SuiteCase>& suite,
                 const RunOptions& options, Endpoint at,
                 std::function<void(size_t, size_t)> progress, const std::atomic<bool>& stop)
    : impl_(new Impl{cfg, suite, options, GatewayClient(std::move(at), options.key),
                     std::move(progress), stop}) {}

CaseRun::~CaseRun() = default;

void CaseRun::CancelAll() { impl_->client.CancelAll(); }

asio::awaitable<Result<EvalResult>> CaseRun::Run() {
  const Impl& o = *impl_;
  std::vector<quality::ComparatorSpec> specs = {{"exact", ""}};
  if (!o.options.embedding.empty()) specs.push_back({"embedding", o.options.embedding});
  if (!o.options.judge.empty()) specs.push_back({"judge", o.options.judge});
  std::vector<std::unique_ptr<quality::Comparator>> comparators;
  for (const quality::ComparatorSpec& spec : specs) {
    auto made = quality::MakeComparator(spec);
    if (!made) co_return Fail(std::move(made.error()));
    comparators.push_back(std::move(*made));
  }
  auto listed = co_await ListModels(o.client);
  if (!listed) co_return Fail(std::move(listed.error()));
  for (const std::string& m : o.options.models) {
    if (auto s = CheckModel(o.cfg, *listed, m); !s) co_return Fail(std::move(s.error()));
  }
  for (const std::string& m : {o.options.judge, o.options.embedding}) {
    if (m.empty()) continue;
    if (auto s = CheckModel(o.cfg, *listed, m); !s) co_return Fail(std::move(s.error()));
  }
  EvalResult result;
  result.suite = o.options.suite_name;
  result.time_unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  for (const std::string& model : o.options.models) {
    result.models.push_back({.model = model});
    result.models.back().cases.resize(o.suite.size());
  }
  Job job{o.cfg,  o.suite, o.options, o.client,   std::move(comparators),
          result, 0,       0,         o.progress, o.stop};
  // The workers run beside this coroutine; the last one to end wakes it.
  const auto executor = co_await asio::this_coro::executor;
  asio::steady_timer all_done(executor, asio::steady_timer::time_point::max());
  int running = 0;
  std::exception_ptr failure;
  for (int i = 0; i < std::max(o.options.concurrency, 1); ++i) {
    ++running;
    asio::co_spawn(executor, job.Worker(), [&](std::exception_ptr e) {
      if (e && !failure) failure = e;
      if (--running == 0) all_done.cancel();
    });
  }
  while (running > 0) co_await all_done.async_wait(kTuple);
  if (failure) std::rethrow_exception(failure);
  for (ModelResult& m : result.models) Summarize(m);
  co_return result;
}

}  // namespace hybridgate::eval
