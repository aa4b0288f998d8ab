#include "ledger/ledger_config.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <initializer_list>
#include <limits>

namespace hybridgate::ledger {
namespace {

Error ConfigError(std::string message, std::string param = {}) {
  return MakeError(ErrorCode::kInvalidRequest, std::move(message), std::move(param));
}

// Error text: "file:line: 'path.key': message".
class Reader {
 public:
  explicit Reader(std::string_view file) : file_(file) {}

  Error At(const YAML::Node& at, std::string_view key, std::string_view message) const {
    const auto mark = at.Mark();
    const std::string where = mark.is_null() ? file_ : fmt::format("{}:{}", file_, mark.line + 1);
    return ConfigError(fmt::format("{}: '{}': {}", where, key, message), std::string(key));
  }

  Status OnlyKeys(const YAML::Node& map, std::string_view path,
                  std::initializer_list<std::string_view> keys) const {
    for (const auto& kv : map) {
      const std::string k = kv.first.Scalar();
      bool known = false;
      for (std::string_view key : keys) known = known || key == k;
      if (!known) {
        std::string expected;
        for (std::string_view key : keys)
          expected += (expected.empty() ? "" : ", ") + std::string(key);
        return Fail(At(kv.first, Join(path, k), "unknown key (expected " + expected + ")"));
      }
    }
    return {};
  }

  Status Bool(const YAML::Node& n, std::string_view key, bool& out) const {
    if (!n.IsScalar() || !YAML::convert<bool>::decode(n, out)) {
      return Fail(At(n, key, fmt::format("must be true or false, got '{}'", Scalar(n))));
    }
    return {};
  }
  Status String(const YAML::Node& n, std::string_view key, std::string& out) const {
    if (!n.IsScalar()) return Fail(At(n, key, "must be a string"));
    out = n.Scalar();
    return {};
  }
  Status Int(const YAML::Node& n, std::string_view key, int64_t min, int64_t max,
             int64_t& out) const {
    int64_t v;
    if (!n.IsScalar() || !YAML::convert<int64_t>::decode(n, v)) {
      return Fail(At(n, key, fmt::format("must be an integer, got '{}'", Scalar(n))));
    }
    if (v < min || v > max) return Fail(At(n, key, fmt::format("must be {}..{}", min, max)));
    out = v;
    return {};
  }
  Status NonNegative(const YAML::Node& n, std::string_view key, double& out) const {
    double v;
    if (!n.IsScalar() || !YAML::convert<double>::decode(n, v) || !(v >= 0) ||
        v == std::numeric_limits<double>::infinity()) {
      return Fail(At(n, key, fmt::format("must be a non-negative number, got '{}'", Scalar(n))));
    }
    out = v;
    return {};
  }

  static std::string Join(std::string_view path, std::string_view key) {
    return fmt::format("{}.{}", path, key);
  }

 private:
  static std::string Scalar(const YAML::Node& n) {
    return n.IsScalar() ? n.Scalar() : "<not a scalar>";
  }
  std::string file_;
};

Status ParsePrices(const Reader& r, const YAML::Node& node, LedgerConfig& c) {
  if (!node.IsMap()) return Fail(r.At(node, "ledger.prices", "must be a mapping model: price"));
  for (const auto& kv : node) {
    const std::string model = kv.first.Scalar();
    const std::string path = "ledger.prices." + model;
    const YAML::Node& v = kv.second;
    if (!v.IsMap()) {
      return Fail(r.At(v, path, "must be a mapping {input, output, cached_input} in USD per 1M"));
    }
    HG_TRY(r.OnlyKeys(v, path, {"input", "output", "cached_input"}));
    if (!v["input"] || !v["output"]) return Fail(r.At(v, path, "needs input and output"));
    Price p;
    HG_TRY(r.NonNegative(v["input"], path + ".input", p.input_per_mtok));
    HG_TRY(r.NonNegative(v["output"], path + ".output", p.output_per_mtok));
    p.cached_input_per_mtok = p.input_per_mtok;  // no cache discount unless configured
    if (v["cached_input"]) {
      HG_TRY(r.NonNegative(v["cached_input"], path + ".cached_input", p.cached_input_per_mtok));
    }
    c.prices[model] = p;
  }
  return {};
}

Status ParseSelfHosted(const Reader& r, const YAML::Node& node, LedgerConfig& c) {
  if (!node.IsMap()) {
    return Fail(r.At(node, "ledger.self_hosted", "must be a mapping model: gpu cost"));
  }
  for (const auto& kv : node) {
    const std::string model = kv.first.Scalar();
    const std::string path = "ledger.self_hosted." + model;
    const YAML::Node& v = kv.second;
    if (!v.IsMap()) {
      return Fail(r.At(v, path, "must be a mapping {gpu_usd_per_hour, gpus, tokens_per_hour}"));
    }
    HG_TRY(r.OnlyKeys(v, path, {"gpu_usd_per_hour", "gpus", "tokens_per_hour"}));
    if (!v["gpu_usd_per_hour"]) return Fail(r.At(v, path, "needs gpu_usd_per_hour"));
    SelfHostedPrice p;
    HG_TRY(r.NonNegative(v["gpu_usd_per_hour"], path + ".gpu_usd_per_hour", p.gpu_usd_per_hour));
    if (v["gpus"]) {
      HG_TRY(r.NonNegative(v["gpus"], path + ".gpus", p.gpus));
      if (p.gpus <= 0) return Fail(r.At(v["gpus"], path + ".gpus", "must be greater than 0"));
    }
    if (v["tokens_per_hour"]) {
      HG_TRY(r.NonNegative(v["tokens_per_hour"], path + ".tokens_per_hour", p.tokens_per_hour));
    }
    c.self_hosted[model] = p;
  }
  return {};
}

Status ParseSection(const Reader& r, const YAML::Node& node, LedgerConfig& c) {
  if (!node.IsMap()) return Fail(r.At(node, "ledger", "must be a mapping"));
  HG_TRY(r.OnlyKeys(node, "ledger",
                    {"enabled", "backend", "path", "dsn", "anchor_path", "flush_interval_ms",
                     "max_batch", "max_queue", "prices", "self_hosted"}));
  if (const YAML::Node n = node["enabled"]) HG_TRY(r.Bool(n, "ledger.enabled", c.enabled));
  if (const YAML::Node n = node["backend"]) {
    HG_TRY(r.String(n, "ledger.backend", c.backend));
    if (c.backend != "sqlite" && c.backend != "postgres") {
      return Fail(r.At(n, "ledger.backend",
                       fmt::format("must be sqlite or postgres, got '{}'", c.backend)));
    }
  }
  if (const YAML::Node n = node["path"]) HG_TRY(r.String(n, "ledger.path", c.path));
  if (const YAML::Node n = node["dsn"]) HG_TRY(r.String(n, "ledger.dsn", c.dsn));
  if (const YAML::Node n = node["anchor_path"]) {
    HG_TRY(r.String(n, "ledger.anchor_path", c.anchor_path));
  }
  if (const YAML::Node n = node["flush_interval_ms"]) {
    HG_TRY(r.Int(n, "ledger.flush_interval_ms", 1, kMaxFlushIntervalMs, c.flush_interval_ms));
  }
  if (const YAML::Node n = node["max_batch"]) {
    HG_TRY(r.Int(n, "ledger.max_batch", 1, 100000, c.max_batch));
  }
  if (const YAML::Node n = node["max_queue"]) {
    HG_TRY(r.Int(n, "ledger.max_queue", 1, 100'000'000, c.max_queue));
  }
  if (const YAML::Node n = node["prices"]) HG_TRY(ParsePrices(r, n, c));
  if (const YAML::Node n = node["self_hosted"]) HG_TRY(ParseSelfHosted(r, n, c));
  if (c.enabled && c.backend == "postgres" && c.dsn.empty()) {
    return Fail(r.At(node, "ledger.dsn", "is required when backend is postgres"));
  }
  if (c.enabled && c.backend == "sqlite" && c.path.empty()) {
    return Fail(r.At(node, "ledger.path", "must not be empty"));
  }
  return {};
}

}  // namespace

Status ValidateLedgerConfig(const LedgerConfig& c) {
  if (c.backend != "sqlite" && c.backend != "postgres") {
    return Fail(ConfigError("ledger.backend must be sqlite or postgres", "ledger.backend"));
  }
  if (c.backend == "sqlite" && c.path.empty()) {
    return Fail(ConfigError("ledger.path must not be empty", "ledger.path"));
  }
  if (c.backend == "postgres" && c.dsn.empty()) {
    return Fail(ConfigError("ledger.dsn is required when backend is postgres", "ledger.dsn"));
  }
  if (c.flush_interval_ms < 1 || c.flush_interval_ms > kMaxFlushIntervalMs) {
    return Fail(
        ConfigError(fmt::format("ledger.flush_interval_ms must be 1..{}", kMaxFlushIntervalMs),
                    "ledger.flush_interval_ms"));
  }
  if (c.max_batch < 1 || c.max_batch > 100000) {
    return Fail(ConfigError("ledger.max_batch must be 1..100000", "ledger.max_batch"));
  }
  if (c.max_queue < 1)
    return Fail(ConfigError("ledger.max_queue must be >= 1", "ledger.max_queue"));
  return {};
}

Result<LedgerConfig> ParseLedgerConfig(const YAML::Node& input, std::string_view file) {
  Reader r(file);
  LedgerConfig c;
  YAML::Node node = input;
  try {
    if (node.IsMap() && node["ledger"]) node = node["ledger"];
    if (!node.IsDefined() || node.IsNull()) return c;
    if (Status s = ParseSection(r, node, c); !s) return Fail(s.error());
  } catch (const YAML::Exception& e) {
    return Fail(ConfigError(fmt::format("{}: ledger: {}", file, e.what())));
  }
  return c;
}

Result<LedgerConfig> LoadLedgerConfig(const std::string& file) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(file);
  } catch (const YAML::BadFile&) {
    return Fail(ConfigError(fmt::format("{}: cannot read the file", file)));
  } catch (const YAML::Exception& e) {
    return Fail(ConfigError(fmt::format("{}: {}", file, e.what())));
  }
  LedgerConfig config;
  if (root.IsMap() && root["ledger"]) {
    auto parsed = ParseLedgerConfig(root["ledger"], file);
    if (!parsed) return Fail(parsed.error());
    config = std::move(*parsed);
  }
  ResolvePaths(config, file);
  return config;
}

void ResolvePaths(LedgerConfig& config, std::string_view config_file) {
  const std::filesystem::path dir = std::filesystem::path(config_file).parent_path();
  auto resolve = [&](std::string& path) {
    if (!path.empty() && path.front() != '/') path = (dir / path).string();
  };
  if (config.backend == "sqlite") resolve(config.path);
  resolve(config.anchor_path);
}

}  // namespace hybridgate::ledger
