// The PostgreSQL sink against a real, throwaway cluster: initdb into a temp dir, postgres on a
// free loopback port, torn down afterwards. PostgreSQL refuses to run as root, so under root the
// server runs as `nobody` (runuser) in a directory that user owns. Skipped only when the server
// binaries are not installed (Debian package `postgresql`).
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

#include "ledger/cli.h"
#include "ledger/ledger.h"
#include "ledger/test_util.h"

namespace hybridgate::ledger {
namespace {

namespace fs = std::filesystem;
using testing::MakeRow;

std::string FindPostgresBin() {
  if (const char* env = std::getenv("HYBRIDGATE_PG_BIN")) return env;
  std::vector<fs::path> candidates;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    candidates.push_back(entry.path() / "bin");
  }
  std::sort(candidates.rbegin(), candidates.rend());  // newest major version first
  for (const fs::path& bin : candidates) {
    if (fs::exists(bin / "initdb") && fs::exists(bin / "pg_ctl") && fs::exists(bin / "postgres")) {
      return bin.string();
    }
  }
  return "";
}

int FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class PostgresTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    bin_ = FindPostgresBin();
    if (bin_.empty()) return;
    char tmpl[] = "/tmp/hg_ledger_pg_XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return;
    dir_ = tmpl;
    if (geteuid() == 0) {
      const passwd* nobody = getpwnam("nobody");
      if (nobody == nullptr || chown(dir_.c_str(), nobody->pw_uid, nobody->pw_gid) != 0) {
        setup_error_ = "running as root and cannot hand the cluster directory to 'nobody'";
        return;
      }
      as_user_ = "runuser -u nobody -- ";
    }
    port_ = FreeLoopbackPort();
    const std::string data = dir_ + "/data";
    const std::string initdb = "cd " + dir_ + " && " + as_user_ + bin_ +
                               "/initdb --no-sync -A trust -U hg -E UTF8 -D " + data + " > " +
                               dir_ + "/initdb.log 2>&1";
    if (std::system(initdb.c_str()) != 0) {
      setup_error_ = "initdb failed: " + ReadAll(dir_ + "/initdb.log");
      return;
    }
    const std::string start = "cd " + dir_ + " && " + as_user_ + bin_ + "/pg_ctl -D " + data +
                              " -l " + dir_ + "/server.log -w -t 60 -o \"-p " +
                              std::to_string(port_) + " -k " + dir_ +
                              " -c listen_addresses=127.0.0.1 -c fsync=off\" start > /dev/null";
    if (std::system(start.c_str()) != 0) {
      setup_error_ = "postgres did not start: " + ReadAll(dir_ + "/server.log");
      return;
    }
    started_ = true;
    dsn_ = "postgresql://hg@127.0.0.1:" + std::to_string(port_) + "/postgres";
  }

  static void TearDownTestSuite() {
    if (started_) PgCtl("stop -m immediate");
    started_ = false;
    if (!dir_.empty()) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
    }
  }

  static int PgCtl(const std::string& action) {
    const std::string cmd = "cd " + dir_ + " && " + as_user_ + bin_ + "/pg_ctl -D " + dir_ +
                            "/data -l " + dir_ + "/server.log -w -t 60 " + action + " > /dev/null";
    return std::system(cmd.c_str());
  }

  void SetUp() override {
    if (bin_.empty()) {
      GTEST_SKIP() << "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found under "
                      "/usr/lib/postgresql/*/bin; install the Debian package `postgresql`";
    }
    ASSERT_TRUE(started_) << setup_error_;
    // Each test starts from an empty database, so the sink's schema creation runs every time.
    PGconn* conn = PQconnectdb(dsn_.c_str());
    ASSERT_EQ(PQstatus(conn), CONNECTION_OK) << PQerrorMessage(conn);
    PGresult* r =
        PQexec(conn, "DROP TABLE IF EXISTS requests; DROP TABLE IF EXISTS schema_version");
    EXPECT_EQ(PQresultStatus(r), PGRES_COMMAND_OK) << PQerrorMessage(conn);
    PQclear(r);
    PQfinish(conn);
  }

  LedgerConfig Config() const {
    LedgerConfig c;
    c.backend = "postgres";
    c.dsn = dsn_;
    return c;
  }

  static inline std::string bin_, dir_, as_user_, dsn_, setup_error_;
  static inline int port_ = 0;
  static inline bool started_ = false;
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
  for (int i = 0; i < kThreads * kPerThread; ++i) ASSERT_EQ((*rows)[i], MakeRow(i)) << i;

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
  ASSERT_EQ(PgCtl("restart -m fast"), 0) << ReadAll(dir_ + "/server.log");
  Row b = MakeRow(1'000'001);
  (*ledger)->Record(b);
  ASSERT_TRUE((*ledger)->Flush());  // the first attempt hits the dead connection
  auto after = LoadPostgresRows(dsn_, a.time_ms);
  ASSERT_TRUE(after) << after.error().message;
  ASSERT_EQ(after->size(), 2u);
  EXPECT_EQ((*after)[0], a);
  EXPECT_EQ((*after)[1], b);
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
