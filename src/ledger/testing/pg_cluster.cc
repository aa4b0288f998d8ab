#include "ledger/testing/pg_cluster.h"

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

namespace hybridgate::ledger::testing {

namespace {

namespace fs = std::filesystem;

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

}  // namespace

PgCluster::PgCluster() {
  bin_ = FindPostgresBin();
  if (bin_.empty()) {
    error_ =
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found under "
        "/usr/lib/postgresql/*/bin; install the Debian package `postgresql`";
    return;
  }
  char tmpl[] = "/tmp/hg_pg_XXXXXX";
  if (mkdtemp(tmpl) == nullptr) {
    error_ = "cannot create a temporary directory";
    return;
  }
  dir_ = tmpl;
  if (geteuid() == 0) {
    const passwd* nobody = getpwnam("nobody");
    if (nobody == nullptr || chown(dir_.c_str(), nobody->pw_uid, nobody->pw_gid) != 0) {
      error_ = "running as root and cannot hand the cluster directory to 'nobody'";
      return;
    }
    as_user_ = "runuser -u nobody -- ";
  }
  port_ = FreeLoopbackPort();
  const std::string data = dir_ + "/data";
  const std::string initdb = "cd " + dir_ + " && " + as_user_ + bin_ +
                             "/initdb --no-sync -A trust -U hg -E UTF8 -D " + data + " > " + dir_ +
                             "/initdb.log 2>&1";
  if (std::system(initdb.c_str()) != 0) {
    error_ = "initdb failed: " + ReadAll(dir_ + "/initdb.log");
    return;
  }
  const std::string start = "cd " + dir_ + " && " + as_user_ + bin_ + "/pg_ctl -D " + data +
                            " -l " + dir_ + "/server.log -w -t 60 -o \"-p " +
                            std::to_string(port_) + " -k " + dir_ +
                            " -c listen_addresses=127.0.0.1 -c fsync=off\" start > /dev/null";
  if (std::system(start.c_str()) != 0) {
    error_ = "postgres did not start: " + Log();
    return;
  }
  started_ = true;
  dsn_ = "postgresql://hg@127.0.0.1:" + std::to_string(port_) + "/postgres";
}

PgCluster::~PgCluster() {
  if (started_) PgCtl("stop -m immediate");
  if (!dir_.empty()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

int PgCluster::PgCtl(const std::string& action) const {
  const std::string cmd = "cd " + dir_ + " && " + as_user_ + bin_ + "/pg_ctl -D " + dir_ +
                          "/data -l " + dir_ + "/server.log -w -t 60 " + action + " > /dev/null";
  return std::system(cmd.c_str());
}

std::string PgCluster::Log() const { return ReadAll(dir_ + "/server.log"); }

std::string PgCluster::Exec(const std::string& sql) const {
  PGconn* conn = PQconnectdb(dsn_.c_str());
  PGresult* r = PQexec(conn, sql.c_str());
  const ExecStatusType st = PQresultStatus(r);
  std::string error = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? "" : PQerrorMessage(conn);
  PQclear(r);
  PQfinish(conn);
  return error;
}

TableLock::TableLock(const std::string& dsn, const std::string& tables)
    : conn_(PQconnectdb(dsn.c_str())) {
  if (PQstatus(conn_) != CONNECTION_OK) {
    error_ = PQerrorMessage(conn_);
    return;
  }
  PQclear(PQexec(conn_, "BEGIN"));
  PGresult* r = PQexec(conn_, ("LOCK TABLE " + tables + " IN ACCESS EXCLUSIVE MODE").c_str());
  if (PQresultStatus(r) != PGRES_COMMAND_OK) error_ = PQerrorMessage(conn_);
  PQclear(r);
}

TableLock::~TableLock() {
  PQclear(PQexec(conn_, "ROLLBACK"));
  PQfinish(conn_);
}

}  // namespace hybridgate::ledger::testing
