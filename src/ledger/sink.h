// Where ledger rows end up. A Sink writes one batch as one transaction and owns its connection;
// it is used by one thread at a time (the ledger's writer). Both backends share the table in
// schema.h, create it when it is absent and migrate an older version of it.
#pragma once

#include <cstdint>
#include <functional>
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
  // Inside that transaction it reads the last committed row and stamps seq, prev_hash and hash
  // on `rows` (ChainRows, chain.h), so the hash chain follows commit order.
  virtual Status Write(std::span<Row> rows) = 0;
  virtual std::string_view Name() const = 0;
  // For the anchor check (anchor.h): the hash of the row at `seq` ("" when the table has none)
  // and the table's last seq (0 when empty). A sink that cannot read answers kNotFound.
  struct HeadRead {
    std::string hash_at_seq;
    int64_t head_seq = 0;
  };
  virtual Result<HeadRead> ReadHead(int64_t seq) {
    (void)seq;
    return Fail(MakeError(ErrorCode::kNotFound, "this sink reads no rows back"));
  }
};

// SQLite file at `path` (created when absent) in WAL mode with synchronous=NORMAL: a commit is
// durable against a process crash at once, and against power loss at the next checkpoint.
Result<std::unique_ptr<Sink>> OpenSqliteSink(const std::string& path);
// PostgreSQL via libpq; `dsn` is a connection string or URI. Fails when the first connection or
// the schema creation fails (a config error is better found at startup than at the first write).
Result<std::unique_ptr<Sink>> OpenPostgresSink(const std::string& dsn);
// The sink `config.backend` names.
Result<std::unique_ptr<Sink>> OpenSink(const LedgerConfig& config);

// Which rows a read-only scan returns, and in which order. A ledger of an older schema version
// is read as it is (missing columns read empty; nothing is migrated).
enum class RowOrder {
  kTime,  // time_ms, then seq: the report's order
  kSeq,   // commit order: the hash chain's
};
struct RowQuery {
  int64_t since_ms = 0;  // rows with time_ms >= since_ms
  RowOrder order = RowOrder::kTime;
};
// Called once per row; a failed Status stops the scan and is returned.
using RowVisitor = std::function<Status(const Row&)>;

// Reads rows one at a time, so a ledger of any size is scanned in constant memory.
Status ScanSqliteRows(const std::string& path, const RowQuery& query, const RowVisitor& visit);
Status ScanPostgresRows(const std::string& dsn, const RowQuery& query, const RowVisitor& visit);
// The backend that `path_or_dsn` names (IsPostgresDsn).
Status ScanRows(const std::string& path_or_dsn, const RowQuery& query, const RowVisitor& visit);

// Rows with time_ms >= since_ms, oldest first, from a ledger file / database.
Result<std::vector<Row>> LoadSqliteRows(const std::string& path, int64_t since_ms);
Result<std::vector<Row>> LoadPostgresRows(const std::string& dsn, int64_t since_ms);

// Whether `source` names a PostgreSQL database ("postgres://", "postgresql://", or a key=value
// connection string) rather than a SQLite file.
bool IsPostgresDsn(std::string_view source);

}  // namespace hybridgate::ledger
