// A real, throwaway PostgreSQL cluster for tests: initdb into a temp dir, postgres on a free
// loopback port, torn down by the destructor. PostgreSQL refuses to run as root, so under root the
// server runs as `nobody` (runuser) in a directory that user owns. Without the server binaries
// (Debian package `postgresql`, installed by scripts/setup.sh) `error()` says so: tests fail,
// never skip.
#pragma once

#include <libpq-fe.h>

#include <string>

namespace hybridgate::ledger::testing {

class PgCluster {
 public:
  PgCluster();  // starts it; check started()
  ~PgCluster();
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  bool started() const { return started_; }
  const std::string& error() const { return error_; }
  const std::string& dsn() const { return dsn_; }
  // `pg_ctl <action>` on the cluster ("restart -m fast"); its exit status.
  int PgCtl(const std::string& action) const;
  // The server's log, for failure messages.
  std::string Log() const;
  // Runs `sql` on its own connection; "" or the error.
  std::string Exec(const std::string& sql) const;

 private:
  std::string bin_, dir_, as_user_, dsn_, error_;
  int port_ = 0;
  bool started_ = false;
};

// A database that takes statements and never answers them, for tests of what waits on one:
// holds `tables` locked (ACCESS EXCLUSIVE, in an open transaction on a connection of its own)
// until destroyed. error() is "" once they are held.
class TableLock {
 public:
  TableLock(const std::string& dsn, const std::string& tables);
  ~TableLock();
  TableLock(const TableLock&) = delete;
  TableLock& operator=(const TableLock&) = delete;
  const std::string& error() const { return error_; }

 private:
  PGconn* conn_ = nullptr;
  std::string error_;
};

}  // namespace hybridgate::ledger::testing
