// The rollout store in Redis (rollout/store.h): gateways on several hosts that share the limits'
// Redis. Per route, under "hybridgate:rollout:<route>:": a hash `state` (the row), a list
// `events` ("<id> <json>", the last kEventsKept) with its counter `eventid`, and a hash `counts`
// ("<epoch>|<replica>" -> bytes). The leases are the hashes "hybridgate:rollouts:leases"
// (name -> holder) and "hybridgate:rollouts:lease_expiry" (name -> unix ms). Every
// read-modify-write is one Lua script, so it is atomic on the server. A blocking hiredis
// connection per Store, with a timeout, re-opened after a failure.
#include <fmt/format.h>
#include <hiredis/hiredis.h>

#include <boost/json.hpp>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "limits/limits_config.h"
#include "rollout/store.h"

namespace hybridgate::rollout {

namespace {

namespace json = boost::json;

constexpr int kEventsKept = 1000;  // per route
constexpr int kTimeoutMs = 1000;   // per round trip: a hung server is an unreadable store

// ARGV: expected version ("0": no row), expected candidate ("" for any), then field/value pairs.
constexpr const char* kWriteScript = R"lua(
local v = redis.call('HGET', KEYS[1], 'version')
if (v or '0') ~= ARGV[1] then return 0 end
if ARGV[2] ~= '' and redis.call('HGET', KEYS[1], 'candidate') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
return 1
)lua";

// KEYS: events list, id counter. ARGV: the event's JSON, how many to keep.
constexpr const char* kEventScript = R"lua(
local id = redis.call('INCR', KEYS[2])
redis.call('RPUSH', KEYS[1], id .. ' ' .. ARGV[1])
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[2]), -1)
return id
)lua";

// KEYS: counts hash. ARGV: epoch, replica, bytes.
constexpr const char* kCountsScript = R"lua(
redis.call('HSET', KEYS[1], ARGV[1] .. '|' .. ARGV[2], ARGV[3])
local epoch = tonumber(ARGV[1])
for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
  local e = tonumber(string.match(f, '^(%d+)|'))
  if e == nil or e < epoch then redis.call('HDEL', KEYS[1], f) end
end
return 1
)lua";

// KEYS: holders, expiries. ARGV: name, replica, expires, now.
constexpr const char* kLeaseScript = R"lua(
local holder = redis.call('HGET', KEYS[1], ARGV[1])
local expires = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if holder and holder ~= ARGV[2] and expires >= tonumber(ARGV[4]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
return 1
)lua";

// KEYS: holders, expiries. ARGV: replica.
constexpr const char* kReleaseScript = R"lua(
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  if all[i + 1] == ARGV[1] then
    redis.call('HDEL', KEYS[1], all[i])
    redis.call('HDEL', KEYS[2], all[i])
  end
end
return 1
)lua";

constexpr std::string_view kLeases = "hybridgate:rollouts:leases";
constexpr std::string_view kLeaseExpiry = "hybridgate:rollouts:lease_expiry";

std::string Key(const std::string& route, std::string_view what) {
  return fmt::format("hybridgate:rollout:{}:{}", route, what);
}

struct FreeReply {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, FreeReply>;

class RedisStore final : public Store {
 public:
  explicit RedisStore(limits::RedisAddress address) : address_(std::move(address)) {}
  ~RedisStore() override {
    if (ctx_) redisFree(ctx_);
  }

  Status Connect() {
    if (ctx_ && ctx_->err == 0) return {};
    if (ctx_) redisFree(ctx_);
    const timeval tv{kTimeoutMs / 1000, (kTimeoutMs % 1000) * 1000};
    ctx_ = redisConnectWithTimeout(address_.host.c_str(), address_.port, tv);
    if (ctx_ == nullptr || ctx_->err != 0) return Fail(Err("cannot connect"));
    redisSetTimeout(ctx_, tv);
    if (!address_.password.empty()) {
      std::vector<std::string> auth = {"AUTH"};
      if (!address_.user.empty()) auth.push_back(address_.user);
      auth.push_back(address_.password);
      auto r = Call(auth);
      if (!r) return Fail(std::move(r.error()));
    }
    if (address_.db != 0) {
      auto r = Call({"SELECT", std::to_string(address_.db)});
      if (!r) return Fail(std::move(r.error()));
    }
    return {};
  }

 private:
  Error Err(std::string_view what) const {
    return MakeError(ErrorCode::kUnavailable,
                     fmt::format("rollout store: redis {}:{}: {}: {}", address_.host, address_.port,
                                 what, ctx_ ? ctx_->errstr : "out of memory"));
  }

  // One command on the current connection; an error reply is an error.
  Result<Reply> Call(const std::vector<std::string>& argv) {
    std::vector<const char*> args;
    std::vector<size_t> lengths;
    for (const std::string& a : argv) {
      args.push_back(a.data());
      lengths.push_back(a.size());
    }
    Reply r(static_cast<redisReply*>(
        redisCommandArgv(ctx_, static_cast<int>(args.size()), args.data(), lengths.data())));
    if (!r) {
      Error e = Err(argv.front());
      redisFree(ctx_);
      ctx_ = nullptr;
      return Fail(std::move(e));
    }
    if (r->type == REDIS_REPLY_ERROR) {
      return Fail(MakeError(ErrorCode::kUnavailable,
                            fmt::format("rollout store: redis: {}: {}", argv.front(),
                                        std::string_view(r->str, r->len))));
    }
    return r;
  }

  Result<Reply> Command(const std::vector<std::string>& argv) {
    HG_TRY(Connect());
    return Call(argv);
  }

  // EVAL of `script` with `keys` and `args`.
  Result<Reply> Eval(const char* script, std::vector<std::string> keys,
                     const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"EVAL", script, std::to_string(keys.size())};
    argv.insert(argv.end(), keys.begin(), keys.end());
    argv.insert(argv.end(), args.begin(), args.end());
    return Command(argv);
  }

  static std::string_view Str(const redisReply* r) {
    return r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS
               ? std::string_view(r->str, r->len)
               : std::string_view();
  }
  static int64_t ToInt(std::string_view s) {
    return std::strtoll(std::string(s).c_str(), nullptr, 10);
  }

  Result<bool> DoRead(const std::string& route, State& out) override {
    auto r = Command({"HGETALL", Key(route, "state")});
    if (!r) return Fail(std::move(r.error()));
    const redisReply* a = r->get();
    if (a->type != REDIS_REPLY_ARRAY || a->elements == 0) return false;
    out = State{.route = route};
    bool has_phase = false;
    for (size_t i = 0; i + 1 < a->elements; i += 2) {
      const std::string_view k = Str(a->element[i]), v = Str(a->element[i + 1]);
      if (k == "candidate") out.candidate = v;
      if (k == "phase") {
        const auto phase = ParsePhase(v);
        if (!phase) {
          return Fail(
              MakeError(ErrorCode::kInternal, fmt::format("rollout store: unknown phase '{}'", v)));
        }
        out.phase = *phase;
        has_phase = true;
      }
      if (k == "stage") out.stage = static_cast<int>(ToInt(v));
      if (k == "stage_started_ms") out.stage_started_ms = ToInt(v);
      if (k == "epoch") out.epoch = ToInt(v);
      if (k == "reason") out.reason = v;
      if (k == "baseline_p95_ms")
        out.baseline_p95_ms = std::strtod(std::string(v).c_str(), nullptr);
      if (k == "version") out.version = ToInt(v);
      if (k == "updated_ms") out.updated_ms = ToInt(v);
      if (k == "report") out.report_json = v;
      if (k == "stages") out.stages = SplitStages(v);
      if (k == "incumbent") out.incumbent = v;
    }
    if (!has_phase) {
      return Fail(MakeError(ErrorCode::kInternal,
                            "rollout store: " + Key(route, "state") + " is not a rollout"));
    }
    return true;
  }

  Result<bool> DoWrite(const State& s, int64_t expected, const std::string& candidate) override {
    auto r = Eval(kWriteScript, {Key(s.route, "state")},
                  {std::to_string(expected),
                   candidate,
                   "candidate",
                   s.candidate,
                   "phase",
                   std::string(PhaseName(s.phase)),
                   "stage",
                   std::to_string(s.stage),
                   "stage_started_ms",
                   std::to_string(s.stage_started_ms),
                   "epoch",
                   std::to_string(s.epoch),
                   "reason",
                   s.reason,
                   "baseline_p95_ms",
                   fmt::format("{:.17g}", s.baseline_p95_ms),
                   "version",
                   std::to_string(s.version),
                   "updated_ms",
                   std::to_string(s.updated_ms),
                   "report",
                   s.report_json,
                   "stages",
                   JoinStages(s.stages),
                   "incumbent",
                   s.incumbent});
    if (!r) return Fail(std::move(r.error()));
    return (*r)->type == REDIS_REPLY_INTEGER && (*r)->integer == 1;
  }

  Status DoAddEvent(const Event& e) override {
    const std::string body = json::serialize(json::object{{"time_ms", e.time_ms},
                                                          {"route", e.route},
                                                          {"candidate", e.candidate},
                                                          {"from", e.from},
                                                          {"to", e.to},
                                                          {"reason", e.reason},
                                                          {"actor", e.actor}});
    auto r = Eval(kEventScript, {Key(e.route, "events"), Key(e.route, "eventid")},
                  {body, std::to_string(kEventsKept)});
    if (!r) return Fail(std::move(r.error()));
    return {};
  }

  // The route's kept events, oldest first.
  Result<std::vector<Event>> All(const std::string& route) {
    auto r = Command({"LRANGE", Key(route, "events"), "0", "-1"});
    if (!r) return Fail(std::move(r.error()));
    std::vector<Event> out;
    for (size_t i = 0; i < (*r)->elements; ++i) {
      const std::string_view line = Str((*r)->element[i]);
      const size_t space = line.find(' ');
      boost::system::error_code ec;
      const json::value v = json::parse(line.substr(space + 1), ec);
      if (space == std::string_view::npos || ec || !v.is_object()) continue;
      const json::object& o = v.as_object();
      const auto text = [&](std::string_view k) {
        const json::value* f = o.if_contains(k);
        return f && f->is_string() ? std::string(f->as_string()) : std::string();
      };
      const json::value* t = o.if_contains("time_ms");
      out.push_back({.id = ToInt(line.substr(0, space)),
                     .time_ms = t && t->is_int64() ? t->as_int64() : 0,
                     .route = text("route"),
                     .candidate = text("candidate"),
                     .from = text("from"),
                     .to = text("to"),
                     .reason = text("reason"),
                     .actor = text("actor")});
    }
    return out;
  }

  Result<std::vector<Event>> DoEvents(const std::string& route, const std::string& candidate,
                                      int limit) override {
    auto all = All(route);
    if (!all) return all;
    std::vector<Event> out;
    for (auto it = all->rbegin(); it != all->rend() && static_cast<int>(out.size()) < limit; ++it) {
      if (candidate.empty() || it->candidate == candidate) out.push_back(std::move(*it));
    }
    return out;
  }

  Result<std::vector<Event>> DoEventsAfter(const std::string& route, int64_t after_id, int limit,
                                           int64_t* last_id) override {
    if (after_id < 0) {
      auto r = Command({"GET", Key(route, "eventid")});
      if (!r) return Fail(std::move(r.error()));
      *last_id = ToInt(Str(r->get()));
      return std::vector<Event>();
    }
    auto all = All(route);
    if (!all) return all;
    std::vector<Event> out;
    for (Event& e : *all) {
      if (e.id > after_id && static_cast<int>(out.size()) < limit) out.push_back(std::move(e));
    }
    *last_id = out.empty() ? after_id : out.back().id;
    return out;
  }

  Status DoPutCounts(const std::string& route, int64_t epoch, const std::string& replica,
                     const std::string& encoded, int64_t /*now_ms*/) override {
    auto r = Eval(kCountsScript, {Key(route, "counts")}, {std::to_string(epoch), replica, encoded});
    if (!r) return Fail(std::move(r.error()));
    return {};
  }

  Result<std::vector<std::string>> DoCounts(const std::string& route, int64_t epoch) override {
    auto r = Command({"HGETALL", Key(route, "counts")});
    if (!r) return Fail(std::move(r.error()));
    const std::string prefix = std::to_string(epoch) + "|";
    std::vector<std::string> out;
    for (size_t i = 0; i + 1 < (*r)->elements; i += 2) {
      if (Str((*r)->element[i]).starts_with(prefix)) out.emplace_back(Str((*r)->element[i + 1]));
    }
    return out;
  }

  Result<bool> DoLease(const std::string& name, const std::string& replica, int64_t expires_ms,
                       int64_t now_ms) override {
    auto r = Eval(kLeaseScript, {std::string(kLeases), std::string(kLeaseExpiry)},
                  {name, replica, std::to_string(expires_ms), std::to_string(now_ms)});
    if (!r) return Fail(std::move(r.error()));
    return (*r)->type == REDIS_REPLY_INTEGER && (*r)->integer == 1;
  }

  void DoReleaseLeases(const std::string& replica) override {
    (void)Eval(kReleaseScript, {std::string(kLeases), std::string(kLeaseExpiry)}, {replica});
  }

  limits::RedisAddress address_;
  redisContext* ctx_ = nullptr;
};

}  // namespace

Result<std::unique_ptr<Store>> OpenRedisStore(const std::string& url) {
  auto address = limits::ParseRedisUrl(url);
  if (!address) return Fail(std::move(address.error()));
  auto store = std::make_unique<RedisStore>(std::move(*address));
  HG_TRY(store->Connect());
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace hybridgate::rollout
