// Configuration of the `limits:` section: whether requests need a virtual key, where the key
// store lives, and which backend (process memory or a Redis shared by replicas) keeps counters.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace YAML {
class Node;
}

namespace hybridgate::limits {

struct LimitsConfig {
  bool auth_required = false;  // true: a request without a valid virtual key gets 401
  std::string admin_key_env;   // environment variable holding the admin API key; empty = no API
  std::string keys_db = "hybridgate-keys.db";  // SQLite file; relative to the config file's folder
  std::string backend = "memory";              // "memory" | "redis"
  std::string redis_url = "redis://127.0.0.1:6379";
  int64_t timeout_ms = 50;  // per Redis round trip (connect included)
  bool fail_open = true;    // YAML `on_redis_error: open | closed`
};

// A parsed redis:// URL: redis://[[user]:password@]host[:port][/db].
struct RedisAddress {
  std::string host = "127.0.0.1";
  uint16_t port = 6379;
  std::string user;  // ACL user (Redis 6+); empty = "default"
  std::string password;
  int db = 0;
};

Result<RedisAddress> ParseRedisUrl(std::string_view url);

// Parses the mapping under `limits:` (a node that itself holds `limits:` is accepted too). Errors
// read "file:line: 'limits.key': message"; unknown keys are errors.
Result<LimitsConfig> ParseLimitsConfig(const YAML::Node& node, std::string_view file);

// keys_db resolved against the folder of `config_file` when relative, so that the gateway and
// `hybridgate keys --config FILE` open the same database from any working directory.
std::string ResolveKeysDb(const LimitsConfig& config, std::string_view config_file);

}  // namespace hybridgate::limits
