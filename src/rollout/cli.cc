#include "rollout/cli.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>

#include "common/json_writer.h"

namespace hybridgate::rollout {

namespace {

constexpr int kBadInput = 2;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

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

void WriteRollout(JsonWriter& w, const routing::Route& r, const State& s,
                  const std::vector<Event>& events) {
  const routing::RolloutConfig& c = *r.rollout;
  w.BeginObject()
      .Field("route", r.name)
      .Field("candidate", c.candidate)
      .Field("incumbent", c.incumbent)
      .Field("phase", PhaseName(s.phase))
      .Field("share_percent", SharePercent(c, s))
      .Field("stage", s.stage + 1)
      .Field("stages", static_cast<int64_t>(c.stages.size()))
      .Field("stage_started_ms", s.stage_started_ms)
      .Field("reason", s.reason)
      .Field("updated_ms", s.updated_ms);
  w.Key("evaluation");
  if (s.report_json.empty()) {
    w.Null();
  } else {
    w.Raw(s.report_json);
  }
  w.Key("events").BeginArray();
  for (const Event& e : events) {
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

// The table view: one block per rollout.
void PrintTable(const config::Config& config, std::string_view only, Store& store, int64_t now) {
  for (const routing::Route& r : config.routes.routes) {
    if (!r.rollout || (!only.empty() && r.name != only)) continue;
    auto s = store.Get(r.name, *r.rollout, now);
    if (!s) continue;
    std::cout << fmt::format("{}: {} replacing {}: {} (stage {}/{}, {}% of eligible traffic)\n",
                             r.name, r.rollout->candidate, r.rollout->incumbent,
                             PhaseName(s->phase), s->stage + 1, r.rollout->stages.size(),
                             SharePercent(*r.rollout, *s));
    std::cout << fmt::format("  why: {}\n", s->reason);
    if (!s->report_json.empty())
      std::cout << fmt::format("  last evaluation: {}\n", s->report_json);
  }
}

// Loads the config and opens its rollout store; false (said on stderr, exit code set) when either
// fails.
bool Open(const std::string& path, std::optional<config::Config>& cfg,
          std::unique_ptr<Store>& store, int& exit_code) {
  auto loaded = config::LoadConfig(path, /*check_licences=*/false);
  if (!loaded) {
    std::cerr << loaded.error().message << "\n";
    exit_code = kBadInput;
    return false;
  }
  cfg = std::move(*loaded);
  auto opened = Store::Open(StorePath(*cfg));
  if (!opened) {
    std::cerr << opened.error().message << "\n";
    exit_code = 1;
    return false;
  }
  store = std::move(*opened);
  return true;
}

}  // namespace

std::string StorePath(const config::Config& config) {
  const std::string& p = config.rollouts.path;
  if (p.empty() || p.front() == '/' || p == ":memory:") return p;
  return (std::filesystem::path(config.source).parent_path() / p).string();
}

Result<std::string> StatusJson(Store& store, const config::Config& config, std::string_view route,
                               int64_t now_ms) {
  if (!route.empty() && !FindRollout(config, route)) return Fail(NoRollout(config, route));
  std::string out;
  JsonWriter w(out);
  w.BeginObject().Key("rollouts").BeginArray();
  for (const routing::Route& r : config.routes.routes) {
    if (!r.rollout || (!route.empty() && r.name != route)) continue;
    auto s = store.Get(r.name, *r.rollout, now_ms);
    if (!s) return Fail(std::move(s.error()));
    auto events = store.Events(r.name, 10);
    if (!events) return Fail(std::move(events.error()));
    WriteRollout(w, r, *s, *events);
  }
  w.EndArray().EndObject();
  return out;
}

Result<State> RunCommand(Store& store, const config::Config& config, std::string_view route,
                         Command command, std::string reason, std::string_view actor,
                         int64_t now_ms) {
  const routing::Route* r = FindRollout(config, route);
  if (!r) return Fail(NoRollout(config, route));
  for (int tries = 0; tries < 20; ++tries) {
    auto got = store.Get(r->name, *r->rollout, now_ms);
    if (!got) return Fail(std::move(got.error()));
    State s = *got;
    const std::string from = Describe(*r->rollout, s);
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
    if (!Open(opts->config, cfg, store, exit_code)) return;
    auto json = StatusJson(*store, *cfg, opts->route, NowMs());
    if (!json) {
      std::cerr << "rollout status: " << json.error().message << "\n";
      exit_code = json.error().code == ErrorCode::kNotFound ? kBadInput : 1;
      return;
    }
    if (opts->format == "json") {
      std::cout << *json << "\n";
    } else {
      PrintTable(*cfg, opts->route, *store, NowMs());
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
      if (!Open(opts->config, cfg, store, exit_code)) return;
      const std::string reason = opts->reason.empty()
                                     ? fmt::format("{} by hand (hybridgate rollout)", name)
                                     : opts->reason;
      auto s = RunCommand(*store, *cfg, opts->route, command, reason, "cli", NowMs());
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
