#include "limits/redis_limiter.h"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include <boost/asio/execution/context.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/this_coro.hpp>
#include <charconv>

namespace hybridgate::limits {
namespace {

// Bucket state is a hash {tokens, ts} refilled lazily with Redis's own clock (TIME), so replicas
// with skewed clocks still share one bucket. Budget spends are integer micro-dollars.
// KEYS: rpm bucket, tpm bucket, key spend, team spend.
// ARGV: rpm, tpm, estimated tokens, key budget micro-USD (-1 none), team budget (-1 none),
// reserved micro-USD (added to the spends that have a budget when admitted), key spend TTL s,
// team spend TTL s.
// Returns {verdict, retry_ms, spent, rpm_remaining, rpm_reset_ms, tpm_remaining, tpm_reset_ms};
// verdict 0 allowed, 1 rpm, 2 tpm, 3 key budget, 4 team budget (as Verdict in limiter.h).
constexpr const char* kAdmitScript = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rpm, tpm, est = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local kb, tb = tonumber(ARGV[4]), tonumber(ARGV[5])
local hold, kttl, tttl = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local function level(key, cap)
  local v = redis.call('HMGET', key, 'tokens', 'ts')
  local tokens, ts = tonumber(v[1]), tonumber(v[2])
  if tokens == nil or ts == nil then return cap end
  local elapsed = now - ts
  if elapsed < 0 then elapsed = 0 end
  tokens = tokens + elapsed * cap / 60000
  if tokens > cap then tokens = cap end
  return tokens
end
local function ms_until(tokens, need, cap)
  if cap <= 0 or tokens >= need then return 0 end
  return math.ceil((need - tokens) * 60000 / cap)
end
local function store(key, tokens, cap)
  redis.call('HSET', key, 'tokens', tostring(tokens), 'ts', now)
  redis.call('PEXPIRE', key, ms_until(tokens, cap, cap) + 60000)
end
local r, k = 0, 0
if rpm > 0 then r = level(KEYS[1], rpm) end
if tpm > 0 then k = level(KEYS[2], tpm) end
local function reply(verdict, retry, spent)
  return {verdict, retry, spent, math.floor(r), ms_until(r, rpm, rpm), math.floor(k),
          ms_until(k, tpm, tpm)}
end
if kb >= 0 then
  local spent = tonumber(redis.call('GET', KEYS[3]) or '0')
  if spent >= kb then return reply(3, 0, spent) end
end
if tb >= 0 then
  local spent = tonumber(redis.call('GET', KEYS[4]) or '0')
  if spent >= tb then return reply(4, 0, spent) end
end
if rpm > 0 and r < 1 then return reply(1, ms_until(r, 1, rpm), 0) end
local need = math.min(est, tpm)
if tpm > 0 and k < need then return reply(2, ms_until(k, need, tpm), 0) end
if rpm > 0 then
  r = r - 1
  store(KEYS[1], r, rpm)
end
if tpm > 0 then
  k = k - est
  store(KEYS[2], k, tpm)
end
if hold > 0 then
  if kb >= 0 then
    redis.call('INCRBY', KEYS[3], hold)
    redis.call('EXPIRE', KEYS[3], kttl)
  end
  if tb >= 0 then
    redis.call('INCRBY', KEYS[4], hold)
    redis.call('EXPIRE', KEYS[4], tttl)
  end
end
return reply(0, 0, 0)
)lua";

// KEYS: tpm bucket, key spend, team spend.
// ARGV: tpm, token correction (actual - estimated), spend correction micro-USD (cost - reserved;
// may be negative, a spend never goes below 0), key spend TTL s (0 = no key budget), team spend
// TTL s (0 = no team budget).
constexpr const char* kSettleScript = R"lua(
local tpm, delta, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local kttl, tttl = tonumber(ARGV[4]), tonumber(ARGV[5])
if tpm > 0 and delta ~= 0 then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local v = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
  local tokens, ts = tonumber(v[1]), tonumber(v[2])
  if tokens == nil or ts == nil then tokens, ts = tpm, now end
  local elapsed = now - ts
  if elapsed < 0 then elapsed = 0 end
  tokens = math.min(tpm, tokens + elapsed * tpm / 60000) - delta
  if tokens > tpm then tokens = tpm end
  redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', now)
  local debt = 0
  if tokens < tpm then debt = math.ceil((tpm - tokens) * 60000 / tpm) end
  redis.call('PEXPIRE', KEYS[1], debt + 60000)
end
local function spend(key, ttl)
  if redis.call('INCRBY', key, cost) < 0 then redis.call('SET', key, 0) end
  redis.call('EXPIRE', key, ttl)
end
if cost ~= 0 then
  if kttl > 0 then spend(KEYS[2], kttl) end
  if tttl > 0 then spend(KEYS[3], tttl) end
end
return 1
)lua";

std::string Sha1Hex(std::string_view text) {
  unsigned char d[20];
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), d, &len, EVP_sha1(), nullptr);
  return fmt::format("{:02x}", fmt::join(d, d + len, ""));
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Seconds until the window ends, plus a day of slack for clocks and late settles.
int64_t SpendTtl(const std::optional<Budget>& b, WallTime now) {
  if (!b) return 0;
  return std::chrono::duration_cast<std::chrono::seconds>(WindowEnd(b->window, now) - now).count() +
         86'400;
}

}  // namespace

RedisLimiter::RedisLimiter(RedisLimiterOptions options)
    : options_(std::move(options)),
      admit_{kAdmitScript, Sha1Hex(kAdmitScript)},
      settle_{kSettleScript, Sha1Hex(kSettleScript)} {}

RedisLimiter::~RedisLimiter() = default;

asio::awaitable<std::shared_ptr<RedisConnection>> RedisLimiter::WorkerConnection() {
  auto executor = co_await asio::this_coro::executor;
  const asio::execution_context* context = &asio::query(executor, asio::execution::context);
  std::lock_guard lock(mu_);
  auto& c = connections_[context];
  if (!c) {
    c = std::make_shared<RedisConnection>(executor, options_.address, options_.reconnect_backoff);
  }
  co_return c;
}

asio::awaitable<Result<RedisValue>> RedisLimiter::Eval(const Script& script,
                                                       std::vector<std::string> keys,
                                                       std::vector<std::string> args) {
  std::shared_ptr<RedisConnection> conn = co_await WorkerConnection();
  std::vector<std::string> argv{"EVALSHA", script.sha1, std::to_string(keys.size())};
  for (auto& k : keys) argv.push_back(std::move(k));
  for (auto& a : args) argv.push_back(std::move(a));
  auto r = co_await conn->Command(argv, options_.timeout);
  if (r && r->type == RedisValue::Type::kError && r->str.starts_with("NOSCRIPT")) {
    argv[0] = "EVAL";  // first use on this server (or after a restart / SCRIPT FLUSH)
    argv[1] = script.body;
    r = co_await conn->Command(std::move(argv), options_.timeout);
  }
  if (r && r->type == RedisValue::Type::kError) {
    co_return Fail(MakeError(
        ErrorCode::kUnavailable,
        fmt::format("redis {}:{}: {}", options_.address.host, options_.address.port, r->str)));
  }
  co_return r;
}

void RedisLimiter::CountError(const Error& error, std::string_view operation) {
  const uint64_t total = errors_.fetch_add(1, std::memory_order_relaxed) + 1;
  const int64_t now = NowMs();
  int64_t last = last_log_ms_.load(std::memory_order_relaxed);
  if (last != 0 && now - last < options_.log_interval.count()) return;
  if (!last_log_ms_.compare_exchange_strong(last, now, std::memory_order_relaxed)) return;
  const uint64_t since = total - errors_logged_.exchange(total, std::memory_order_relaxed);
  spdlog::warn("limits: {} failed: {}; {} ({} redis errors since the last warning, {} in all)",
               operation, error.message,
               options_.fail_open ? "admitting requests without limits (on_redis_error: open)"
                                  : "refusing requests with 503 (on_redis_error: closed)",
               since, total);
}

std::string RedisLimiter::KeySpendKey(const KeyInfo& key, WallTime now) const {
  if (!key.budget) return options_.key_prefix + "budget:key:" + key.id + ":none";
  return fmt::format("{}budget:key:{}:{}", options_.key_prefix, key.id,
                     WindowId(key.budget->window, now));
}

std::string RedisLimiter::TeamSpendKey(const KeyInfo& key, WallTime now) const {
  if (!key.team_budget) return options_.key_prefix + "budget:team:" + key.team + ":none";
  return fmt::format("{}budget:team:{}:{}", options_.key_prefix, key.team,
                     WindowId(key.team_budget->window, now));
}

asio::awaitable<Decision> RedisLimiter::Admit(const KeyInfo& key, Reservation hold) {
  const int64_t estimated_tokens = std::max<int64_t>(0, hold.tokens);
  if (key.rpm <= 0 && key.tpm <= 0 && !key.budget && !key.team_budget) co_return Decision{};
  const WallTime now = options_.clock();
  // Named vectors, not braced lists inside co_await: GCC 12 miscompiles the latter.
  std::vector<std::string> keys{options_.key_prefix + "rpm:" + key.id,
                                options_.key_prefix + "tpm:" + key.id, KeySpendKey(key, now),
                                TeamSpendKey(key, now)};
  std::vector<std::string> args{
      std::to_string(key.rpm),
      std::to_string(key.tpm),
      std::to_string(estimated_tokens),
      std::to_string(key.budget ? ToMicroUsd(key.budget->usd) : -1),
      std::to_string(key.team_budget ? ToMicroUsd(key.team_budget->usd) : -1),
      std::to_string(std::max<int64_t>(0, hold.micro_usd)),
      std::to_string(SpendTtl(key.budget, now)),
      std::to_string(SpendTtl(key.team_budget, now))};
  auto r = co_await Eval(admit_, std::move(keys), std::move(args));
  if (r && (r->type != RedisValue::Type::kArray || r->elements.size() != 7)) {
    r = Fail(MakeError(ErrorCode::kInternal, "redis: unexpected reply to the admit script"));
  }
  if (!r) {
    CountError(r.error(), "admit");
    if (options_.fail_open) co_return Decision{};
    Decision d;
    d.allowed = false;
    d.error = MakeError(
        ErrorCode::kUnavailable,
        fmt::format("rate limits cannot be checked ({}); try again shortly", r.error().message));
    co_return d;
  }
  const auto& e = r->elements;
  AdmitOutcome o;
  o.verdict = static_cast<Verdict>(std::clamp<int64_t>(e[0].integer, 0, 4));
  o.retry_ms = e[1].integer;
  o.spent_micro = e[2].integer;
  o.rpm_remaining = e[3].integer;
  o.rpm_reset_ms = e[4].integer;
  o.tpm_remaining = e[5].integer;
  o.tpm_reset_ms = e[6].integer;
  co_return MakeDecision(key, estimated_tokens, o, now);
}

asio::awaitable<void> RedisLimiter::Settle(const KeyInfo& key, Reservation held,
                                           int64_t actual_tokens, double cost_usd) {
  const int64_t delta = std::max<int64_t>(0, actual_tokens) - std::max<int64_t>(0, held.tokens);
  const int64_t micro =
      (cost_usd > 0 ? ToMicroUsd(cost_usd) : 0) - std::max<int64_t>(0, held.micro_usd);
  if ((key.tpm <= 0 || delta == 0) && (micro == 0 || (!key.budget && !key.team_budget))) {
    co_return;
  }
  const WallTime now = options_.clock();
  std::vector<std::string> keys{options_.key_prefix + "tpm:" + key.id, KeySpendKey(key, now),
                                TeamSpendKey(key, now)};
  std::vector<std::string> args{std::to_string(key.tpm), std::to_string(delta),
                                std::to_string(micro), std::to_string(SpendTtl(key.budget, now)),
                                std::to_string(SpendTtl(key.team_budget, now))};
  auto r = co_await Eval(settle_, std::move(keys), std::move(args));
  if (!r) CountError(r.error(), "settle (spend not recorded)");
}

asio::awaitable<Result<double>> RedisLimiter::Spend(std::string key) {
  std::shared_ptr<RedisConnection> conn = co_await WorkerConnection();
  std::vector<std::string> argv{"GET", std::move(key)};
  auto r = co_await conn->Command(std::move(argv), options_.timeout);
  if (!r) co_return Fail(r.error());
  if (r->type == RedisValue::Type::kNil) co_return 0.0;
  int64_t micro = 0;
  std::from_chars(r->str.data(), r->str.data() + r->str.size(), micro);
  co_return FromMicroUsd(micro);
}

asio::awaitable<Result<double>> RedisLimiter::KeySpendUsd(const KeyInfo& key) {
  if (!key.budget) co_return 0.0;
  co_return co_await Spend(KeySpendKey(key, options_.clock()));
}

asio::awaitable<Result<double>> RedisLimiter::TeamSpendUsd(const KeyInfo& key) {
  if (!key.team_budget) co_return 0.0;
  co_return co_await Spend(TeamSpendKey(key, options_.clock()));
}

}  // namespace hybridgate::limits
