// The PostgreSQL sink against a real, throwaway cluster: initdb into a temp dir, postgres on a
// free loopback port, torn down afterwards. PostgreSQL refuses to run as root, so under root the
// server runs as `nobody` (runuser) in a directory that user owns. Without the server binaries
// (Debian package `postgresql`, installed by scripts/setup.sh) the tests fail, never skip.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "ledger/chain.h"
#include "ledger/cli.h"
#include "ledger/ledger.h"
#include "ledger/test_util.h"
#include "ledger/testing/pg_cluster.h"

namespace hybridgate::ledger {
namespace {

namespace fs = std::filesystem;
using testing::MakeRow;

class PostgresTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { cluster_ = new testing::PgCluster(); }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  static int PgCtl(const std::string& action) { return cluster_->PgCtl(action); }

  void SetUp() override {
    ASSERT_TRUE(cluster_->started()) << cluster_->error();
    dsn_ = cluster_->dsn();
    // Each test starts from an empty database, so the sink's schema creation runs every time.
    PGconn* conn = PQconnectdb(dsn_.c_str());
    ASSERT_EQ(PQstatus(conn), CONNECTION_OK) << PQerrorMessage(conn);
    PGresult* r =
        PQexec(conn, "DROP TABLE IF EXISTS requests; DROP TABLE IF EXISTS schema_version");
    EXPECT_EQ(PQresultStatus(r), PGRES_COMMAND_OK) << PQerrorMessage(conn);
    PQclear(r);
    PQfinish(conn);
  }

  std::string ExecPg(const std::string& sql) const { return cluster_->Exec(sql); }

  struct Output {
    int code = -1;
    std::string out, err;
  };
  Output Verify() const {
    std::ostringstream out, err;
    AuditOptions o;
    o.ledger = dsn_;
    Output r{RunAuditVerify(o, out, err), out.str(), err.str()};
    return r;
  }
  Output Audit() const {
    std::ostringstream out, err;
    AuditOptions o;
    o.ledger = dsn_;
    Output r{RunAudit(o, out, err), out.str(), err.str()};
    return r;
  }

  LedgerConfig Config() const {
    LedgerConfig c;
    c.backend = "postgres";
    c.dsn = dsn_;
    return c;
  }

  static inline testing::PgCluster* cluster_ = nullptr;
  std::string dsn_;
};

TEST_F(PostgresTest, RowsFromFourThreadsLandWithEveryField) {
  auto ledger = Ledger::Open(Config());
  ASSERT_TRUE(ledger) << ledger.error().message;
  constexpr int kThreads = 4, kPerThread = 1500;  // > 2000 rows: several INSERT statements
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) (*ledger)->Record(MakeRow(t * kPerThread + i));
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_TRUE((*ledger)->Flush());
  auto rows = LoadPostgresRows(dsn_, 0);
  ASSERT_TRUE(rows) << rows.error().message;
  ASSERT_EQ(rows->size(), static_cast<size_t>(kThreads * kPerThread));
  for (int i = 0; i < kThreads * kPerThread; ++i) {
    ASSERT_EQ(testing::Unchained((*rows)[i]), MakeRow(i)) << i;
  }

  // The report reads the same database through its DSN.
  std::ostringstream out, err;
  ReportOptions o;
  o.ledger = dsn_;
  o.by = "provider";
  o.format = "csv";
  EXPECT_EQ(RunReport(o, out, err), 0) << err.str();
  EXPECT_EQ(out.str().rfind("provider,requests,", 0), 0u) << out.str();
}

TEST_F(PostgresTest, ReconnectsAndRetriesAfterTheServerRestarts) {
  LedgerConfig config = Config();
  auto ledger = Ledger::Open(config);
  ASSERT_TRUE(ledger) << ledger.error().message;
  Row a = MakeRow(1'000'000);
  (*ledger)->Record(a);
  ASSERT_TRUE((*ledger)->Flush());
  ASSERT_EQ(PgCtl("restart -m fast"), 0) << cluster_->Log();
  Row b = MakeRow(1'000'001);
  (*ledger)->Record(b);
  ASSERT_TRUE((*ledger)->Flush());  // the first attempt hits the dead connection
  auto after = LoadPostgresRows(dsn_, a.time_ms);
  ASSERT_TRUE(after) << after.error().message;
  ASSERT_EQ(after->size(), 2u);
  EXPECT_EQ(testing::Unchained((*after)[0]), a);
  EXPECT_EQ(testing::Unchained((*after)[1]), b);
  EXPECT_EQ((*after)[1].prev_hash, (*after)[0].hash);  // the chain survives the reconnect
}

// A row that went where its class may go.
Row Allowed(int i) {
  Row r = MakeRow(i);
  r.data_class = 1 + i % 2;
  r.provider = "openai";
  r.provider_zone = "external";
  r.provider_max_class = 2;
  r.residency_action = "none";
  r.egress = "openai:external:2:ok";
  return r;
}

TEST_F(PostgresTest, ChainsAuditsAndVerifies) {
  {
    auto ledger = Ledger::Open(Config());
    ASSERT_TRUE(ledger) << ledger.error().message;
    for (int i = 0; i < 20; ++i) (*ledger)->Record(Allowed(i));
  }
  Output clean = Audit();
  EXPECT_EQ(clean.code, 0) << clean.err << clean.out;
  EXPECT_NE(clean.out.find("no violations: "), std::string::npos) << clean.out;
  {
    auto ledger = Ledger::Open(Config());  // a restart continues the chain
    ASSERT_TRUE(ledger) << ledger.error().message;
    Row planted = Allowed(20);
    planted.id = "planted-violation";
    planted.data_class = 4;
    (*ledger)->Record(planted);
    for (int i = 21; i < 30; ++i) (*ledger)->Record(Allowed(i));
  }
  Output ok = Verify();
  EXPECT_EQ(ok.code, 0) << ok.err;
  EXPECT_EQ(ok.out.rfind("30 rows, chain intact; head seq 30 hash ", 0), 0u) << ok.out;
  Output audit = Audit();
  EXPECT_EQ(audit.code, 1) << audit.err;
  EXPECT_NE(audit.out.find("seq 21 (id planted-violation, "), std::string::npos) << audit.out;
  EXPECT_NE(audit.out.find("data class 4 sent to openai (external, max_data_class 2)"),
            std::string::npos)
      << audit.out;

  auto rows = LoadPostgresRows(dsn_, 0);
  ASSERT_TRUE(rows) << rows.error().message;
  ASSERT_EQ(rows->size(), 30u);
  for (const Row& r : *rows) EXPECT_EQ(RowHash(r), r.hash) << r.seq;  // read back exactly

  ASSERT_EQ(ExecPg("DELETE FROM requests WHERE seq = 10"), "");
  Output deleted = Verify();
  EXPECT_EQ(deleted.code, 1);
  EXPECT_EQ(deleted.out.rfind(
                "chain broken at seq 11 (id " + (*rows)[10].id + "): prev_hash mismatch", 0),
            0u)
      << deleted.out;
  ASSERT_EQ(ExecPg("UPDATE requests SET cost_usd = cost_usd + 0.5 WHERE seq = 5"), "");
  Output edited = Verify();
  EXPECT_EQ(edited.code, 1);
  EXPECT_EQ(edited.out.rfind("chain broken at seq 5 (id " + (*rows)[4].id + "): hash mismatch", 0),
            0u)
      << edited.out;
}

// Replicas share the table: their batches chain one after another, never fork.
TEST_F(PostgresTest, TwoReplicasMakeOneChain) {
  LedgerConfig config = Config();
  config.max_batch = 7;
  auto a = Ledger::Open(config);
  auto b = Ledger::Open(config);
  ASSERT_TRUE(a && b);
  std::thread ta([&] {
    for (int i = 0; i < 300; ++i) (*a)->Record(MakeRow(i));
  });
  std::thread tb([&] {
    for (int i = 300; i < 600; ++i) (*b)->Record(MakeRow(i));
  });
  ta.join();
  tb.join();
  ASSERT_TRUE((*a)->Flush());
  ASSERT_TRUE((*b)->Flush());
  Output r = Verify();
  EXPECT_EQ(r.code, 0) << r.err << r.out;
  EXPECT_EQ(r.out.rfind("600 rows, chain intact; head seq 600 ", 0), 0u) << r.out;
}

// On PostgreSQL the anchor is opt-in (ledger.anchor_path), one per replica.
TEST_F(PostgresTest, AnAnchorFindsRowsCutOffTheEnd) {
  LedgerConfig config = Config();
  config.anchor_path = testing::FreshPath("pg_anchor.head");
  {
    auto ledger = Ledger::Open(config);
    ASSERT_TRUE(ledger) << ledger.error().message;
    for (int i = 0; i < 12; ++i) (*ledger)->Record(MakeRow(i));
  }
  ASSERT_EQ(ExecPg("DELETE FROM requests WHERE seq > 9"), "");
  Output plain = Verify();  // no anchor named: the shorter chain looks intact
  EXPECT_EQ(plain.code, 0) << plain.out;
  std::ostringstream out, err;
  AuditOptions o;
  o.ledger = dsn_;
  o.anchor = config.anchor_path;
  EXPECT_EQ(RunAuditVerify(o, out, err), 1) << err.str();
  EXPECT_EQ(out.str().rfind("chain broken after seq 9: the anchor holds seq 12", 0), 0u)
      << out.str();
  auto refused = Ledger::Open(config);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("cut off the end"), std::string::npos)
      << refused.error().message;
}

TEST_F(PostgresTest, MigratesAVersionOneTable) {
  ASSERT_EQ(
      ExecPg("CREATE TABLE schema_version (version INTEGER NOT NULL);"
             "INSERT INTO schema_version VALUES (1);"
             "CREATE TABLE requests (id TEXT NOT NULL, time_ms BIGINT NOT NULL,"
             " key_name TEXT NOT NULL, team TEXT NOT NULL, endpoint TEXT NOT NULL,"
             " route TEXT NOT NULL, tier TEXT NOT NULL, provider TEXT NOT NULL,"
             " model TEXT NOT NULL, attempts BIGINT NOT NULL, fallback SMALLINT NOT NULL,"
             " escalated SMALLINT NOT NULL, stream SMALLINT NOT NULL, status BIGINT NOT NULL,"
             " error_code TEXT NOT NULL, input_tokens BIGINT NOT NULL,"
             " cached_input_tokens BIGINT NOT NULL, output_tokens BIGINT NOT NULL,"
             " usage_estimated SMALLINT NOT NULL, cost_usd DOUBLE PRECISION NOT NULL,"
             " latency_ms BIGINT NOT NULL, ttft_ms BIGINT NOT NULL,"
             " data_class BIGINT NOT NULL);"
             "INSERT INTO requests VALUES ('old-2', 1600000000002, 'k', '', 'openai_chat', "
             "'default', 'weak', 'openai', 'gpt-4o', 1, 0, 0, 0, 200, '', 10, 0, 5, 0, 0.001, "
             "100, -1, 1), ('old-1', 1600000000001, 'k', '', 'openai_chat', 'default', "
             "'weak', 'openai', 'gpt-4o', 1, 0, 0, 0, 200, '', 10, 0, 5, 0, 0.001, 100, -1, 1)"),
      "");
  // Read-only tools read the old table as it is.
  auto old_rows = LoadPostgresRows(dsn_, 0);
  ASSERT_TRUE(old_rows) << old_rows.error().message;
  ASSERT_EQ(old_rows->size(), 2u);
  EXPECT_EQ((*old_rows)[0].id, "old-1");
  Output before = Verify();
  EXPECT_EQ(before.code, 0) << before.err;
  EXPECT_NE(before.out.find("2 rows, none hash-chained"), std::string::npos) << before.out;

  {
    auto ledger = Ledger::Open(Config());
    ASSERT_TRUE(ledger) << ledger.error().message;
    (*ledger)->Record(MakeRow(0));
    (*ledger)->Record(MakeRow(1));
  }
  auto rows = LoadPostgresRows(dsn_, 0);
  ASSERT_TRUE(rows) << rows.error().message;
  ASSERT_EQ(rows->size(), 4u);
  EXPECT_EQ((*rows)[0].id, "old-1");  // old rows numbered by time
  EXPECT_EQ((*rows)[0].seq, 1);
  EXPECT_EQ((*rows)[1].seq, 2);
  EXPECT_EQ((*rows)[2].seq, 3);
  EXPECT_EQ((*rows)[2].prev_hash, kGenesisHash);
  Output after = Verify();
  EXPECT_EQ(after.code, 0) << after.err;
  EXPECT_EQ(after.out.rfind("4 rows, chain intact from seq 3 (id " + MakeRow(0).id +
                                "); the 2 rows before it predate the hash chain",
                            0),
            0u)
      << after.out;
}

TEST_F(PostgresTest, BadDsnFailsAtOpen) {
  LedgerConfig config = Config();
  config.dsn = "postgresql://hg@127.0.0.1:1/postgres?connect_timeout=2";
  auto ledger = Ledger::Open(config);
  ASSERT_FALSE(ledger);
  EXPECT_NE(ledger.error().message.find("postgres: cannot connect"), std::string::npos)
      << ledger.error().message;
}

}  // namespace
}  // namespace hybridgate::ledger
