// Where the quality store lives, as the gateway and `hybridgate quality` both read it from a
// config: the `quality:` section, falling back to the ledger's backend (and its dsn) when
// `quality.backend` is unset, so a gateway whose ledger is on PostgreSQL keeps comparisons and
// feedback there too. A relative SQLite path is relative to the config file's directory, as the
// ledger's is (ledger::ResolvePaths).
#pragma once

#include <string>

#include "config/config.h"
#include "quality/store.h"

namespace hybridgate::quality {

// The store `config` names: backend, resolved path or dsn (dsn_env read from the environment),
// text class, retention and queue bound.
StoreConfig ResolveStoreConfig(const config::Config& config);

// What the static Load functions read: the SQLite path or the PostgreSQL dsn.
inline const std::string& StoreSource(const StoreConfig& config) {
  return config.backend == "postgres" ? config.dsn : config.path;
}

}  // namespace hybridgate::quality
