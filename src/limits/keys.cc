#include "limits/keys.h"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <memory>
#include <unordered_map>

#include "common/sqlite_stmt.h"

namespace hybridgate::limits {
namespace {

using Digest = std::array<unsigned char, 32>;
constexpr size_t kSecretChars = 32;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS keys (
  id TEXT PRIMARY KEY,
  hash TEXT NOT NULL UNIQUE,
  team TEXT NOT NULL,
  name TEXT NOT NULL DEFAULT '',
  created INTEGER NOT NULL,
  revoked INTEGER NOT NULL DEFAULT 0,
  budget_usd REAL,
  budget_window TEXT,
  rpm INTEGER NOT NULL DEFAULT 0,
  tpm INTEGER NOT NULL DEFAULT 0,
  models TEXT NOT NULL DEFAULT '',
  max_data_class INTEGER NOT NULL DEFAULT 5,
  min_data_class INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS teams (
  team TEXT PRIMARY KEY,
  budget_usd REAL,
  budget_window TEXT
);
CREATE TABLE IF NOT EXISTS spend (
  scope TEXT NOT NULL,
  id TEXT NOT NULL,
  window TEXT NOT NULL,
  micro_usd INTEGER NOT NULL,
  PRIMARY KEY (scope, id)
);
)sql";

Error DbError(sqlite3* db, std::string_view what) {
  return MakeError(ErrorCode::kInternal,
                   fmt::format("key store: {}: {}", what, db ? sqlite3_errmsg(db) : "no database"));
}

// The identity of the file at `path` (device and inode), {0, 0} when it cannot be read.
std::pair<uint64_t, uint64_t> FileIdentity(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {0, 0};
  return {static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)};
}

Result<sqlite3*> OpenDb(const std::string& path) {
  sqlite3* db = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Error e =
        MakeError(ErrorCode::kInternal, fmt::format("key store: cannot open '{}': {}", path,
                                                    db ? sqlite3_errmsg(db) : "out of memory"));
    sqlite3_close(db);
    return Fail(std::move(e));
  }
  sqlite3_busy_timeout(db, 5000);
  if (sqlite3_exec(db, kSchema, nullptr, nullptr, nullptr) != SQLITE_OK) {
    Error e = DbError(db, fmt::format("cannot create tables in '{}'", path));
    sqlite3_close(db);
    return Fail(std::move(e));
  }
  return db;
}

using Stmt = SqliteStmt;

// SHA-256 fetched from its provider once: EVP_Digest(..., EVP_sha256()) fetches it again on
// every call, which costs more than hashing a key. Falls back to that if the fetch fails.
// Kept for the life of the process (never freed, so never after OpenSSL's own cleanup).
const EVP_MD* Sha256Md() {
  static const EVP_MD* const kMd = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
  return kMd != nullptr ? kMd : EVP_sha256();
}

Digest Sha256(std::string_view data) {
  // One context per thread, re-initialised per digest rather than allocated.
  thread_local const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(),
                                                                                 &EVP_MD_CTX_free);
  Digest d{};
  unsigned int len = 0;
  if (!ctx || EVP_DigestInit_ex(ctx.get(), Sha256Md(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), d.data(), &len) != 1) {
    EVP_Digest(data.data(), data.size(), d.data(), &len, EVP_sha256(), nullptr);
  }
  return d;
}

// Sha256 of a well-formed secret, memoised per thread: a client sends the same key on every
// request, and hashing it was 3.3% of a proxied request's instructions (callgrind). Direct-mapped
// on secret bytes (random for real keys; a crafted key only evicts), compared in constant time.
// Only the digest is memoised: revocation and reloads still go through the snapshot. The cost is
// that up to kSlots recent secrets stay in each worker's memory, as the request buffers that
// carried them already do.
Digest SecretDigest(std::string_view secret) {
  constexpr size_t kSlots = 64, kMax = 48;
  struct Slot {
    std::array<char, kMax> secret{};
    size_t size = 0;
    Digest digest{};
  };
  static_assert(kKeyPrefix.size() + kSecretChars <= kMax);
  thread_local std::array<Slot, kSlots> memo;
  uint64_t mix = secret.size();
  for (size_t i = kKeyPrefix.size(); i < secret.size() && i < kKeyPrefix.size() + 8; ++i) {
    mix = mix * 131 + static_cast<unsigned char>(secret[i]);
  }
  Slot& slot = memo[mix % kSlots];
  if (slot.size == secret.size() &&
      CRYPTO_memcmp(slot.secret.data(), secret.data(), secret.size()) == 0) {
    return slot.digest;
  }
  const Digest d = Sha256(secret);
  if (secret.size() <= kMax) {
    std::memcpy(slot.secret.data(), secret.data(), secret.size());
    slot.size = secret.size();
    slot.digest = d;
  }
  return d;
}

std::string Hex(const unsigned char* p, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[p[i] >> 4];
    out[2 * i + 1] = kDigits[p[i] & 15];
  }
  return out;
}

bool FromHex(std::string_view hex, Digest& out) {
  if (hex.size() != out.size() * 2) return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (size_t i = 0; i < out.size(); ++i) {
    const int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<unsigned char>(hi << 4 | lo);
  }
  return true;
}

Result<std::string> RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    return Fail(MakeError(ErrorCode::kInternal, "key store: RAND_bytes failed"));
  }
  return out;
}

// 24 random bytes as 32 characters of unpadded base64url.
Result<std::string> NewSecret() {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  auto bytes = RandomBytes(kSecretChars * 3 / 4);
  if (!bytes) return Fail(bytes.error());
  std::string out(kKeyPrefix);
  const auto* b = reinterpret_cast<const unsigned char*>(bytes->data());
  for (size_t i = 0; i + 2 < bytes->size(); i += 3) {
    const uint32_t v = uint32_t{b[i]} << 16 | uint32_t{b[i + 1]} << 8 | b[i + 2];
    for (int shift = 18; shift >= 0; shift -= 6) out += kAlphabet[(v >> shift) & 63];
  }
  OPENSSL_cleanse(bytes->data(), bytes->size());
  return out;
}

bool WellFormedSecret(std::string_view s) {
  if (s.size() != kKeyPrefix.size() + kSecretChars || !s.starts_with(kKeyPrefix)) return false;
  return std::all_of(s.begin() + kKeyPrefix.size(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
}

std::string JoinModels(const std::vector<std::string>& models) {
  std::string out;
  for (const auto& m : models) {
    if (!out.empty()) out += '\n';
    out += m;
  }
  return out;
}

std::vector<std::string> SplitModels(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    const size_t nl = s.find('\n');
    if (nl != 0) out.emplace_back(s.substr(0, nl));
    if (nl == std::string_view::npos) break;
    s.remove_prefix(nl + 1);
  }
  return out;
}

std::optional<Budget> ReadBudget(Stmt& st, int usd_col, int window_col) {
  if (st.ColNull(usd_col)) return std::nullopt;
  Budget b;
  b.usd = st.ColReal(usd_col);
  b.window = st.ColText(window_col) == "day" ? BudgetWindow::kDay : BudgetWindow::kMonth;
  return b;
}

void BindBudget(Stmt& st, int usd_col, int window_col, const std::optional<Budget>& b) {
  if (b) {
    st.Real(usd_col, b->usd);
    st.Text(window_col, WindowName(b->window));
  } else {
    st.Null(usd_col);
    st.Null(window_col);
  }
}

Error Invalid(std::string message) {
  return MakeError(ErrorCode::kInvalidRequest, std::move(message));
}

Status ValidateSpec(const KeySpec& s) {
  if (s.team.empty()) return Fail(Invalid("a key needs a team"));
  if (s.team.size() > 128 || s.name.size() > 256) return Fail(Invalid("team or name too long"));
  if (s.rpm < 0 || s.tpm < 0) return Fail(Invalid("rpm and tpm must be >= 0 (0 = unlimited)"));
  if (s.max_data_class < 1 || s.max_data_class > 5 || s.min_data_class < 1 ||
      s.min_data_class > 5) {
    return Fail(Invalid("data classes must be 1..5"));
  }
  if (s.min_data_class > s.max_data_class) {
    return Fail(Invalid("min data class is above max data class: every request would be refused"));
  }
  for (const auto& m : s.models) {
    if (m.empty() || m.find('\n') != std::string::npos) {
      return Fail(Invalid(fmt::format("bad model name '{}'", m)));
    }
  }
  return {};
}

constexpr const char* kSelectKeys =
    "SELECT id, hash, team, name, created, revoked, budget_usd, budget_window, rpm, tpm, models, "
    "max_data_class, min_data_class FROM keys";

KeyInfo ReadKey(Stmt& st) {
  KeyInfo k;
  k.id = st.ColText(0);
  k.hash_prefix = st.ColText(1).substr(0, 12);
  k.team = st.ColText(2);
  k.name = st.ColText(3);
  k.created_unix = st.ColInt(4);
  k.revoked = st.ColInt(5) != 0;
  k.budget = ReadBudget(st, 6, 7);
  k.rpm = st.ColInt(8);
  k.tpm = st.ColInt(9);
  k.models = SplitModels(st.ColText(10));
  k.max_data_class = static_cast<int>(st.ColInt(11));
  k.min_data_class = static_cast<int>(st.ColInt(12));
  return k;
}

uint64_t Bucket(const Digest& d) {
  uint64_t v;
  std::memcpy(&v, d.data(), sizeof v);
  return v;
}

}  // namespace

struct KeyStore::Snapshot {
  struct Entry {
    Digest digest;
    std::shared_ptr<const KeyInfo> info;
  };
  // Indexed by the digest's first 8 bytes; the whole digest is then compared in constant time.
  std::unordered_multimap<uint64_t, Entry> by_hash;
};

bool KeyInfo::AllowsModel(std::string_view model) const {
  return models.empty() || std::find(models.begin(), models.end(), model) != models.end();
}

Result<std::unique_ptr<KeyStore>> KeyStore::Open(const std::string& path) {
  auto db = OpenDb(path);
  if (!db) return Fail(std::move(db.error()));
  std::unique_ptr<KeyStore> store(new KeyStore(*db, path));
  if (Status s = store->Reload(); !s) return Fail(s.error());
  return store;
}

KeyStore::KeyStore(sqlite3* db, std::string path)
    : db_(db),
      path_(std::move(path)),
      identity_(FileIdentity(path_)),
      snapshot_(std::make_shared<const Snapshot>()) {}

KeyStore::~KeyStore() { sqlite3_close(db_); }

Result<CreatedKey> KeyStore::Create(const KeySpec& spec) {
  if (Status s = ValidateSpec(spec); !s) return Fail(s.error());
  CreatedKey out;
  {
    std::lock_guard lock(db_mu_);
    for (int attempt = 0;; ++attempt) {
      auto secret = NewSecret();
      if (!secret) return Fail(secret.error());
      auto id_bytes = RandomBytes(6);
      if (!id_bytes) return Fail(id_bytes.error());
      const Digest d = Sha256(*secret);
      KeyInfo& k = out.info;
      k.id = "key_" + Hex(reinterpret_cast<const unsigned char*>(id_bytes->data()), 6);
      k.team = spec.team;
      k.name = spec.name;
      k.hash_prefix = Hex(d.data(), d.size()).substr(0, 12);
      k.created_unix = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
      k.budget = spec.budget;
      k.rpm = spec.rpm;
      k.tpm = spec.tpm;
      k.models = spec.models;
      k.max_data_class = spec.max_data_class;
      k.min_data_class = spec.min_data_class;
      Stmt st(db_,
              "INSERT INTO keys (id, hash, team, name, created, revoked, budget_usd, "
              "budget_window, rpm, tpm, models, max_data_class, min_data_class) "
              "VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?7, ?8, ?9, ?10, ?11, ?12)");
      if (!st.ok()) return Fail(DbError(db_, "prepare insert"));
      st.Text(1, k.id);
      st.Text(2, Hex(d.data(), d.size()));
      st.Text(3, k.team);
      st.Text(4, k.name);
      st.Int(5, k.created_unix);
      BindBudget(st, 6, 7, k.budget);
      st.Int(8, k.rpm);
      st.Int(9, k.tpm);
      st.Text(10, JoinModels(k.models));
      st.Int(11, k.max_data_class);
      st.Int(12, k.min_data_class);
      const int rc = st.Step();
      if (rc == SQLITE_DONE) {
        out.secret = std::move(*secret);
        break;
      }
      // An id (or, absurdly, a hash) collision: draw again.
      if (rc != SQLITE_CONSTRAINT || attempt >= 3) return Fail(DbError(db_, "insert key"));
    }
  }
  if (Status s = Reload(); !s) return Fail(s.error());
  if (auto lookup = Lookup(out.secret); lookup) out.info = **lookup;
  return out;
}

Status KeyStore::Revoke(std::string_view id) {
  {
    std::lock_guard lock(db_mu_);
    Stmt st(db_, "UPDATE keys SET revoked = 1 WHERE id = ?1");
    if (!st.ok()) return Fail(DbError(db_, "prepare revoke"));
    st.Text(1, id);
    if (st.Step() != SQLITE_DONE) return Fail(DbError(db_, "revoke"));
    if (sqlite3_changes(db_) == 0) {
      return Fail(MakeError(ErrorCode::kNotFound, fmt::format("no key with id '{}'", id)));
    }
  }
  return Reload();
}

Status KeyStore::SetTeamBudget(std::string_view team, std::optional<Budget> budget) {
  if (team.empty()) return Fail(Invalid("team name is empty"));
  {
    std::lock_guard lock(db_mu_);
    Stmt st(db_,
            "INSERT INTO teams (team, budget_usd, budget_window) VALUES (?1, ?2, ?3) "
            "ON CONFLICT(team) DO UPDATE SET budget_usd = ?2, budget_window = ?3");
    if (!st.ok()) return Fail(DbError(db_, "prepare team update"));
    st.Text(1, team);
    BindBudget(st, 2, 3, budget);
    if (st.Step() != SQLITE_DONE) return Fail(DbError(db_, "team update"));
  }
  return Reload();
}

Result<std::vector<KeyInfo>> KeyStore::List(bool include_revoked) const {
  std::lock_guard lock(db_mu_);
  const std::string sql = std::string(kSelectKeys) + (include_revoked ? "" : " WHERE revoked = 0") +
                          " ORDER BY created DESC, id";
  Stmt st(db_, sql.c_str());
  if (!st.ok()) return Fail(DbError(db_, "prepare list"));
  std::vector<KeyInfo> out;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) out.push_back(ReadKey(st));
  if (rc != SQLITE_DONE) return Fail(DbError(db_, "list keys"));
  return out;
}

Result<std::vector<TeamInfo>> KeyStore::ListTeams() const {
  std::lock_guard lock(db_mu_);
  Stmt st(db_, "SELECT team, budget_usd, budget_window FROM teams ORDER BY team");
  if (!st.ok()) return Fail(DbError(db_, "prepare team list"));
  std::vector<TeamInfo> out;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) out.push_back({st.ColText(0), ReadBudget(st, 1, 2)});
  if (rc != SQLITE_DONE) return Fail(DbError(db_, "list teams"));
  return out;
}

Result<std::shared_ptr<const KeyStore::Snapshot>> KeyStore::Load() const {
  auto teams = ListTeams();
  if (!teams) return Fail(teams.error());
  std::unordered_map<std::string, std::optional<Budget>> team_budgets;
  for (auto& t : *teams) team_budgets[t.team] = t.budget;

  std::lock_guard lock(db_mu_);
  Stmt st(db_, kSelectKeys);
  if (!st.ok()) return Fail(DbError(db_, "prepare load"));
  auto snap = std::make_shared<Snapshot>();
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) {
    Snapshot::Entry e;
    if (!FromHex(st.ColText(1), e.digest)) continue;  // a row written by hand; unusable
    auto info = std::make_shared<KeyInfo>(ReadKey(st));
    if (auto it = team_budgets.find(info->team); it != team_budgets.end()) {
      info->team_budget = it->second;
    }
    e.info = std::move(info);
    snap->by_hash.emplace(Bucket(e.digest), std::move(e));
  }
  if (rc != SQLITE_DONE) return Fail(DbError(db_, "load keys"));
  return std::shared_ptr<const Snapshot>(std::move(snap));
}

Result<bool> KeyStore::ReloadIfChanged() {
  // A file replaced under its name (a restore, an editor's rename) is the key store from now on:
  // the old connection would keep reading the file that is gone.
  if (const auto identity = FileIdentity(path_); identity != identity_ && identity.first != 0) {
    auto db = OpenDb(path_);
    if (!db) return Fail(std::move(db.error()));
    {
      std::lock_guard lock(db_mu_);
      sqlite3_close(std::exchange(db_, *db));
      identity_ = identity;
    }
    data_version_ = -1;
  }
  int64_t version = 0;
  {
    std::lock_guard lock(db_mu_);
    Stmt st(db_, "PRAGMA data_version");
    if (!st.ok() || st.Step() != SQLITE_ROW) return Fail(DbError(db_, "data_version"));
    version = st.ColInt(0);
  }
  if (version == data_version_.exchange(version)) return false;
  if (auto s = Reload(); !s) return Fail(std::move(s.error()));
  return true;
}

Status KeyStore::Reload() {
  std::lock_guard lock(reload_mu_);
  auto snap = Load();
  if (!snap) return Fail(snap.error());
  snapshot_.store(std::move(*snap), std::memory_order_release);
  return {};
}

Status KeyStore::SaveSpends(const std::vector<SpendRecord>& spends) {
  std::lock_guard lock(db_mu_);
  if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return Fail(DbError(db_, "save spend"));
  }
  Stmt st(db_,
          "INSERT INTO spend(scope, id, window, micro_usd) VALUES (?1, ?2, ?3, ?4) "
          "ON CONFLICT(scope, id) DO UPDATE SET window = ?3, micro_usd = ?4");
  bool ok = st.ok();
  for (const SpendRecord& r : spends) {
    if (!ok) break;
    sqlite3_reset(st.get());
    st.Text(1, r.team ? "team" : "key");
    st.Text(2, r.id);
    st.Text(3, r.window);
    st.Int(4, r.micro_usd);
    ok = st.Step() == SQLITE_DONE;
  }
  if (!ok) {
    Error e = DbError(db_, "save spend");
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return Fail(std::move(e));
  }
  if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return Fail(DbError(db_, "save spend"));
  }
  return {};
}

Result<std::vector<SpendRecord>> KeyStore::LoadSpends() const {
  std::lock_guard lock(db_mu_);
  Stmt st(db_, "SELECT scope, id, window, micro_usd FROM spend");
  if (!st.ok()) return Fail(DbError(db_, "load spend"));
  std::vector<SpendRecord> out;
  while (st.Step() == SQLITE_ROW) {
    out.push_back({st.ColText(0) == "team", st.ColText(1), st.ColText(2), st.ColInt(3)});
  }
  return out;
}

Result<std::shared_ptr<const KeyInfo>> KeyStore::Lookup(std::string_view secret) const {
  if (!WellFormedSecret(secret)) {
    return Fail(MakeError(ErrorCode::kUnauthenticated,
                          "invalid API key: expected a HybridGate virtual key (hg-...)"));
  }
  const Digest d = SecretDigest(secret);
  const std::shared_ptr<const Snapshot> snap = snapshot_.load(std::memory_order_acquire);
  auto [begin, end] = snap->by_hash.equal_range(Bucket(d));
  for (auto it = begin; it != end; ++it) {
    if (CRYPTO_memcmp(it->second.digest.data(), d.data(), d.size()) != 0) continue;
    if (it->second.info->revoked) {
      return Fail(MakeError(ErrorCode::kUnauthenticated,
                            fmt::format("API key {} has been revoked", it->second.info->id)));
    }
    // Aliasing constructor: the KeyInfo keeps its whole snapshot alive.
    return std::shared_ptr<const KeyInfo>(snap, it->second.info.get());
  }
  return Fail(MakeError(ErrorCode::kUnauthenticated, "invalid API key"));
}

size_t KeyStore::size() const { return snapshot_.load(std::memory_order_acquire)->by_hash.size(); }

Status CheckModelAllowed(const KeyInfo& key, std::string_view model) {
  if (key.AllowsModel(model)) return {};
  return Fail(MakeError(ErrorCode::kPermissionDenied,
                        fmt::format("key {} may not use model '{}'", key.id, model), "model"));
}

Status CheckDataClass(const KeyInfo& key, int data_class) {
  if (data_class <= key.max_data_class) return {};
  return Fail(MakeError(ErrorCode::kPolicyBlocked,
                        fmt::format("request contains data of class {}; key {} is limited to "
                                    "class {} and below",
                                    data_class, key.id, key.max_data_class)));
}

int EffectiveDataClass(const KeyInfo& key, int detected_class) {
  return std::max(detected_class, key.min_data_class);
}

std::string HashSecret(std::string_view secret) {
  const Digest d = Sha256(secret);
  return Hex(d.data(), d.size());
}

bool SecretMatches(std::string_view presented, std::string_view expected) {
  if (expected.empty()) return false;
  const Digest a = Sha256(presented), b = Sha256(expected);
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace hybridgate::limits
