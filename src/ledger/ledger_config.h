// The `ledger:` section of the gateway config: where rows go (SQLite file or PostgreSQL), how often
// the writer flushes, and the prices that override or extend the default catalog.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "common/result.h"
#include "ledger/pricing.h"

namespace YAML {
class Node;
}

namespace hybridgate::ledger {

inline constexpr int64_t kMaxFlushIntervalMs = 200;

struct LedgerConfig {
  bool enabled = true;
  std::string backend = "sqlite";             // "sqlite" | "postgres"
  std::string path = "hybridgate-ledger.db";  // sqlite: the database file (WAL mode)
  std::string dsn;                            // postgres: a libpq connection string or URI
  // The chain's anchor file (anchor.h); "" = "<path>.head" for sqlite, none for postgres.
  std::string anchor_path;
  int64_t flush_interval_ms = 100;  // 1..kMaxFlushIntervalMs
  int64_t max_batch = 1000;         // rows per transaction, 1..100000
  int64_t max_queue = 100000;       // rows waiting for the writer before Record drops them
  std::map<std::string, Price, std::less<>> prices;  // model -> price, over DefaultCatalog()
  std::map<std::string, SelfHostedPrice, std::less<>> self_hosted;  // model -> GPU cost
};

// Checks ranges and that the backend has what it needs (path or dsn).
Status ValidateLedgerConfig(const LedgerConfig& config);

// Parses the mapping under `ledger:` (a node that itself holds `ledger:` is accepted too; an
// absent or null node gives the defaults). Unknown keys are errors. Messages read
// "file:line: 'ledger.key': message".
Result<LedgerConfig> ParseLedgerConfig(const YAML::Node& node, std::string_view file);

// Makes a relative sqlite path and anchor_path relative to the directory of `config_file`, the
// way the gateway reads them (one place per deployment, wherever it is started from).
void ResolvePaths(LedgerConfig& config, std::string_view config_file);

// Reads `file` and parses its `ledger:` section (for `hybridgate report --config`), paths
// resolved (ResolvePaths).
Result<LedgerConfig> LoadLedgerConfig(const std::string& file);

}  // namespace hybridgate::ledger
