#include "rollout/cli.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>

#include "common/clock.h"
#include "common/json_writer.h"

namespace hybridgate::rollout {

namespace {

constexpr int kBadInput = 2;

const routing::Route* FindRollout(const config::Config& config, std::string_view route) {
  for (const routing::Route& r : config.routes.routes) {
    if (r.name == route && r.rollout) return &r;
  }
  return nullptr;
}

Error NoRollout(const config::Config& config, std::string_view route) {
  std::string names;
  for (const routing::Route& r : config.routes.routes) {
    if (r.rollout) names += (names.empty() ? "" : ", ") + r.name;
  }
  return MakeError(ErrorCode::kNotFound,
                   fmt::format("route '{}' has no rollout in {} (routes with one: {})", route,
                               config.source, names.empty() ? "none" : names));
}

// One rollout as the store has it (read-only): its row, if any — possibly of another candidate
// than the config's — and its latest events.
struct View {
  const routing::Route* route = nullptr;
  std::optional<State> stored;
  std::vector<Event> events;
  bool other_candidate() const { return stored && stored->candidate != route->rollout->candidate; }
};

Result<View> ReadView(Store& store, const routing::Route& r) {
  View v{.route = &r};
  auto stored = store.Peek(r.name);
  if (!stored) return Fail(std::move(stored.error()));
  v.stored = std::move(*stored);
  auto events = store.Events(r.name, v.stored ? v.stored->candidate : r.rollout->candidate, 10);
  if (!events) return Fail(std::move(events.error()));
  v.events = std::move(*events);
  return v;
}

void WriteRollout(JsonWriter& w, const View& v) {
  const routing::RolloutConfig& c = *v.route->rollout;
  const State s = v.stored.value_or(State{.reason = "not started: no gateway has run it yet"});
  w.BeginObject()
      .Field("route", v.route->name)
      .Field("candidate", v.stored ? s.candidate : c.candidate)
      // What the stored stage measures against (the config's until the controller records it).
      .Field("incumbent", v.stored && !s.incumbent.empty() ? s.incumbent : c.incumbent)
      .Field("phase", v.stored ? PhaseName(s.phase) : "not_started")
      .Field("share_percent", SharePercent(c, s))
      .Field("stage", s.stage + 1)
      .Field("stages", static_cast<int64_t>(c.stages.size()))
      .Field("stage_started_ms", s.stage_started_ms)
      .Field("reason", s.reason)
      .Field("updated_ms", s.updated_ms);
  if (v.other_candidate()) {
    w.Field("config_candidate", c.candidate)
        .Field("note", fmt::format("the store holds the rollout of '{}'; '{}' starts once it is "
                                   "complete or rolled back",
                                   s.candidate, c.candidate));
  }
  w.Key("evaluation");
  if (s.report_json.empty()) {
    w.Null();
  } else {
    w.Raw(s.report_json);
  }
  w.Key("events").BeginArray();
  for (const Event& e : v.events) {
    w.BeginObject()
        .Field("time_ms", e.time_ms)
        .Field("from", e.from)
        .Field("to", e.to)
        .Field("reason", e.reason)
        .Field("actor", e.actor)
        .EndObject();
  }
  w.EndArray().EndObject();
}

std::string Percent(const boost::json::value& v) {
  return fmt::format("{:.1f}%", v.is_number() ? v.to_number<double>() * 100 : 0.0);
}

std::string UtcTime(int64_t ms) {
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// The table view: one block per rollout — its state, each gate of the last evaluation, the
// latest events.
void PrintTable(const View& v) {
  const routing::RolloutConfig& c = *v.route->rollout;
  if (!v.stored) {
    std::cout << fmt::format("{}: {} replacing {}: not started (no gateway has run it yet)\n",
                             v.route->name, c.candidate, c.incumbent);
    return;
  }
  const State& s = *v.stored;
  std::cout << fmt::format("{}: {} replacing {}: {} (stage {}/{}, {}% of eligible traffic)\n",
                           v.route->name, s.candidate, c.incumbent, PhaseName(s.phase), s.stage + 1,
                           c.stages.size(), SharePercent(c, s));
  if (v.other_candidate()) {
    std::cout << fmt::format(
        "  note: this config's candidate '{}' starts once it is complete or "
        "rolled back\n",
        c.candidate);
  }
  std::cout << fmt::format("  why: {}\n", s.reason);
  boost::system::error_code ec;
  const boost::json::value report = boost::json::parse(s.report_json, ec);
  if (!ec && report.is_object()) {
    const boost::json::object& o = report.as_object();
    if (const auto* why = o.if_contains("why"); why && why->is_string()) {
      std::cout << fmt::format("  last evaluation: {}\n", std::string(why->as_string()));
    }
    if (const auto* gates = o.if_contains("gates"); gates && gates->is_array()) {
      for (const boost::json::value& g : gates->as_array()) {
        if (!g.is_object()) continue;
        const boost::json::object& go = g.as_object();
        const std::string name = go.contains("name") && go.at("name").is_string()
                                     ? std::string(go.at("name").as_string())
                                     : "?";
        const bool ratio = name == "p95_latency_ratio";
        auto num = [&](const char* k) {
          return go.contains(k) && go.at(k).is_number() ? go.at(k).to_number<double>() : 0.0;
        };
        const std::string value = ratio
                                      ? fmt::format("{:.2f}", num("value"))
                                      : fmt::format("{} (95% {} to {})", Percent(go.at("value")),
                                                    Percent(go.at("low")), Percent(go.at("high")));
        const std::string limit =
            ratio ? fmt::format("{:.2f}", num("limit")) : Percent(go.at("limit"));
        const bool known =
            go.contains("known") && go.at("known").is_bool() && go.at("known").as_bool();
        const bool failed =
            go.contains("failed") && go.at("failed").is_bool() && go.at("failed").as_bool();
        const bool holds =
            go.contains("holds") && go.at("holds").is_bool() && go.at("holds").as_bool();
        std::cout << fmt::format("  gate {}: {} limit {} over {} samples: {}\n", name,
                                 known ? value : "-", limit, static_cast<int64_t>(num("samples")),
                                 failed  ? "FAILED"
                                 : holds ? "holds"
                                 : known ? "over the limit"
                                         : "not enough evidence");
      }
    }
  }
  for (const Event& e : v.events) {
    std::cout << fmt::format("  {} {} -> {} ({}): {}\n", UtcTime(e.time_ms), e.from, e.to, e.actor,
                             e.reason);
  }
}

// A person's reason: printable UTF-8, at most 1000 bytes (it is shown in every status and
// terminal): no control characters (C0, DEL, C1) and no bidirectional overrides or isolates,
// which would make the text read other than it is.
Status CheckReason(std::string_view reason) {
  const auto refuse = [](std::string_view why) {
    return Fail(MakeError(ErrorCode::kInvalidRequest, std::string(why), "reason"));
  };
  if (reason.size() > 1000) {
    return refuse(fmt::format("the reason is {} bytes; at most 1000", reason.size()));
  }
  for (size_t i = 0; i < reason.size();) {
    const auto b = static_cast<unsigned char>(reason[i]);
    const int len = b < 0x80           ? 1
                    : (b >> 5) == 0x6  ? 2
                    : (b >> 4) == 0xe  ? 3
                    : (b >> 3) == 0x1e ? 4
                                       : 0;
    if (len == 0 || i + len > reason.size()) return refuse("the reason is not UTF-8");
    uint32_t cp = len == 1 ? b : b & (0x7f >> len);
    for (int k = 1; k < len; ++k) {
      const auto c = static_cast<unsigned char>(reason[i + k]);
      if ((c & 0xc0) != 0x80) return refuse("the reason is not UTF-8");
      cp = (cp << 6) | (c & 0x3f);
    }
    static constexpr uint32_t kLeast[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kLeast[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return refuse("the reason is not UTF-8");
    }
    if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) {
      return refuse("the reason may not hold control characters (newlines included)");
    }
    if ((cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069)) {
      return refuse("the reason may not hold bidirectional overrides or isolates");
    }
    i += len;
  }
  return {};
}

// Loads the config and opens its rollout store; false (said on stderr, exit code set) when either
// fails.
bool Open(const std::string& path, std::optional<config::Config>& cfg,
          std::unique_ptr<Store>& store, int& exit_code, bool only_read) {
  auto loaded = config::LoadConfig(path, /*check_licences=*/false);
  if (!loaded) {
    std::cerr << loaded.error().message << "\n";
    exit_code = kBadInput;
    return false;
  }
  cfg = std::move(*loaded);
  StoreConfig where = ResolveStoreConfig(*cfg);
  // Reading creates nothing: a SQLite store not there yet reads as an empty one.
  if (only_read && where.backend == "sqlite" && !std::filesystem::exists(where.path)) {
    where.path = ":memory:";
  }
  auto opened = Store::Open(where);
  if (!opened) {
    std::cerr << opened.error().message << "\n";
    exit_code = 1;
    return false;
  }
  store = std::move(*opened);
  return true;
}

}  // namespace

Result<std::string> StatusJson(Store& store, const config::Config& config, std::string_view route,
                               int64_t /*now_ms*/) {
  if (!route.empty() && !FindRollout(config, route)) return Fail(NoRollout(config, route));
  std::string out;
  JsonWriter w(out);
  w.BeginObject().Key("rollouts").BeginArray();
  for (const routing::Route& r : config.routes.routes) {
    if (!r.rollout || (!route.empty() && r.name != route)) continue;
    auto v = ReadView(store, r);
    if (!v) return Fail(std::move(v.error()));
    WriteRollout(w, *v);
  }
  w.EndArray().EndObject();
  return out;
}

Result<State> RunCommand(Store& store, const config::Config& config, std::string_view route,
                         Command command, std::string reason, std::string_view actor,
                         int64_t now_ms) {
  const routing::Route* r = FindRollout(config, route);
  if (!r) return Fail(NoRollout(config, route));
  HG_TRY(CheckReason(reason));
  for (int tries = 0; tries < 20; ++tries) {
    auto got = store.Get(r->name, *r->rollout, now_ms);
    if (!got) return Fail(std::move(got.error()));
    State s = *got;
    if (s.candidate != r->rollout->candidate) {
      return Fail(MakeError(
          ErrorCode::kInvalidRequest,
          fmt::format("the store holds route '{}''s rollout of '{}' ({}), not of '{}': it starts "
                      "once that one is complete or rolled back (with a config that names '{}', "
                      "or /admin/rollouts on a gateway that runs it)",
                      r->name, s.candidate, PhaseName(s.phase), r->rollout->candidate,
                      s.candidate)));
    }
    const std::string from = Describe(*r->rollout, s);
    if (command == Command::kPromote && (s.phase == Phase::kRunning || s.phase == Phase::kPaused)) {
      // The stage's counts as the replicas last wrote them (up to a second old).
      auto counts = store.SumCounts(r->name, s.epoch);
      if (!counts) return Fail(std::move(counts.error()));
      KeepIncumbentBaseline(s, *counts);
    }
    HG_TRY(Apply(*r->rollout, s, command, now_ms, reason));
    s.updated_ms = now_ms;
    auto put = store.Put(s);
    if (!put) return Fail(std::move(put.error()));
    if (!*put) continue;  // the controller wrote in between: read again
    HG_TRY(store.AddEvent({.time_ms = now_ms,
                           .route = r->name,
                           .candidate = r->rollout->candidate,
                           .from = from,
                           .to = Describe(*r->rollout, s),
                           .reason = std::move(reason),
                           .actor = std::string(actor)}));
    return s;
  }
  return Fail(MakeError(ErrorCode::kUnavailable,
                        "the rollout store kept changing under the command; try again"));
}

void AddRolloutCommand(CLI::App& app, int& exit_code) {
  struct Options {
    std::string config, route, format = "table", reason;
  };
  auto opts = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("rollout", "Canary rollouts: status and a person's commands");
  cmd->require_subcommand(1);
  auto common = [&](CLI::App* sub, bool route_required) {
    sub->add_option("--config,-c", opts->config, "gateway config")->required();
    auto* route = sub->add_option("--route,-r", opts->route, "the route whose rollout");
    if (route_required) route->required();
  };
  CLI::App* status = cmd->add_subcommand("status", "State, share, gates and recent events");
  common(status, false);
  status->add_option("--format", opts->format, "table | json")
      ->check(CLI::IsMember({"table", "json"}));
  status->callback([opts, &exit_code] {
    std::optional<config::Config> cfg;
    std::unique_ptr<Store> store;
    if (!Open(opts->config, cfg, store, exit_code, /*only_read=*/true)) return;
    auto json = StatusJson(*store, *cfg, opts->route, UnixMs());
    if (!json) {
      std::cerr << "rollout status: " << json.error().message << "\n";
      exit_code = json.error().code == ErrorCode::kNotFound ? kBadInput : 1;
      return;
    }
    if (opts->format == "json") {
      std::cout << *json << "\n";
    } else {
      bool any = false;
      for (const routing::Route& r : cfg->routes.routes) {
        if (!r.rollout || (!opts->route.empty() && r.name != opts->route)) continue;
        any = true;
        if (auto v = ReadView(*store, r)) PrintTable(*v);
      }
      if (!any) std::cout << fmt::format("no route of {} has a rollout\n", cfg->source);
    }
    exit_code = 0;
  });
  for (const char* name : {"promote", "pause", "resume", "rollback"}) {
    const std::string help =
        std::string(name) == "promote"  ? "Move to the next stage now (gates aside)"
        : std::string(name) == "pause"  ? "Hold the current stage (no promotion)"
        : std::string(name) == "resume" ? "Go on after a pause; restart after a rollback"
                                        : "Send every eligible request to the incumbent";
    CLI::App* sub = cmd->add_subcommand(name, help);
    common(sub, true);
    sub->add_option("--reason", opts->reason, "why (kept with the event)");
    sub->callback([opts, &exit_code, command = *ParseCommand(name), name = std::string(name)] {
      std::optional<config::Config> cfg;
      std::unique_ptr<Store> store;
      if (!Open(opts->config, cfg, store, exit_code, /*only_read=*/false)) return;
      const std::string reason = opts->reason.empty()
                                     ? fmt::format("{} by hand (hybridgate rollout)", name)
                                     : opts->reason;
      auto s = RunCommand(*store, *cfg, opts->route, command, reason, "cli", UnixMs());
      if (!s) {
        std::cerr << "rollout " << name << ": " << s.error().message << "\n";
        exit_code = s.error().code == ErrorCode::kUnavailable ? 1 : kBadInput;
        return;
      }
      const routing::Route* r = FindRollout(*cfg, opts->route);
      std::cout << fmt::format("{}: {}\n", opts->route, Describe(*r->rollout, *s));
      exit_code = 0;
    });
  }
}

}  // namespace hybridgate::rollout
