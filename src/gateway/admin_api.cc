#include "gateway/admin_api.h"

#include <fmt/format.h>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "api/openai_chat.h"
#include "common/json_writer.h"
#include "limits/window.h"

namespace hybridgate::gateway {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace json = boost::json;

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

bool AdminApi::IsAdmin(const http::Request& req) const {
  const std::string_view auth = req[bhttp::field::authorization];
  return !admin_key_.empty() && auth.size() > 7 && auth.substr(0, 7) == "Bearer " &&
         limits::SecretMatches(auth.substr(7), admin_key_);
}

asio::awaitable<void> AdminApi::Serve(http::Exchange& ex, std::string_view path) {
  constexpr std::string_view kJson = "application/json";
  const http::Request& req = ex.request();
  limits::KeyStore* const keys = admission_.keys();
  if (admin_key_.empty() || keys == nullptr) {
    co_return co_await ex.Respond(
        404, kJson,
        api::EncodeOpenAiError(MakeError(ErrorCode::kNotFound,
                                         "the admin API is off: set limits.admin_key_env and that "
                                         "environment variable")));
  }
  if (!IsAdmin(req)) {
    co_return co_await ex.Respond(401, kJson,
                                  api::EncodeOpenAiError(MakeError(ErrorCode::kUnauthenticated,
                                                                   "wrong or missing admin key")));
  }
  const auto method = req.method();
  const std::string body = req.body();
  const std::string target(path);
  // SQLite blocks: hop to the admin thread, then back to this connection's event loop.
  auto home = co_await asio::this_coro::executor;
  co_await asio::post(asio::bind_executor(pool_.get_executor(), asio::use_awaitable));
  int status = 200;
  std::string out;
  if (target == "/admin/keys" && method == bhttp::verb::get) {
    auto list = keys->List(true);
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
    auto created = spec ? keys->Create(*spec) : Result<limits::CreatedKey>(Fail(spec.error()));
    if (!created) {
      status = created.error().HttpStatus();
      out = api::EncodeOpenAiError(created.error());
    } else {
      keys->Reload();
      status = 201;
      std::string k = KeyJson(created->info);
      // The secret is shown here, once; only its hash is stored.
      k.insert(1, fmt::format("\"key\":\"{}\",", created->secret));
      out = std::move(k);
    }
  } else if (target.rfind("/admin/keys/", 0) == 0 && method == bhttp::verb::delete_) {
    auto revoked = keys->Revoke(target.substr(12));
    if (!revoked) {
      status = revoked.error().HttpStatus();
      out = api::EncodeOpenAiError(revoked.error());
    } else {
      keys->Reload();
      out = R"({"revoked":true})";
    }
  } else if (target == "/admin/keys/reload" && method == bhttp::verb::post) {
    admission_.ReloadKeys();
    out = R"({"reloaded":true})";
  } else if ((target == "/admin/rollouts" || target.starts_with("/admin/rollouts/")) && rollouts_) {
    if (method == bhttp::verb::get || method == bhttp::verb::post) {
      std::tie(status, out) = rollouts_(target, method == bhttp::verb::post, body);
    } else {
      status = 405;
      out = api::EncodeOpenAiError(
          MakeError(ErrorCode::kInvalidRequest,
                    fmt::format("{} {}: rollouts take GET (status) or POST (a command)",
                                std::string_view(req.method_string()), target)));
    }
  } else {
    status = 404;
    out = api::EncodeOpenAiError(
        MakeError(ErrorCode::kNotFound, fmt::format("no admin route for {}", target)));
  }
  co_await asio::post(asio::bind_executor(home, asio::use_awaitable));
  co_await ex.Respond(status, kJson, std::move(out));
}

}  // namespace hybridgate::gateway
