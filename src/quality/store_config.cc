#include "quality/store_config.h"

#include <cstdlib>
#include <filesystem>

namespace hybridgate::quality {

StoreConfig ResolveStoreConfig(const config::Config& config) {
  const config::QualityConfig& q = config.quality;
  StoreConfig sc;
  sc.backend = !q.backend.empty() ? q.backend : config.ledger.backend;
  sc.path = q.path;
  if (!sc.path.empty() && sc.path.front() != '/') {
    sc.path = (std::filesystem::path(config.source).parent_path() / sc.path).string();
  }
  sc.dsn = q.dsn;
  if (sc.dsn.empty() && !q.dsn_env.empty()) {
    if (const char* v = std::getenv(q.dsn_env.c_str())) sc.dsn = v;
  }
  if (sc.dsn.empty() && q.backend.empty()) sc.dsn = config.ledger.dsn;
  sc.store_text_max_class = static_cast<int>(q.store_text_max_class);
  sc.retention_days = q.retention_days;
  sc.scores_retention_days = q.scores_retention_days;
  sc.max_pending = q.max_pending;
  sc.hash_key_env = q.hash_key_env;
  if (!q.hash_key_env.empty()) {
    if (const char* v = std::getenv(q.hash_key_env.c_str())) sc.hash_key = v;
  }
  return sc;
}

}  // namespace hybridgate::quality
