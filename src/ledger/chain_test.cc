#include "ledger/chain.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>
#include <vector>

#include "ledger/ledger.h"
#include "ledger/schema.h"
#include "ledger/sink.h"
#include "ledger/test_util.h"

namespace hybridgate::ledger {
namespace {

using testing::FreshPath;
using testing::MakeRow;
using testing::Unchained;

// Runs `sql` on its own read-write connection, as someone tampering with the file would.
void ExecSql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* msg = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &msg);
  const std::string error = msg ? msg : "";
  sqlite3_free(msg);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << sql << ": " << error;
}

std::vector<Row> RowsInSeqOrder(const std::string& path) {
  std::vector<Row> rows;
  Status s = ScanSqliteRows(path, {.order = RowOrder::kSeq}, [&](const Row& row) -> Status {
    rows.push_back(row);
    return {};
  });
  EXPECT_TRUE(s) << s.error().message;
  return rows;
}

ChainCheck Verify(const std::string& path) {
  ChainVerifier v;
  for (const Row& row : RowsInSeqOrder(path)) v.Add(row);
  return v.result();
}

// Writes rows 0..n-1 through a real ledger (its writer thread, batches of `batch`).
void WriteRows(const std::string& path, int from, int n, int64_t batch = 4) {
  LedgerConfig config;
  config.path = path;
  config.max_batch = batch;
  auto ledger = Ledger::Open(config);
  ASSERT_TRUE(ledger) << ledger.error().message;
  for (int i = from; i < from + n; ++i) (*ledger)->Record(MakeRow(i));
  ASSERT_TRUE((*ledger)->Flush());
}

TEST(ChainTest, CanonicalFormAndHashMatchTheDocumentedDefinition) {
  Row r;
  r.id = "req-1";
  r.time_ms = 1'700'000'000'000;
  r.key = "k";
  r.endpoint = "openai_chat";
  r.route = "default";
  r.tier = "weak";
  r.provider = "openai";
  r.model = "gpt-4o";
  r.attempts = 2;
  r.fallback = true;
  r.status = 200;
  r.input_tokens = 10;
  r.cached_input_tokens = 2;
  r.output_tokens = 5;
  r.cost_usd = 0.25;
  r.latency_ms = 120;
  r.ttft_ms = -1;
  r.data_class = 3;
  r.finding_types = "email";
  r.provider_zone = "external";
  r.provider_max_class = 3;
  r.residency_action = "none";
  r.egress = "openai:external:3:ok";
  r.seq = 1;
  r.prev_hash = std::string(kGenesisHash);
  r.hash = "ignored: never part of its own input";
  EXPECT_EQ(CanonicalRow(r),
            "id:5:req-1\ntime_ms:13:1700000000000\nkey_name:1:k\nteam:0:\nendpoint:11:openai_chat\n"
            "route:7:default\ntier:4:weak\nprovider:6:openai\nmodel:6:gpt-4o\nattempts:1:2\n"
            "fallback:1:1\nescalated:1:0\nstream:1:0\nstatus:3:200\nerror_code:0:\n"
            "input_tokens:2:10\ncached_input_tokens:1:2\noutput_tokens:1:5\n"
            "usage_estimated:1:0\ncost_usd:16:3fd0000000000000\nlatency_ms:3:120\nttft_ms:2:-1\n"
            "data_class:1:3\nfinding_types:5:email\nprovider_zone:8:external\n"
            "provider_max_class:1:3\nresidency_action:4:none\negress:20:openai:external:3:ok\n"
            "seq:1:1\n");
  // Computed independently: Python's hashlib.sha256((prev_hash + canonical).encode()).
  EXPECT_EQ(RowHash(r), "71de9e6269f63109316050fa23b067f12b330b676cd02745cfe3a0459609fc2b");
  // Length prefixes keep fields apart: moving a character across a boundary changes the hash.
  Row moved = r;
  moved.key = "";
  moved.team = "k";
  EXPECT_NE(RowHash(moved), RowHash(r));
}

TEST(ChainTest, TheWriterThreadChainsRowsInCommitOrder) {
  const std::string path = FreshPath("chain_threads.db");
  LedgerConfig config;
  config.path = path;
  config.max_batch = 64;  // many batches, so many transactions each continuing the last
  auto ledger = Ledger::Open(config);
  ASSERT_TRUE(ledger) << ledger.error().message;
  constexpr int kThreads = 4, kPerThread = 400;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) (*ledger)->Record(MakeRow(t * kPerThread + i));
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_TRUE((*ledger)->Flush());

  const std::vector<Row> rows = RowsInSeqOrder(path);
  ASSERT_EQ(rows.size(), static_cast<size_t>(kThreads * kPerThread));
  std::string prev(kGenesisHash);
  for (size_t i = 0; i < rows.size(); ++i) {
    ASSERT_EQ(rows[i].seq, static_cast<int64_t>(i + 1));
    ASSERT_EQ(rows[i].prev_hash, prev) << "seq " << rows[i].seq;
    ASSERT_EQ(rows[i].hash.size(), 64u);
    ASSERT_EQ(RowHash(rows[i]), rows[i].hash) << "seq " << rows[i].seq;
    prev = rows[i].hash;
  }
  const ChainCheck check = Verify(path);
  EXPECT_TRUE(check.intact) << check.problem;
  EXPECT_EQ(check.rows, kThreads * kPerThread);
  EXPECT_EQ(check.unhashed, 0);
  EXPECT_EQ(check.head_hash, rows.back().hash);
  EXPECT_EQ(DescribeChainCheck(check).rfind(
                "1600 rows, chain intact; head seq 1600 hash " + rows.back().hash, 0),
            0u)
      << DescribeChainCheck(check);
}

TEST(ChainTest, DeletingAMiddleRowNamesTheRowAfterIt) {
  const std::string path = FreshPath("chain_delete.db");
  WriteRows(path, 0, 10);
  ASSERT_TRUE(Verify(path).intact);
  const std::vector<Row> before = RowsInSeqOrder(path);
  ExecSql(path, "DELETE FROM requests WHERE seq = 5");
  const ChainCheck check = Verify(path);
  EXPECT_FALSE(check.intact);
  EXPECT_EQ(check.broken_seq, 6);
  EXPECT_EQ(check.broken_id, before[5].id);
  EXPECT_EQ(check.rows, 9);
  const std::string line = DescribeChainCheck(check);
  EXPECT_EQ(line.rfind("chain broken at seq 6 (id " + before[5].id + "): prev_hash mismatch", 0),
            0u)
      << line;
  EXPECT_NE(line.find("(seq 4, id " + before[3].id + ")"), std::string::npos) << line;
  EXPECT_NE(line.find("deleted"), std::string::npos) << line;
}

TEST(ChainTest, DeletingTheFirstRowIsFoundToo) {
  const std::string path = FreshPath("chain_delete_first.db");
  WriteRows(path, 0, 5);
  ExecSql(path, "DELETE FROM requests WHERE seq = 1");
  const ChainCheck check = Verify(path);
  EXPECT_FALSE(check.intact);
  EXPECT_EQ(check.broken_seq, 2);
  EXPECT_NE(check.problem.find("the row(s) before it were deleted"), std::string::npos)
      << check.problem;
}

TEST(ChainTest, EditingAnyColumnNamesThatRow) {
  struct Case {
    std::string sql;
    int64_t broken_seq;
    std::string problem;
  };
  const std::vector<Case> cases = {
      {"UPDATE requests SET cost_usd = cost_usd + 0.01 WHERE seq = 4", 4, "hash mismatch"},
      {"UPDATE requests SET data_class = data_class % 5 + 1 WHERE seq = 4", 4, "hash mismatch"},
      {"UPDATE requests SET egress = 'local:self_hosted:5:ok' WHERE seq = 7", 7, "hash mismatch"},
      {"UPDATE requests SET finding_types = finding_types || ',iban' WHERE seq = 2", 2,
       "hash mismatch"},
      {"UPDATE requests SET provider_max_class = provider_max_class + 1 WHERE seq = 3", 3,
       "hash mismatch"},
      {"UPDATE requests SET residency_action = 'route' WHERE seq = 8", 8, "hash mismatch"},
      {"UPDATE requests SET prev_hash = hash WHERE seq = 6", 6, "hash mismatch"},
      // Moving rows: seq is hashed, so the row now at seq 3 no longer matches its hash.
      {"UPDATE requests SET seq = CASE seq WHEN 3 THEN 4 ELSE 3 END WHERE seq IN (3, 4)", 3,
       "hash mismatch"},
      // Blanking a hash is not a way to make a row look as if it predated the chain.
      {"UPDATE requests SET hash = '', prev_hash = '' WHERE seq = 5", 5, "no hash"},
  };
  for (const Case& c : cases) {
    const std::string path = FreshPath("chain_edit.db");
    WriteRows(path, 0, 10);
    ExecSql(path, c.sql);
    const ChainCheck check = Verify(path);
    EXPECT_FALSE(check.intact) << c.sql;
    EXPECT_EQ(check.broken_seq, c.broken_seq) << c.sql;
    EXPECT_EQ(check.problem.rfind(c.problem, 0), 0u) << c.sql << ": " << check.problem;
  }
}

TEST(ChainTest, AnEditedRowWhoseHashIsRecomputedIsCaughtAtTheNextRow) {
  const std::string path = FreshPath("chain_rehash.db");
  WriteRows(path, 0, 10);
  Row edited = RowsInSeqOrder(path)[3];  // seq 4
  edited.data_class = edited.data_class % 5 + 1;
  edited.hash = RowHash(edited);
  ExecSql(path, "UPDATE requests SET data_class = " + std::to_string(edited.data_class) +
                    ", hash = '" + edited.hash + "' WHERE seq = 4");
  const ChainCheck check = Verify(path);
  EXPECT_FALSE(check.intact);
  EXPECT_EQ(check.broken_seq, 5);
  EXPECT_EQ(check.problem.rfind("prev_hash mismatch", 0), 0u) << check.problem;
}

TEST(ChainTest, ReopeningContinuesTheChain) {
  const std::string path = FreshPath("chain_reopen.db");
  WriteRows(path, 0, 5);
  WriteRows(path, 5, 7);  // a new Ledger and sink: the gateway restarted
  const std::vector<Row> rows = RowsInSeqOrder(path);
  ASSERT_EQ(rows.size(), 12u);
  EXPECT_EQ(rows[5].seq, 6);
  EXPECT_EQ(rows[5].prev_hash, rows[4].hash);
  EXPECT_EQ(Unchained(rows[5]), MakeRow(5));
  const ChainCheck check = Verify(path);
  EXPECT_TRUE(check.intact) << check.problem;
  EXPECT_EQ(check.rows, 12);
}

// Two sinks on one file (two processes sharing it) still make one chain: each reads the tail
// inside its own write transaction.
TEST(ChainTest, TwoWritersOnOneFileMakeOneChain) {
  const std::string path = FreshPath("chain_two.db");
  auto a = OpenSqliteSink(path);
  auto b = OpenSqliteSink(path);
  ASSERT_TRUE(a && b);
  for (int i = 0; i < 6; ++i) {
    std::vector<Row> batch = {MakeRow(2 * i), MakeRow(2 * i + 1)};
    ASSERT_TRUE(((i % 2) ? *b : *a)->Write(batch));
  }
  const ChainCheck check = Verify(path);
  EXPECT_TRUE(check.intact) << check.problem;
  EXPECT_EQ(check.rows, 12);
  EXPECT_EQ(check.head_seq, 12);
}

// A sink remembers the tail it committed and reads the table again only after another
// connection has committed: batches taking turns in every pattern still make one chain.
TEST(ChainTest, ARememberedTailIsReadAgainAfterAnotherWriterCommits) {
  const std::string path = FreshPath("chain_turns.db");
  auto a = OpenSqliteSink(path);
  auto b = OpenSqliteSink(path);
  ASSERT_TRUE(a && b);
  int next = 0;
  for (const char writer : std::string("aabbbabaab")) {
    std::vector<Row> batch = {MakeRow(next), MakeRow(next + 1), MakeRow(next + 2)};
    next += 3;
    ASSERT_TRUE((writer == 'a' ? *a : *b)->Write(batch));
  }
  // A row written by hand, outside any sink (as an older build or a tamperer would), between
  // two of a's batches: a's next batch chains after it, as it did when every batch read the tail.
  ExecSql(path,
          "INSERT INTO requests SELECT * FROM requests ORDER BY seq DESC LIMIT 1; "
          "UPDATE requests SET id = 'manual', seq = seq + 1 WHERE rowid = last_insert_rowid()");
  std::vector<Row> last = {MakeRow(next)};
  ASSERT_TRUE((*a)->Write(last));
  EXPECT_EQ(last[0].seq, next + 2);
  const ChainCheck check = Verify(path);
  EXPECT_EQ(last[0].prev_hash, RowsInSeqOrder(path)[static_cast<size_t>(next)].hash);
  EXPECT_FALSE(check.intact);  // the hand-written row's hash is not its own
  EXPECT_EQ(check.broken_id, "manual");
}

// The writer hashes with a context and buffers it reuses: every row's hash is still the one-shot
// SHA-256 of its prev_hash and canonical form, whatever the sizes of the rows before it.
TEST(ChainTest, ReusedHashStateGivesTheOneShotDigest) {
  std::vector<Row> rows;
  for (int i = 0; i < 40; ++i) {
    Row row = MakeRow(i);
    row.egress = std::string(static_cast<size_t>((i * 997) % 3000), 'e');  // grows and shrinks
    rows.push_back(std::move(row));
  }
  ChainRows(rows, ChainTail{.seq = 7, .hash = std::string(64, 'a')});
  for (const Row& row : rows) {
    const std::string data = row.prev_hash + CanonicalRow(row);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    ASSERT_EQ(EVP_Digest(data.data(), data.size(), md, &n, EVP_sha256(), nullptr), 1);
    std::string hex;
    for (unsigned i = 0; i < n; ++i) {
      static constexpr char kDigits[] = "0123456789abcdef";
      hex += kDigits[md[i] >> 4];
      hex += kDigits[md[i] & 0xf];
    }
    EXPECT_EQ(row.hash, hex) << row.seq;
    EXPECT_EQ(RowHash(row), hex);
  }
  EXPECT_EQ(rows[0].seq, 8);
  EXPECT_EQ(rows[0].prev_hash, std::string(64, 'a'));
  EXPECT_EQ(rows[1].prev_hash, rows[0].hash);
}

// kill -9 of a process in the middle of writing loses at most its last batch: whatever was
// committed is a whole chain, and a restarted writer continues it.
TEST(ChainTest, KillNineNeverLeavesABrokenChain) {
  const std::string path = FreshPath("chain_kill.db");
  WriteRows(path, 0, 1);  // the schema exists before the child starts
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    LedgerConfig config;
    config.path = path;
    config.flush_interval_ms = 1;
    config.max_batch = 50;
    auto ledger = Ledger::Open(config);
    if (!ledger) _exit(3);
    for (int i = 1;; ++i) {
      (*ledger)->Record(MakeRow(i));
      if (i % 100 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  // Kill it once it has committed a good number of batches.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    sqlite3* db = nullptr;
    sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
    sqlite3_stmt* st = nullptr;
    int64_t n = 0;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM requests", -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
      n = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    if (n > 2000) break;
  }
  ASSERT_EQ(kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the child exited by itself: " << status;

  ChainCheck check = Verify(path);
  EXPECT_TRUE(check.intact) << DescribeChainCheck(check);
  EXPECT_GT(check.rows, 2000);
  const int64_t committed = check.rows;
  WriteRows(path, 1'000'000, 3);  // restarted: continues after the last committed row
  check = Verify(path);
  EXPECT_TRUE(check.intact) << DescribeChainCheck(check);
  EXPECT_EQ(check.rows, committed + 3);
  EXPECT_EQ(check.head_seq, committed + 3);
}

// The version-1 table: the 23 columns before residency facts and the chain.
constexpr const char* kVersionOneSchema =
    "CREATE TABLE schema_version (version INTEGER NOT NULL);"
    "INSERT INTO schema_version VALUES (1);"
    "CREATE TABLE requests (id TEXT NOT NULL, time_ms INTEGER NOT NULL, key_name TEXT NOT NULL,"
    " team TEXT NOT NULL, endpoint TEXT NOT NULL, route TEXT NOT NULL, tier TEXT NOT NULL,"
    " provider TEXT NOT NULL, model TEXT NOT NULL, attempts INTEGER NOT NULL,"
    " fallback INTEGER NOT NULL, escalated INTEGER NOT NULL, stream INTEGER NOT NULL,"
    " status INTEGER NOT NULL, error_code TEXT NOT NULL, input_tokens INTEGER NOT NULL,"
    " cached_input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL,"
    " usage_estimated INTEGER NOT NULL, cost_usd REAL NOT NULL, latency_ms INTEGER NOT NULL,"
    " ttft_ms INTEGER NOT NULL, data_class INTEGER NOT NULL);"
    "CREATE INDEX requests_time_ms ON requests (time_ms);";

std::string OldRowSql(int i) {
  return "INSERT INTO requests VALUES ('old-" + std::to_string(i) + "', " +
         std::to_string(1'600'000'000'000 + i) +
         ", 'k', '', 'openai_chat', 'default', 'weak', 'openai', 'gpt-4o', 1, 0, 0, 0, 200, '', "
         "10, 0, 5, 0, 0.001, 100, -1, 1);";
}

TEST(ChainTest, AVersionOneLedgerIsReadAsIsThenMigratedByTheWriter) {
  const std::string path = FreshPath("chain_v1.db");
  ExecSql(path, std::string(kVersionOneSchema) + OldRowSql(1) + OldRowSql(2) + OldRowSql(3));

  // Read-only tools read it unchanged: the new columns read empty, nothing is chained.
  auto old_rows = LoadSqliteRows(path, 0);
  ASSERT_TRUE(old_rows) << old_rows.error().message;
  ASSERT_EQ(old_rows->size(), 3u);
  EXPECT_EQ((*old_rows)[0].id, "old-1");
  EXPECT_EQ((*old_rows)[0].residency_action, "");
  EXPECT_EQ((*old_rows)[0].hash, "");
  ChainCheck check = Verify(path);
  EXPECT_TRUE(check.intact);
  EXPECT_EQ(DescribeChainCheck(check),
            "3 rows, none hash-chained (all written before ledger schema version 2): nothing to "
            "verify");

  // The writer migrates: the columns are added, old rows keep their order as seq 1..3.
  WriteRows(path, 0, 2);
  const std::vector<Row> rows = RowsInSeqOrder(path);
  ASSERT_EQ(rows.size(), 5u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(rows[i].id, "old-" + std::to_string(i + 1));
    EXPECT_EQ(rows[i].seq, i + 1);
    EXPECT_EQ(rows[i].hash, "");
    EXPECT_EQ(rows[i].cost_usd, 0.001);
  }
  EXPECT_EQ(rows[3].seq, 4);
  EXPECT_EQ(rows[3].prev_hash, kGenesisHash);
  EXPECT_EQ(Unchained(rows[3]), MakeRow(0));
  check = Verify(path);
  EXPECT_TRUE(check.intact) << check.problem;
  EXPECT_EQ(check.unhashed, 3);
  EXPECT_EQ(check.first_seq, 4);
  const std::string line = DescribeChainCheck(check);
  EXPECT_EQ(line.rfind("5 rows, chain intact from seq 4 (id " + rows[3].id +
                           "); the 3 rows before it predate the hash chain and are not covered",
                       0),
            0u)
      << line;

  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db,
                               "SELECT (SELECT version FROM schema_version), (SELECT count(*) "
                               "FROM sqlite_master WHERE name = 'requests_seq')",
                               -1, &st, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int64(st, 0), kSchemaVersion);
  EXPECT_EQ(sqlite3_column_int64(st, 1), 1);
  sqlite3_finalize(st);
  sqlite3_close(db);
}

}  // namespace
}  // namespace hybridgate::ledger
