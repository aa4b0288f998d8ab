#include "eval/scheduled.h"

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "eval/result.h"

namespace hybridgate::eval {

Result<std::vector<ScheduledSuite>> LoadScheduled(const config::Config& cfg) {
  std::vector<ScheduledSuite> out;
  const std::filesystem::path dir = std::filesystem::path(cfg.source).parent_path();
  const std::set<std::string> served = ConfiguredModels(cfg);
  for (const config::ScheduledEvalConfig& e : cfg.evals) {
    auto bad = [&](std::string_view why) {
      return Fail(MakeError(ErrorCode::kInvalidRequest,
                            fmt::format("{}: evals '{}': {}", cfg.source, e.name, why)));
    };
    ScheduledSuite& s = out.emplace_back();
    s.config = &e;
    auto cases = LoadSuite((dir / e.suite).string());
    if (!cases) return bad(cases.error().message);
    s.cases = std::move(*cases);
    if (!e.baseline.empty()) {
      const std::string path = (dir / e.baseline).string();
      std::error_code ec;
      if (!std::filesystem::is_regular_file(path, ec)) {
        return bad(fmt::format("baseline {}: cannot read it (not a regular file)", path));
      }
      std::ifstream in(path, std::ios::binary);
      std::stringstream text;
      text << in.rdbuf();
      if (!in) return bad(fmt::format("baseline {}: cannot read it", path));
      auto baseline = ParseBaseline(text.str(), path);
      if (!baseline) return bad(baseline.error().message);
      s.baseline = std::move(*baseline);
    }
    if (!e.key_env.empty() && !cfg.limits.auth_required) {
      return bad(
          "key_env is set but limits.auth_required is false: the key would be neither checked nor "
          "charged (turn auth on, or drop key_env)");
    }
    if (!e.key_env.empty()) {
      const char* key = std::getenv(e.key_env.c_str());
      if (key == nullptr || *key == '\0') {
        return bad(fmt::format("key_env: the variable {} is not set", e.key_env));
      }
      s.options.key = key;
    } else if (cfg.limits.auth_required) {
      return bad(
          "the gateway requires a virtual key (limits.auth_required): name the variable that "
          "holds the eval's key in key_env");
    }
    for (const std::string& m : e.models) {
      if (auto checked = CheckModel(cfg, served, m); !checked) return bad(checked.error().message);
    }
    for (const std::string& m : {e.judge, e.embedding}) {
      if (m.empty()) continue;
      if (auto checked = CheckModel(cfg, served, m); !checked) return bad(checked.error().message);
    }
    s.options.models = e.models;
    s.options.judge = e.judge;
    s.options.embedding = e.embedding;
    s.options.concurrency = static_cast<int>(e.concurrency);
    s.options.suite_name = e.name;
  }
  return out;
}

}  // namespace hybridgate::eval
