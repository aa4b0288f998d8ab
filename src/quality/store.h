// The comparison store: one row per shadowed request and target (comparison.h), in SQLite by
// default or PostgreSQL (`quality.backend`, shared by replicas). The texts — both answers, the
// question and the whole request — are kept only for requests of data class <=
// `store_text_max_class` (default 1); above it only their keyed hash (TextHasher) and the
// scores. After `retention_days` a row's texts are cleared as well (its hashes and scores stay);
// after `scores_retention_days` the row is deleted.
//
// Schema changes are additive: Open adds the columns a table from an older version lacks
// (ALTER TABLE ... ADD COLUMN, idempotent, text columns default ''), and Load reads whichever
// columns a table has, so a store written by an older gateway still loads (its rows have no
// question or request).
//
// One owner: a single thread writes every row in the order queued. Save never blocks: at most
// `max_pending` rows wait, and more are dropped and counted (the shadow call itself was metered
// in the ledger already). Destruction writes what was queued.
#pragma once

#include <atomic>
#include <boost/asio/thread_pool.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "quality/comparison.h"

namespace hybridgate::quality {

struct StoreConfig {
  std::string backend = "sqlite";       // sqlite | postgres
  std::string path = "quality.db";      // SQLite, resolved by the caller
  std::string dsn;                      // postgres
  int store_text_max_class = 1;         // texts kept up to this data class
  int64_t retention_days = 30;          // texts
  int64_t scores_retention_days = 365;  // rows (at least retention_days)
  int64_t max_pending = 4096;
  std::string hash_key;      // TextHasher's key; "": a random one for this process
  std::string hash_key_env;  // the variable it came from (for the error when it is unset)
};

// The hex SHA-256 of `text` (rows written before TextHasher kept this).
std::string Sha256Hex(std::string_view text);

// What the stores keep of a text they do not keep (its class is above store_text_max_class):
// the hex HMAC-SHA256 of the text under a secret key. A plain hash of a short secret — a
// 9-digit SSN, a 16-digit card number — is undone by hashing every candidate; a keyed one is
// not without the key. The key comes from `quality.hash_key_env`'s variable, so equal texts
// have equal hashes across restarts and replicas; without one, a random key for this process
// (hashes then compare only within it). An empty text hashes to "": nothing was withheld.
class TextHasher {
 public:
  explicit TextHasher(std::string_view key);  // "": 32 random bytes
  std::string Hex(std::string_view text) const;

 private:
  std::string key_;
};

// An error when `hash_key_env` names a variable that is not set (Open checks it).
Status CheckHashKey(const StoreConfig& config);

// A row as stored: the comparison with its texts, or "" and their hashes. A hash is "" for an
// empty text, and in a row written before its column existed.
struct StoredComparison {
  Comparison comparison;
  std::string primary_sha256;
  std::string shadow_sha256;
  std::string question_sha256;
  std::string request_sha256;  // of comparison.request_json
};

// Whether a stored text was withheld (its data class was above store_text_max_class): the text
// is "" but it has a hash (other than an older row's SHA-256 of "").
bool Withheld(const std::string& text, const std::string& sha256);

class ComparisonStore {
 public:
  static Result<std::unique_ptr<ComparisonStore>> Open(const StoreConfig& config);
  ~ComparisonStore();
  ComparisonStore(const ComparisonStore&) = delete;
  ComparisonStore& operator=(const ComparisonStore&) = delete;

  // Queues `c`; false (dropped, counted) when max_pending rows wait. Any thread.
  bool Save(Comparison c);
  int64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  // Blocks until every row queued before the call is written (tests, shutdown).
  void Flush();

  // Rows with time_ms >= since_ms, oldest first, from a store file or database (read-only);
  // none when it has no comparisons table (a store that has only feedback).
  static Result<std::vector<StoredComparison>> Load(const std::string& path_or_dsn,
                                                    int64_t since_ms);

  class Backend;

 private:
  ComparisonStore(std::unique_ptr<Backend> backend, const StoreConfig& config);

  std::unique_ptr<Backend> backend_;
  const int text_max_class_;
  const TextHasher hasher_;
  const int64_t retention_ms_;
  const int64_t scores_retention_ms_;
  const int64_t max_pending_;
  std::atomic<int64_t> pending_{0};
  std::atomic<int64_t> dropped_{0};
  int64_t next_purge_ms_ = 0;  // store thread only
  // What Save queued and the store thread has not taken yet (Drain takes it all, in one go).
  std::mutex queue_mu_;
  std::vector<Comparison> queue_;
  void Drain();  // on the store thread
  boost::asio::thread_pool thread_{1};
};

}  // namespace hybridgate::quality
