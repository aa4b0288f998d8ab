// The hybridgate command line: serve, config check (and the subcommands later modules add).
#include <fmt/format.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <thread>

#include "advisor/cli.h"
#include "classify/cli.h"
#include "common/thread.h"
#include "config/config.h"
#include "eval/cli.h"
#include "gateway/gateway.h"
#include "gateway/request_log.h"
#include "http/server.h"
#include "learned/cli.h"
#include "ledger/cli.h"
#include "limits/cli.h"
#include "models/cli.h"
#include "quality/cli.h"
#include "rollout/cli.h"

#ifndef HYBRIDGATE_VERSION
#define HYBRIDGATE_VERSION "0.0.0"
#endif

namespace hybridgate {
namespace {

// What the file watch compares: a change in any of these is an edit (editors that write a new
// file and rename it over the old one change the inode).
struct ConfigFileStamp {
  bool exists = false;
  int64_t mtime_ns = 0;
  int64_t size = 0;
  uint64_t inode = 0;
  bool operator==(const ConfigFileStamp&) const = default;
};

ConfigFileStamp StampOf(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  return {true, static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec,
          static_cast<int64_t>(st.st_size), static_cast<uint64_t>(st.st_ino)};
}

// glibc's per-thread cache keeps at most 7 freed blocks of each size; past that, frees and
// allocations go through the shared bins, several times the cost. With dozens of requests in
// flight the cache overflows all the time: 256 per size gave 5-8% more throughput in the bench
// (bench/results). glibc reads the setting only at process start, from GLIBC_TUNABLES, so `serve`
// sets it and executes itself again, once (same PID). A GLIBC_TUNABLES the operator set is left
// as it is, and so is a failed exec.
void TuneMallocAndReexec(char** argv) {
  if (std::getenv("GLIBC_TUNABLES") != nullptr) return;
  if (::setenv("GLIBC_TUNABLES", "glibc.malloc.tcache_count=256", 1) != 0) return;
  ::execv("/proc/self/exe", argv);
  ::unsetenv("GLIBC_TUNABLES");
}

int Serve(const std::string& config_path, const std::string& listen, const std::string& level,
          int workers) {
  // Signals are taken by one thread with sigwait; every other thread (workers, the logger's,
  // the resolver's) inherits this mask, so block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  auto cfg = config::LoadConfig(config_path);
  if (!cfg) {
    std::cerr << "hybridgate: " << cfg.error().message << "\n";
    return 2;
  }
  if (!listen.empty()) {
    if (auto l = config::ParseListen(listen); !l) {
      std::cerr << "hybridgate: --listen: " << l.error().message << "\n";
      return 2;
    }
    cfg->server.listen = listen;
  }
  if (!level.empty()) cfg->log.level = level;
  if (workers > 0) cfg->server.workers = workers;
  gateway::InitLogging(cfg->log.level);

  auto gw = gateway::Gateway::Create(*cfg);
  if (!gw) {
    std::cerr << "hybridgate: " << gw.error().message << "\n";
    return 2;
  }

  // Optional only so that it goes before the gateway at the end, and both before the logger.
  std::optional<http::Server> server_slot;
  http::Server& server = server_slot.emplace(
      cfg->server, [g = gw->get()](http::Exchange& ex) { return g->Handle(ex); });
  if (auto s = server.Listen(); !s) {
    std::cerr << "hybridgate: " << s.error().message << "\n";
    return 1;
  }
  (*gw)->Attach(server);
  (*gw)->StartRollouts();
  for (const auto& p : cfg->providers) {
    if (!p.disabled_reason.empty()) {
      gateway::LogWarn(fmt::format("provider '{}' disabled: {}", p.name, p.disabled_reason));
    }
  }
  const auto addr = config::ParseListen(cfg->server.listen);
  gateway::LogInfo(fmt::format("hybridgate {} listening on {}:{} with {} workers (config {})",
                               HYBRIDGATE_VERSION, addr->first, server.port(), server.workers(),
                               config_path));
  gateway::Gateway* g = gw->get();
  // The command line's overrides win over the file on every reload too.
  const auto load = [config_path, listen, level, workers]() -> Result<config::Config> {
    auto next = config::LoadConfig(config_path);
    if (!next) return next;
    if (!listen.empty()) next->server.listen = listen;
    if (!level.empty()) next->log.level = level;
    if (workers > 0) next->server.workers = workers;
    return next;
  };
  const auto reload = [g, &load](std::string_view why) {
    auto next = load();
    Status s = next ? g->Reload(std::move(*next)) : Status(Fail(std::move(next.error())));
    if (s) {
      gateway::LogInfo(fmt::format("{}: config reloaded", why));
    } else {
      gateway::LogError(
          fmt::format("{}: config reload rejected, still serving the previous config: {}", why,
                      s.error().message));
    }
  };
  const bool watch = cfg->server.watch_config;
  std::thread signal_thread([&server, signals, g, &reload, config_path, watch] {
    // This thread takes the signals and, once a second, looks at the config file: a changed
    // file (mtime, size or inode) reloads it. Reloads run here, off the event loops.
    ConfigFileStamp seen = StampOf(config_path);
    const timespec tick{1, 0};
    int sig = 0;
    for (;;) {
      sig = sigtimedwait(&signals, nullptr, &tick);
      if (sig == SIGINT || sig == SIGTERM) break;
      if (sig == SIGHUP) {
        // SIGHUP re-reads the virtual keys (created or revoked by `hybridgate keys`) and the
        // config file.
        g->ReloadKeys();
        gateway::LogInfo("received SIGHUP, reloaded virtual keys");
        seen = StampOf(config_path);
        reload("SIGHUP");
      } else if (watch) {
        if (const ConfigFileStamp now = StampOf(config_path); now != seen && now.exists) {
          seen = now;
          reload(fmt::format("{} changed", config_path));
        }
      }
      g->ReleaseRetired();
    }
    gateway::LogInfo(fmt::format("received {}, draining in-flight requests",
                                 sig == SIGTERM ? "SIGTERM" : "SIGINT"));
    server.Shutdown();
  });
  server.Run();
  (*gw)->Detach();
  // Run() only returns after Shutdown(), so the signal thread has finished or is finishing.
  signal_thread.join();
  // The order matters: the stores that resume requests stop while the worker contexts they post
  // to exist; the server's pending frames go while the gateway they point into exists; and the
  // gateway's threads (ledger, stores, rollouts) may still log until it is gone.
  (*gw)->CloseStores();
  server_slot.reset();
  gw->reset();
  gateway::LogInfo("stopped");
  gateway::ShutdownLogging();
  return 0;
}

int ConfigCheck(const std::string& path) {
  auto cfg = config::LoadConfig(path);
  if (!cfg) {
    std::cerr << cfg.error().message << "\n";
    return 2;
  }
  auto gw = gateway::Gateway::Create(*cfg);
  if (!gw) {
    std::cerr << gw.error().message << "\n";
    return 2;
  }
  size_t models = 0;
  for (const auto& p : cfg->providers) models += p.models.size();
  std::cout << fmt::format("{}: OK ({} providers, {} models)\n", path, cfg->providers.size(),
                           models);
  for (const auto& p : cfg->providers) {
    if (!p.disabled_reason.empty()) {
      std::cout << fmt::format("  note: provider '{}' is disabled until you {}\n", p.name,
                               p.disabled_reason);
    }
  }
  // A variable set where the gateway runs may be unset where the config is checked: a note,
  // not an error, but said, since a store without its dsn does not start.
  for (const auto& [section, variable] :
       {std::pair<const char*, const std::string*>{"responses", &cfg->responses.dsn_env},
        {"rollouts", &cfg->rollouts.dsn_env},
        {"quality", &cfg->quality.dsn_env}}) {
    if (variable->empty() || std::getenv(variable->c_str()) != nullptr) continue;
    std::cout << fmt::format("  note: {}.dsn_env names {}, which is not set here\n", section,
                             *variable);
  }
  return 0;
}

}  // namespace
}  // namespace hybridgate

int main(int argc, char** argv) {
  CLI::App app{"HybridGate: one OpenAI-compatible endpoint over self-hosted and closed LLMs"};
  app.set_version_flag("--version", std::string("hybridgate ") + HYBRIDGATE_VERSION);
  app.require_subcommand(1);
  int exit_code = 0;

  std::string config_path, listen, level;
  int workers = 0;
  CLI::App* serve = app.add_subcommand("serve", "Run the gateway");
  serve->add_option("--config,-c", config_path, "YAML config file")->required();
  serve->add_option("--listen", listen, "Override the listen address (host:port)");
  serve->add_option("--log-level", level, "trace|debug|info|warn|error|off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  serve->add_option("--workers", workers, "Worker threads (default: one per core)");
  serve->callback([&] {
    hybridgate::TuneMallocAndReexec(argv);
    // After the re-exec the kernel names the process after "/proc/self/exe": `exe` in top and
    // ps -o comm. The threads started later inherit the name set here.
    hybridgate::NameThisThread("hybridgate");
    // Before SQLite initialises (the key store opens it first): without memory statistics SQLite
    // takes no global mutex per allocation, which was 8 lock pairs per ledger row.
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    exit_code = hybridgate::Serve(config_path, listen, level, workers);
  });

  CLI::App* config_cmd = app.add_subcommand("config", "Work with config files");
  config_cmd->require_subcommand(1);
  std::string check_path;
  CLI::App* check = config_cmd->add_subcommand("check", "Validate a config file (exit 2 on error)");
  check->add_option("file", check_path, "YAML config file")->required();
  check->callback([&] { exit_code = hybridgate::ConfigCheck(check_path); });

  hybridgate::classify::AddClassifyCommand(app, exit_code);
  hybridgate::learned::AddRouterCommand(app, exit_code);
  hybridgate::models::AddModelsCommand(app, exit_code);
  // The ledger's report with the quality library's columns joined on (ledger/cli.h): the
  // ledger cannot depend on the quality library, which depends on it.
  hybridgate::ledger::AddReportCommand(app, exit_code, hybridgate::quality::JoinQualityColumns);
  hybridgate::ledger::AddAuditCommand(app, exit_code);
  hybridgate::limits::AddKeysCommand(app, exit_code);
  hybridgate::quality::AddQualityCommand(app, exit_code);
  hybridgate::eval::AddEvalCommand(app, exit_code);
  hybridgate::advisor::AddAdviseCommand(app, exit_code);
  hybridgate::rollout::AddRolloutCommand(app, exit_code);
  CLI::App* route_cmd = app.add_subcommand("route", "Routes and tiers");
  route_cmd->require_subcommand(1);
  CLI::App* explain = route_cmd->add_subcommand(
      "explain", "Print the routing decision for a request (JSON): tiers, why, candidates");
  std::string explain_config, explain_request, explain_route, explain_team;
  explain->add_option("--config,-c", explain_config, "gateway config")->required();
  explain->add_option("--request,-r", explain_request, "an OpenAI chat request (JSON file)")
      ->required();
  explain->add_option("--route", explain_route, "as the x-hybridgate-route header");
  explain->add_option("--team", explain_team, "the calling key's team");
  explain->callback([&] {
    exit_code = hybridgate::gateway::RunRouteExplain(explain_config, explain_request, explain_route,
                                                     explain_team);
  });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  return exit_code;
}
