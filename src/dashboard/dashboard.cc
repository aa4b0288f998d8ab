#include "dashboard/dashboard.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/string.hpp>
#include <chrono>
#include <thread>

#include "api/openai_chat.h"
#include "common/xml.h"
#include "dashboard/assets.h"
#include "dashboard/data_api.h"
#include "dashboard/session.h"
#include "limits/keys.h"

namespace hybridgate::dashboard {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

namespace {

constexpr std::string_view kJson = "application/json";
constexpr std::string_view kLoginPath = "/ui/login";

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Every page and API answer: never cached, never framed, scripts and styles from /ui only.
void AddPageHeaders(http::HeaderList& h) {
  h.emplace_back("cache-control", "no-store");
  h.emplace_back("x-content-type-options", "nosniff");
  h.emplace_back("x-frame-options", "DENY");
  h.emplace_back("referrer-policy", "no-referrer");
  h.emplace_back("content-security-policy",
                 "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                 "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
}

std::string ApiError(ErrorCode code, std::string message) {
  return api::EncodeOpenAiError(MakeError(code, std::move(message)));
}

// The login page, with `note` (plain text, escaped) shown above the form.
std::string LoginPage(std::string_view note) {
  const Asset* page = FindAsset("login.html");
  std::string html(page ? page->body : "");
  constexpr std::string_view kMark = "<!--note-->";
  if (const size_t at = html.find(kMark); at != std::string::npos) {
    html.replace(at, kMark.size(), EscapeXml(note));
  }
  return html;
}

}  // namespace

Dashboard::Dashboard(std::string admin_key, std::string ledger_source, int query_timeout_ms)
    : admin_key_(std::move(admin_key)),
      ledger_source_(std::move(ledger_source)),
      query_timeout_ms_(query_timeout_ms) {}

Dashboard::~Dashboard() { Close(); }

void Dashboard::Close() {
  closed_.store(true);
  // The statement under way stops (SQLite at once, PostgreSQL within its timeout); the calls
  // queued behind it find closed_ set and start none.
  while (waiting_.load() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  pool_.join();
}

bool Dashboard::Handles(std::string_view path) {
  return path == "/ui" || path.starts_with("/ui/") || path.starts_with("/admin/api/");
}

bool Dashboard::Authorized(const http::Request& req) const {
  const std::string_view auth = req[bhttp::field::authorization];
  // The scheme is case-insensitive (RFC 9110 11.1).
  if (auth.size() > 7 && boost::beast::iequals(auth.substr(0, 7), "Bearer ") &&
      limits::SecretMatches(auth.substr(7), admin_key_)) {
    return true;
  }
  const std::string_view cookie = CookieValue(req[bhttp::field::cookie], kSessionCookie);
  if (cookie.empty()) return false;
  const auto nonce = SessionNonce(cookie, admin_key_, NowMs() / 1000);
  if (!nonce) return false;
  std::lock_guard lock(sessions_mu_);
  return sessions_.contains(*nonce);
}

asio::awaitable<void> Dashboard::Serve(http::Exchange& ex, std::string_view path) {
  const http::Request& req = ex.request();
  http::HeaderList headers;
  AddPageHeaders(headers);
  if (admin_key_.empty()) {
    co_return co_await ex.Respond(
        404, kJson,
        ApiError(ErrorCode::kNotFound,
                 "the dashboard is off: set limits.admin_key_env and that environment variable"),
        headers);
  }
  const bool get = req.method() == bhttp::verb::get || req.method() == bhttp::verb::head;
  if (path == kLoginPath) co_return co_await Login(ex);
  if (path == "/ui/logout") {
    // Ends this browser's session: its nonce is forgotten, so the cookie no longer works even
    // if it was copied.
    const std::string_view cookie = CookieValue(req[bhttp::field::cookie], kSessionCookie);
    if (auto nonce = SessionNonce(cookie, admin_key_, NowMs() / 1000)) {
      std::lock_guard lock(sessions_mu_);
      sessions_.erase(*nonce);
    }
    const std::string clear =
        fmt::format("{}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict", kSessionCookie);
    headers.emplace_back("set-cookie", clear);
    headers.emplace_back("location", kLoginPath);
    co_return co_await ex.Respond(303, "text/plain; charset=utf-8", "signed out\n", headers);
  }
  // The login page's style sheet is the one thing served to anyone.
  if (path == "/ui/app.css" && get) {
    co_return co_await ex.Respond(200, ContentType("app.css"),
                                  std::string(FindAsset("app.css")->body), headers);
  }
  const bool authorized = Authorized(req);
  if (path.starts_with("/admin/api/")) {
    if (!authorized) {
      co_return co_await ex.Respond(
          401, kJson, ApiError(ErrorCode::kUnauthenticated, "wrong or missing admin key"), headers);
    }
    co_return co_await Api(ex, path);
  }
  if (!authorized) {
    co_return co_await ex.Respond(401, ContentType("login.html"), LoginPage(""), headers);
  }
  if (path == "/ui") {
    headers.emplace_back("location", "/ui/");
    co_return co_await ex.Respond(308, "text/plain; charset=utf-8", "/ui/\n", headers);
  }
  if (!get) {
    headers.emplace_back("allow", "GET, HEAD");
    co_return co_await ex.Respond(
        405, kJson, ApiError(ErrorCode::kMethodNotAllowed, "the dashboard's pages take GET"),
        headers);
  }
  std::string_view name = path.substr(4);  // after "/ui/"
  if (name.empty()) name = "index.html";
  const Asset* asset = name == "login.html" ? nullptr : FindAsset(name);
  if (asset == nullptr) {
    co_return co_await ex.Respond(
        404, kJson, ApiError(ErrorCode::kNotFound, fmt::format("no dashboard page {}", path)),
        headers);
  }
  co_await ex.Respond(200, ContentType(asset->name), std::string(asset->body), headers);
}

asio::awaitable<void> Dashboard::Login(http::Exchange& ex) {
  const http::Request& req = ex.request();
  http::HeaderList headers;
  AddPageHeaders(headers);
  if (req.method() == bhttp::verb::get || req.method() == bhttp::verb::head) {
    co_return co_await ex.Respond(200, ContentType("login.html"), LoginPage(""), headers);
  }
  if (req.method() != bhttp::verb::post) {
    headers.emplace_back("allow", "GET, HEAD, POST");
    co_return co_await ex.Respond(
        405, kJson, ApiError(ErrorCode::kMethodNotAllowed, "/ui/login takes GET or POST"), headers);
  }
  const std::string key = FormValue(req.body(), "key");
  if (key.empty() || !limits::SecretMatches(key, admin_key_)) {
    co_return co_await ex.Respond(401, ContentType("login.html"),
                                  LoginPage("That is not the admin key."), headers);
  }
  const int64_t now_s = NowMs() / 1000;
  const int64_t expires = now_s + kSessionSeconds;
  const std::string nonce = NewNonce();
  {
    std::lock_guard lock(sessions_mu_);
    std::erase_if(sessions_, [&](const auto& s) { return s.second <= now_s; });
    while (sessions_.size() >= kMaxSessions) {  // the one that expires first goes
      sessions_.erase(std::min_element(sessions_.begin(), sessions_.end(),
                                       [](auto& a, auto& b) { return a.second < b.second; }));
    }
    sessions_.emplace(nonce, expires);
  }
  const std::string cookie =
      fmt::format("{}={}; Path=/; Max-Age={}; HttpOnly; SameSite=Strict", kSessionCookie,
                  SessionValue(admin_key_, expires, nonce), kSessionSeconds);
  headers.emplace_back("set-cookie", cookie);
  headers.emplace_back("location", "/ui/");
  co_await ex.Respond(303, "text/plain; charset=utf-8", "signed in\n", headers);
}

Result<std::string> Dashboard::Document(std::string_view name, const Window& w, int64_t now,
                                        std::chrono::steady_clock::time_point deadline) {
  if (!reader_) reader_ = OpenLedgerReader(ledger_source_, query_timeout_ms_);
  reader_->Bound(deadline, &closed_);
  if (auto fresh = cache_.Refresh(*reader_, now); !fresh) {
    if (cache_.ready() || closed_.load()) return Fail(fresh.error());
    // The first read of a large ledger takes more than one call's time; what was read stays.
    return Fail(MakeError(ErrorCode::kUnavailable,
                          fmt::format("the dashboard is reading the last 32 days of the ledger "
                                      "into memory ({} rows so far): try again in a few seconds",
                                      cache_.rows())));
  }
  const std::string_view source = reader_->backend();
  if (name == "overview") {
    if (cache_.Covers(w.since_ms)) {
      return RenderOverview(cache_.MakeOverview(w, now), w, source, "memory");
    }
    return OverviewJson(*reader_, w, now);
  }
  if (name == "protection") {
    if (cache_.Covers(w.since_ms)) {
      return RenderProtection(cache_.MakeProtection(w), w, source, "memory");
    }
    return ProtectionJson(*reader_, w);
  }
  std::vector<limits::KeyInfo> configured;
  if (list_keys_) {
    auto keys = list_keys_();
    if (!keys) return Fail(keys.error());
    configured = std::move(*keys);
  }
  if (cache_.Covers(std::min(w.since_ms, MonthStartMs(now)))) {
    return RenderKeys(cache_.MakeKeys(w, now), configured, w, now, source, "memory");
  }
  auto use = KeysFromLedger(*reader_, w, now);
  if (!use) return Fail(use.error());
  return RenderKeys(*use, configured, w, now, source, "ledger");
}

asio::awaitable<void> Dashboard::Api(http::Exchange& ex, std::string_view path) {
  const http::Request& req = ex.request();
  http::HeaderList headers;
  AddPageHeaders(headers);
  if (req.method() != bhttp::verb::get) {
    headers.emplace_back("allow", "GET");
    co_return co_await ex.Respond(
        405, kJson,
        ApiError(ErrorCode::kMethodNotAllowed,
                 fmt::format("{} {}: the data API takes GET", std::string_view(req.method_string()),
                             path)),
        headers);
  }
  const std::string_view name = path.substr(std::string_view("/admin/api/").size());
  if (name != "overview" && name != "protection" && name != "keys") {
    co_return co_await ex.Respond(
        404, kJson,
        ApiError(ErrorCode::kNotFound, fmt::format("no data API {} (there are /admin/api/overview, "
                                                   "/admin/api/protection and /admin/api/keys)",
                                                   path)),
        headers);
  }
  const int64_t now = NowMs();
  auto window = ParseWindow(http::PercentDecode(http::QueryParam(req.target(), "window")), now);
  if (!window) {
    co_return co_await ex.Respond(400, kJson, api::EncodeOpenAiError(window.error()), headers);
  }
  if (ledger_source_.empty()) {
    co_return co_await ex.Respond(
        404, kJson,
        ApiError(ErrorCode::kNotFound, "the ledger is off (ledger.enabled: false): no data"),
        headers);
  }
  if (closed_.load()) {
    co_return co_await ex.Respond(
        503, kJson, ApiError(ErrorCode::kUnavailable, "the gateway is stopping"), headers);
  }
  if (waiting_.fetch_add(1) >= kMaxWaiting) {
    waiting_.fetch_sub(1);
    co_return co_await ex.Respond(
        503, kJson,
        ApiError(ErrorCode::kUnavailable,
                 fmt::format("the dashboard is busy ({} calls wait for the ledger): try again "
                             "in a moment",
                             kMaxWaiting)),
        headers);
  }
  if (closed_.load()) {  // Close() began between the two checks: it waits for this call
    waiting_.fetch_sub(1);
    co_return co_await ex.Respond(
        503, kJson, ApiError(ErrorCode::kUnavailable, "the gateway is stopping"), headers);
  }
  // The statements block: hop to the dashboard's thread, then back to this connection's loop.
  // The call's time counts from here, waiting included; it is done with the thread (waiting_)
  // before it goes back, so that Close() never waits on an event loop that has stopped.
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(query_timeout_ms_);
  auto home = co_await asio::this_coro::executor;
  co_await asio::post(asio::bind_executor(pool_.get_executor(), asio::use_awaitable));
  Result<std::string> body = Document(name, *window, now, deadline);
  waiting_.fetch_sub(1);
  co_await asio::post(asio::bind_executor(home, asio::use_awaitable));
  if (!body) {
    co_return co_await ex.Respond(body.error().HttpStatus(), kJson,
                                  api::EncodeOpenAiError(body.error()), headers);
  }
  co_await ex.Respond(200, kJson, std::move(*body), headers);
}

}  // namespace hybridgate::dashboard
