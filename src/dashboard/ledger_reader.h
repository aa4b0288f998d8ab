// LedgerReader: read-only SQL over the ledger's `requests` table (ledger/schema.h) for the
// dashboard's data API, on SQLite or PostgreSQL with one statement text for both: parameters are
// written "?1", "?2" … (SQLite's form) and become "$1", "$2" … for PostgreSQL; statements use
// only what both engines share (CASE, SUM, integer division of BIGINTs, LIMIT/OFFSET).
//
// Every statement waits at most `timeout_ms`, and no longer than the caller's deadline (Bound):
// SQLite's is interrupted by a progress handler, PostgreSQL's by PgSession
// (common/pg_session.h). A ledger that does not exist yet (no request
// served) reads as empty, not as an error. Used by one thread at a time (the dashboard's own).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace hybridgate::dashboard {

// One result row: each column as text ("" for NULL), integers in decimal, floating point in the
// shortest form that reads back exactly.
using Cells = std::vector<std::string>;

class LedgerReader {
 public:
  virtual ~LedgerReader() = default;
  // At most `max_rows` rows; more is an error (kInternal): every caller bounds its statement.
  virtual Result<std::vector<Cells>> Query(std::string_view sql, std::span<const int64_t> params,
                                           size_t max_rows) = 0;
  virtual std::string_view backend() const = 0;  // "sqlite" | "postgres"

  // Bounds the statements that follow: none runs past `deadline` (nor past its own timeout),
  // and once `*stop` is true none starts and a SQLite one under way is interrupted.
  void Bound(std::chrono::steady_clock::time_point deadline, const std::atomic<bool>* stop) {
    deadline_ = deadline;
    stop_ = stop;
  }

 protected:
  // Why no statement may start now ("" when one may).
  std::string Refusal() const;
  bool Stopped() const { return stop_ != nullptr && stop_->load(); }

  std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::time_point::max();
  const std::atomic<bool>* stop_ = nullptr;
};

// `source`: a SQLite file or a PostgreSQL DSN (ledger::IsPostgresDsn).
std::unique_ptr<LedgerReader> OpenLedgerReader(const std::string& source, int timeout_ms);

// Cell readers: 0 for "" or text that is not a number.
int64_t CellInt(const std::string& cell);
double CellDouble(const std::string& cell);

}  // namespace hybridgate::dashboard
