// Where ledger rows end up. A Sink writes one batch as one transaction and owns its connection;
// it is used by one thread at a time (the ledger's writer). Both backends share the table in
// schema.h and create it when it is absent.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "ledger/row.h"

namespace hybridgate::ledger {

struct LedgerConfig;

class Sink {
 public:
  virtual ~Sink() = default;
  // Writes all of `rows` in one transaction: on error none of them is kept, and the call may be
  // repeated with the same rows (a sink reconnects on the next call when its connection broke).
  virtual Status Write(std::span<const Row> rows) = 0;
  virtual std::string_view Name() const = 0;
};

// SQLite file at `path` (created when absent) in WAL mode with synchronous=NORMAL: a commit is
// durable against a process crash at once, and against power loss at the next checkpoint.
Result<std::unique_ptr<Sink>> OpenSqliteSink(const std::string& path);
// PostgreSQL via libpq; `dsn` is a connection string or URI. Fails when the first connection or
// the schema creation fails (a config error is better found at startup than at the first write).
Result<std::unique_ptr<Sink>> OpenPostgresSink(const std::string& dsn);
// The sink `config.backend` names.
Result<std::unique_ptr<Sink>> OpenSink(const LedgerConfig& config);

// Rows with time_ms >= since_ms, oldest first, from a ledger file / database.
Result<std::vector<Row>> LoadSqliteRows(const std::string& path, int64_t since_ms);
Result<std::vector<Row>> LoadPostgresRows(const std::string& dsn, int64_t since_ms);

// Whether `source` names a PostgreSQL database ("postgres://", "postgresql://", or a key=value
// connection string) rather than a SQLite file.
bool IsPostgresDsn(std::string_view source);

}  // namespace hybridgate::ledger
