// PgSession: one PostgreSQL connection for a store's own thread, where every call waits at most
// a timeout. libpq's blocking calls have no read timeout and its connect_timeout is at least 2 s a
// host, so a server that hangs (rather than refuses) would hold the thread, and with it a
// controller, a shutdown or the requests queued behind it. Here connecting is polled and
// statements are sent asynchronously and polled, each within the timeout; a failure or a
// timeout drops the connection, so the next call connects again — but not for a timeout's length
// after one: calls meanwhile fail at once with that error, so that calls queued behind a server
// that hangs cost their callers one timeout in all, not one each. Errors are kUnavailable and
// begin with the session's label ("rollout store: postgres: read: ...").
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "common/result.h"

namespace hybridgate {

struct PgClear {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgRows = std::unique_ptr<PGresult, PgClear>;

// A statement parameter: text, or bytes sent as binary (bytea).
struct PgParam {
  std::string value;
  bool binary = false;
  PgParam(std::string v) : value(std::move(v)) {}   // NOLINT: a parameter list reads naturally
  PgParam(const char* v) : value(v) {}              // NOLINT
  PgParam(int64_t v) : value(std::to_string(v)) {}  // NOLINT
  PgParam(int v) : value(std::to_string(v)) {}      // NOLINT
  PgParam(double v);                                // NOLINT: %.17g, exact
  static PgParam Bytes(std::string v) {
    PgParam p(std::move(v));
    p.binary = true;
    return p;
  }
};

class PgSession {
 public:
  // `dsn`: a URI or a "key=value" string. `label` prefixes errors. `setup` (may be empty) runs
  // on every new connection, e.g. to create the schema; its failure fails the call.
  PgSession(std::string dsn, std::string label, int timeout_ms,
            std::function<Status(PgSession&)> setup = {});
  ~PgSession();
  PgSession(const PgSession&) = delete;
  PgSession& operator=(const PgSession&) = delete;

  Status Connect();
  // Runs `sql` with `params` ($1, $2, ...); binary results when `binary_result`. A text
  // parameter holding a NUL is refused (kInvalidRequest): PostgreSQL would keep it cut short.
  Result<PgRows> Run(std::string_view what, const char* sql, std::span<const PgParam> params = {},
                     bool binary_result = false);
  // Runs a script of several statements without parameters; the first failure is the answer.
  Result<PgRows> RunScript(std::string_view what, const std::string& sql);
  // Whether the last failure was a server that did not answer in time (not one that refused).
  bool timed_out() const { return timed_out_; }
  // Whether a connection is open (a failure that broke it, or a timeout, closes it).
  bool connected() const { return conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK; }

  static std::string Text(const PgRows& r, int row, int col);
  static int64_t Int(const PgRows& r, int row, int col);

 private:
  Result<PgRows> Await(std::string_view what);
  Error Err(std::string_view what) const;
  Error Timeout(std::string_view what);
  Error Drop(Error e);

  const std::string dsn_;
  const std::string label_;
  const int timeout_ms_;
  const std::function<Status(PgSession&)> setup_;
  PGconn* conn_ = nullptr;
  bool timed_out_ = false;
  std::chrono::steady_clock::time_point quiet_until_{};  // after a timeout: no new attempt
  std::string quiet_error_;                              // that timeout's message
};

}  // namespace hybridgate
