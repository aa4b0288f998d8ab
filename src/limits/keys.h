// Virtual keys: a SQLite-backed store of API keys (only their SHA-256 is kept) with per-key
// limits, plus team budgets. The request path never touches SQLite: Lookup() reads an immutable
// in-memory snapshot that Reload() replaces atomically.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "limits/window.h"

struct sqlite3;

namespace hybridgate::limits {

inline constexpr std::string_view kKeyPrefix = "hg-";

// What `keys create` asks for. rpm/tpm 0 = unlimited; models empty = every model.
struct KeySpec {
  std::string team;
  std::string name;
  std::optional<Budget> budget;
  int64_t rpm = 0;
  int64_t tpm = 0;
  std::vector<std::string> models;
  int max_data_class = 5;  // requests classified above this are refused (5 = no limit)
  int min_data_class = 1;  // requests are treated as at least this sensitive (1 = no floor)
};

// One key as the gateway sees it. Immutable once in a snapshot.
struct KeyInfo {
  std::string id;  // "key_" + 12 hex digits; safe to print and log
  std::string team;
  std::string name;
  std::string hash_prefix;  // first 12 hex digits of the secret's SHA-256, for display
  int64_t created_unix = 0;
  bool revoked = false;
  std::optional<Budget> budget;
  int64_t rpm = 0;
  int64_t tpm = 0;
  std::vector<std::string> models;
  int max_data_class = 5;
  int min_data_class = 1;
  std::optional<Budget> team_budget;  // the team's row in `teams`, copied at load

  bool AllowsModel(std::string_view model) const;
};

struct TeamInfo {
  std::string team;
  std::optional<Budget> budget;
};

// A budget window's spend, as the process-local limiter persists it across restarts.
struct SpendRecord {
  bool team = false;   // a team's spend, else a key's
  std::string id;      // key id or team name
  std::string window;  // WindowId
  int64_t micro_usd = 0;
};

// The secret is returned here and nowhere else; the store keeps only its hash.
struct CreatedKey {
  std::string secret;  // "hg-" + 32 URL-safe characters
  KeyInfo info;
};

// Thread-safety: Lookup() and size() are lock-free readers for any number of threads. The other
// members block on SQLite (a busy database waits up to 5 s): call them from the CLI, the admin
// API's worker pool or a reload thread, never from an event loop.
class KeyStore {
 public:
  // Opens (creating if needed) the database at `path` and loads the snapshot.
  static Result<std::unique_ptr<KeyStore>> Open(const std::string& path);
  ~KeyStore();
  KeyStore(const KeyStore&) = delete;
  KeyStore& operator=(const KeyStore&) = delete;

  // Creates a key and reloads the snapshot. Fails on an empty team or out-of-range limits.
  Result<CreatedKey> Create(const KeySpec& spec);
  // Marks a key revoked (kept for the audit trail) and reloads. kNotFound for an unknown id.
  Status Revoke(std::string_view id);
  // Sets (or with nullopt clears) a team's budget and reloads.
  Status SetTeamBudget(std::string_view team, std::optional<Budget> budget);

  // Reads the database, newest first; revoked keys only with include_revoked.
  Result<std::vector<KeyInfo>> List(bool include_revoked) const;
  Result<std::vector<TeamInfo>> ListTeams() const;

  // Re-reads the database into a fresh snapshot (keys created by another process appear).
  Status Reload();
  // Reloads when another connection (the CLI, another replica on the same file) committed since
  // the last call; true when it did. Cheap (one PRAGMA): the gateway polls it every second, so a
  // key revoked by any means stops working within a second.
  Result<bool> ReloadIfChanged();

  // The process-local limiter's budget spends, kept in the key store so a restart does not
  // forget them (MemoryLimiter; Redis keeps its own). Blocking.
  Status SaveSpends(const std::vector<SpendRecord>& spends);
  Result<std::vector<SpendRecord>> LoadSpends() const;

  // Hot path. kUnauthenticated for an unknown, malformed or revoked secret. The pointer stays
  // valid however many reloads happen while the caller holds it.
  Result<std::shared_ptr<const KeyInfo>> Lookup(std::string_view secret) const;
  // Keys in the snapshot, revoked ones included.
  size_t size() const;

 private:
  struct Snapshot;
  KeyStore(sqlite3* db, std::string path);
  Result<std::shared_ptr<const Snapshot>> Load() const;

  sqlite3* db_;
  const std::string path_;
  std::pair<uint64_t, uint64_t> identity_;  // device and inode of the file db_ has open
  mutable std::mutex db_mu_;                // one statement at a time on db_
  std::mutex reload_mu_;  // reloads in order: an older snapshot never replaces a newer one
  std::atomic<std::shared_ptr<const Snapshot>> snapshot_;
  std::atomic<int64_t> data_version_{-1};  // PRAGMA data_version at the last poll
};

// kPermissionDenied naming the key and the model when the key may not use `model`.
Status CheckModelAllowed(const KeyInfo& key, std::string_view model);
// kPolicyBlocked when a request of `data_class` (1..5) exceeds the key's max_data_class.
Status CheckDataClass(const KeyInfo& key, int data_class);
// The class the rest of the pipeline should use: at least the key's min_data_class.
int EffectiveDataClass(const KeyInfo& key, int detected_class);

// Lower-case hex SHA-256 of `secret`.
std::string HashSecret(std::string_view secret);
// Constant-time comparison of two secrets (by their hashes); for the admin key.
bool SecretMatches(std::string_view presented, std::string_view expected);

}  // namespace hybridgate::limits
