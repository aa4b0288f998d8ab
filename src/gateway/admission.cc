#include "gateway/admission.h"

#include <fmt/format.h>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <cstdlib>

#include "api/openai_chat.h"
#include "common/json_writer.h"
#include "common/thread.h"
#include "gateway/request_log.h"
#include "limits/memory_limiter.h"
#include "limits/window.h"

namespace hybridgate::gateway {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace json = boost::json;

Result<std::unique_ptr<Admission>> Admission::Create(const config::Config& config) {
  std::unique_ptr<Admission> a(new Admission(config.limits));
  if (!config.limits.admin_key_env.empty()) {
    if (const char* k = std::getenv(config.limits.admin_key_env.c_str()); k && *k) {
      a->admin_key_ = k;
    }
  }
  if (config.limits.auth_required || !a->admin_key_.empty()) {
    const std::string db = limits::ResolveKeysDb(config.limits, config.source);
    auto keys = limits::KeyStore::Open(db);
    if (!keys) {
      return Fail(MakeError(ErrorCode::kInvalidRequest,
                            fmt::format("limits.keys_db '{}': {}", db, keys.error().message)));
    }
    a->keys_ = std::move(*keys);
  }
  auto limiter = limits::MakeLimiter(config.limits);
  if (!limiter) return Fail(std::move(limiter.error()));
  a->limiter_ = std::move(*limiter);
  if (a->keys_) {
    // The process-local limiter's spends outlive the process in the key store: a restart does
    // not hand every key a fresh budget.
    a->memory_ = dynamic_cast<limits::MemoryLimiter*>(a->limiter_.get());
    if (a->memory_) {
      auto spends = a->keys_->LoadSpends();
      if (!spends) return Fail(std::move(spends.error()));
      a->memory_->RestoreSpends(*spends);
    }
    a->poller_ = std::jthread([raw = a.get()](std::stop_token stop) { raw->PollKeys(stop); });
  }
  return a;
}

void Admission::Detach() {
  if (poller_.joinable()) {
    poller_.request_stop();
    poller_.join();
  }
  SaveSpends();
  memory_ = nullptr;
  limiter_.reset();
}

void Admission::SaveSpends() {
  if (!memory_ || !keys_) return;
  uint64_t version = 0;
  const auto spends = memory_->Spends(saved_version_, version);
  if (spends.empty()) return;
  if (auto s = keys_->SaveSpends(spends); !s) {
    LogWarn("saving budget spends failed (retried in a second): " + s.error().message);
    return;
  }
  saved_version_ = version;
}

Admission::~Admission() { admin_pool_.join(); }

Result<std::shared_ptr<const limits::KeyInfo>> Admission::Authenticate(
    const http::Request& req) const {
  if (!config_.auth_required) return std::shared_ptr<const limits::KeyInfo>();
  // Where each dialect's SDK puts its key: OpenAI's Authorization: Bearer, Anthropic's
  // x-api-key, Google's x-goog-api-key (or ?key= on the URL).
  const std::string_view secret = http::ApiKey(req, req.target());
  if (secret.empty()) {
    return Fail(MakeError(ErrorCode::kUnauthenticated,
                          "missing API key: send a HybridGate virtual key as 'Authorization: "
                          "Bearer hg-…' (or x-api-key, or x-goog-api-key)"));
  }
  return keys_->Lookup(secret);
}

void Admission::PollKeys(std::stop_token stop) {
  MarkBackgroundThread("hg-keys");
  bool failing = false;
  while (!stop.stop_requested()) {
    std::unique_lock lock(poll_mu_);
    if (poll_cv_.wait_for(lock, stop, std::chrono::seconds(1), [] { return false; })) break;
    lock.unlock();
    auto changed = keys_->ReloadIfChanged();
    if (!changed && !failing)
      LogWarn("polling the virtual keys failed: " + changed.error().message);
    failing = !changed;
    SaveSpends();
  }
}

void Admission::ReloadKeys() {
  if (!keys_) return;
  if (auto s = keys_->Reload(); !s) LogWarn("reloading virtual keys failed: " + s.error().message);
}

namespace {

std::string KeyJson(const limits::KeyInfo& k) {
  std::string out;
  JsonWriter w(out);
  w.BeginObject().Field("id", k.id).Field("team", k.team).Field("name", k.name);
  w.Field("hash_prefix", k.hash_prefix)
      .Field("created", k.created_unix)
      .Field("revoked", k.revoked);
  w.Field("rpm", k.rpm).Field("tpm", k.tpm);
  if (k.budget) {
    w.Field("budget", limits::FormatBudget(*k.budget));
  } else {
    w.Key("budget").Null();
  }
  w.Key("models").BeginArray();
  for (const auto& m : k.models) w.String(m);
  w.EndArray().Field("max_data_class", k.max_data_class).Field("min_data_class", k.min_data_class);
  w.EndObject();
  return out;
}

// Parses POST /admin/keys: {"team","name","budget":"100usd/month","rpm","tpm","models":[],
// "max_data_class","min_data_class"}.
Result<limits::KeySpec> ParseKeySpec(std::string_view body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) {
    return Fail(MakeError(ErrorCode::kInvalidRequest, "body must be a JSON object"));
  }
  const json::object& o = v.as_object();
  limits::KeySpec spec;
  auto str = [&](const char* k, std::string& out) -> Status {
    if (auto* f = o.if_contains(k)) {
      if (!f->is_string()) {
        return Fail(
            MakeError(ErrorCode::kInvalidRequest, fmt::format("'{}' must be a string", k), k));
      }
      out = std::string(f->as_string());
    }
    return {};
  };
  auto num = [&](const char* k, int64_t& out, int64_t lo, int64_t hi) -> Status {
    if (auto* f = o.if_contains(k)) {
      if (!f->is_int64() || f->as_int64() < lo || f->as_int64() > hi) {
        return Fail(MakeError(ErrorCode::kInvalidRequest,
                              fmt::format("'{}' must be an integer from {} to {}", k, lo, hi), k));
      }
      out = f->as_int64();
    }
    return {};
  };
  HG_TRY(str("team", spec.team));
  if (spec.team.empty()) {
    return Fail(MakeError(ErrorCode::kInvalidRequest, "'team' is required", "team"));
  }
  HG_TRY(str("name", spec.name));
  std::string budget;
  HG_TRY(str("budget", budget));
  if (!budget.empty()) {
    auto b = limits::ParseBudget(budget);
    if (!b) return Fail(MakeError(ErrorCode::kInvalidRequest, b.error().message, "budget"));
    spec.budget = *b;
  }
  HG_TRY(num("rpm", spec.rpm, 0, 1'000'000'000));
  HG_TRY(num("tpm", spec.tpm, 0, 1'000'000'000'000));
  int64_t maxc = 5, minc = 1;
  HG_TRY(num("max_data_class", maxc, 1, 5));
  HG_TRY(num("min_data_class", minc, 1, 5));
  spec.max_data_class = static_cast<int>(maxc);
  spec.min_data_class = static_cast<int>(minc);
  if (auto* m = o.if_contains("models")) {
    if (!m->is_array()) {
      return Fail(MakeError(ErrorCode::kInvalidRequest, "'models' must be an array", "models"));
    }
    for (const auto& e : m->as_array()) {
      if (!e.is_string()) {
        return Fail(MakeError(ErrorCode::kInvalidRequest, "'models' must hold strings", "models"));
      }
      spec.models.emplace_back(e.as_string());
    }
  }
  return spec;
}

}  // namespace

bool Admission::IsAdmin(const http::Request& req) const {
  const std::string_view auth = req[bhttp::field::authorization];
  return !admin_key_.empty() && auth.size() > 7 && auth.substr(0, 7) == "Bearer " &&
         limits::SecretMatches(auth.substr(7), admin_key_);
}

asio::awaitable<void> Admission::Admin(http::Exchange& ex, std::string_view path) {
  constexpr std::string_view kJson = "application/json";
  const http::Request& req = ex.request();
  if (admin_key_.empty() || !keys_) {
    co_return co_await ex.Respond(
        404, kJson,
        api::EncodeOpenAiError(MakeError(ErrorCode::kNotFound,
                                         "the admin API is off: set limits.admin_key_env and that "
                                         "environment variable")));
  }
  const std::string_view auth = req[bhttp::field::authorization];
  if (auth.size() <= 7 || auth.substr(0, 7) != "Bearer " ||
      !limits::SecretMatches(auth.substr(7), admin_key_)) {
    co_return co_await ex.Respond(401, kJson,
                                  api::EncodeOpenAiError(MakeError(ErrorCode::kUnauthenticated,
                                                                   "wrong or missing admin key")));
  }
  const auto method = req.method();
  const std::string body = req.body();
  const std::string target(path);
  // SQLite blocks: hop to the admin thread, then back to this connection's event loop.
  auto home = co_await asio::this_coro::executor;
  co_await asio::post(asio::bind_executor(admin_pool_.get_executor(), asio::use_awaitable));
  int status = 200;
  std::string out;
  if (target == "/admin/keys" && method == bhttp::verb::get) {
    auto list = keys_->List(true);
    if (!list) {
      status = 500;
      out = api::EncodeOpenAiError(list.error());
    } else {
      out = "{\"data\":[";
      for (size_t i = 0; i < list->size(); ++i) out += (i ? "," : "") + KeyJson((*list)[i]);
      out += "]}";
    }
  } else if (target == "/admin/keys" && method == bhttp::verb::post) {
    auto spec = ParseKeySpec(body);
    auto created = spec ? keys_->Create(*spec) : Result<limits::CreatedKey>(Fail(spec.error()));
    if (!created) {
      status = created.error().HttpStatus();
      out = api::EncodeOpenAiError(created.error());
    } else {
      keys_->Reload();
      status = 201;
      std::string k = KeyJson(created->info);
      // The secret is shown here, once; only its hash is stored.
      k.insert(1, fmt::format("\"key\":\"{}\",", created->secret));
      out = std::move(k);
    }
  } else if (target.rfind("/admin/keys/", 0) == 0 && method == bhttp::verb::delete_) {
    auto revoked = keys_->Revoke(target.substr(12));
    if (!revoked) {
      status = revoked.error().HttpStatus();
      out = api::EncodeOpenAiError(revoked.error());
    } else {
      keys_->Reload();
      out = R"({"revoked":true})";
    }
  } else if (target == "/admin/keys/reload" && method == bhttp::verb::post) {
    ReloadKeys();
    out = R"({"reloaded":true})";
  } else {
    status = 404;
    out = api::EncodeOpenAiError(
        MakeError(ErrorCode::kNotFound, fmt::format("no admin route for {}", target)));
  }
  co_await asio::post(asio::bind_executor(home, asio::use_awaitable));
  co_await ex.Respond(status, kJson, std::move(out));
}

}  // namespace hybridgate::gateway
