// The cost ledger: one row per request, written off the hot path. Record() only appends the row
// to an in-memory queue under a short mutex (no I/O, no allocation beyond the vector's amortised
// growth); one background writer thread prices the rows and writes them in batches, one
// transaction per batch, every flush_interval_ms or as soon as max_batch rows are waiting.
//
// Durability: a row is on disk once its batch commits, at most flush_interval_ms (<= 200 ms) after
// Record(). Flush() and the destructor write everything recorded so far, so a clean shutdown
// (SIGTERM -> destroy the Ledger, or call Flush()) loses nothing; kill -9 loses at most the rows
// recorded since the last commit, i.e. the last unflushed batch. The sink hash-chains each batch
// inside its transaction (chain.h), so a lost batch never leaves the chain broken, and keeps the
// chain's head in an anchor file (anchor.h), so rows cut off its end are found too.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"
#include "ledger/ledger_config.h"
#include "ledger/pricing.h"
#include "ledger/row.h"
#include "ledger/sink.h"

namespace hybridgate::ledger {

struct LedgerStats {
  int64_t recorded = 0;              // rows accepted by Record()
  int64_t written = 0;               // rows committed by the sink
  int64_t dropped_queue_full = 0;    // rows Record() refused because the writer fell behind
  int64_t dropped_write_failed = 0;  // rows given up after the sink kept failing
  int64_t pending = 0;               // rows accepted but not yet committed or dropped
};

class Ledger {
 public:
  // Opens the sink named by `config` (creating the schema) and starts the writer thread. With
  // config.enabled == false it returns a ledger whose Record() does nothing. Fails when the
  // chain's anchor contradicts the table (rows cut off its end, or rewritten): the writer would
  // otherwise chain on from the cut and overwrite the anchor, the evidence.
  static Result<std::unique_ptr<Ledger>> Open(const LedgerConfig& config);
  // For tests and embedders: a ledger over an already open sink.
  static Result<std::unique_ptr<Ledger>> Open(const LedgerConfig& config,
                                              std::unique_ptr<Sink> sink);

  // Flushes everything recorded, then stops the writer.
  ~Ledger();
  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;

  // Any thread, event-loop threads included: never blocks on I/O. When max_queue rows are already
  // waiting the row is dropped and counted (with a rate-limited warning) rather than let memory
  // grow without bound. A row with cost_usd < 0 is priced by the writer (see PriceRow()).
  void Record(Row row);

  // Blocks until every row recorded before the call has been committed or given up; returns the
  // error of the last failed write, if rows were given up since the previous Flush().
  Status Flush();

  LedgerStats Stats() const;

  // The cost the writer assigns to a row with cost_usd < 0: catalog price (config overrides over
  // the dated defaults) for hosted models, GPU cost for self-hosted ones (configured
  // tokens_per_hour, or the throughput observed so far for that model), 0 for unknown models
  // (warned once per model). Writer thread only; public for tests.
  double PriceRow(const Row& row);

 private:
  Ledger(const LedgerConfig& config, std::unique_ptr<Sink> sink, std::string anchor_path);
  void Run();
  // Writes `batch` with bounded retries; returns whether it was committed.
  bool WriteWithRetry(std::span<Row> batch);
  // After a committed batch whose last row is `last` (writer thread): replaces the anchor file
  // when a second has passed since the last write, or `force`.
  void Anchor(const Row* last, bool force);

  const LedgerConfig config_;
  const std::unique_ptr<Sink> sink_;  // null when disabled
  const PriceCatalog catalog_;
  std::map<std::string, ThroughputMeter, std::less<>> throughput_;  // writer thread only
  std::map<std::string, bool, std::less<>> warned_unpriced_;        // writer thread only
  std::string anchor_path_;  // "" = no anchor; set before the writer starts
  int64_t anchor_seq_ = 0;   // writer thread only: the head not yet anchored, 0 when none
  std::string anchor_hash_;
  int64_t anchored_ms_ = 0;

  mutable std::mutex mu_;
  std::condition_variable wake_writer_;
  std::condition_variable batch_done_;
  std::vector<Row> queue_;            // guarded by mu_
  int64_t recorded_ = 0;              // guarded by mu_: sequence number of the last recorded row
  int64_t finished_ = 0;              // guarded by mu_: rows committed or given up, in order
  int64_t written_ = 0;               // guarded by mu_
  int64_t dropped_queue_ = 0;         // guarded by mu_
  int64_t dropped_failed_ = 0;        // guarded by mu_
  int64_t last_drop_warning_ms_ = 0;  // guarded by mu_
  bool flush_requested_ = false;      // guarded by mu_
  bool stop_ = false;                 // guarded by mu_
  std::optional<Error> last_error_;   // guarded by mu_: cleared by Flush()
  std::thread writer_;
};

}  // namespace hybridgate::ledger
