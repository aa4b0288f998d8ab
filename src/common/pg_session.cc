#include "common/pg_session.h"

#include <fmt/format.h>
#include <poll.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <vector>

namespace hybridgate {

namespace {

std::string Trim(std::string msg) {
  std::replace(msg.begin(), msg.end(), '\n', ' ');
  while (!msg.empty() && msg.back() == ' ') msg.pop_back();
  return msg;
}

bool Ok(const PGresult* r) {
  const ExecStatusType st = PQresultStatus(r);
  return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

// Milliseconds left before `deadline`, at least 0.
int Left(std::chrono::steady_clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                        deadline - std::chrono::steady_clock::now())
                        .count();
  return static_cast<int>(std::max<int64_t>(left, 0));
}

// Waits for `events` on the connection's socket until `deadline`; false when the time ran out.
bool Wait(PGconn* conn, short events, std::chrono::steady_clock::time_point deadline) {
  pollfd fd{.fd = PQsocket(conn), .events = events, .revents = 0};
  const int left = Left(deadline);
  return left > 0 && ::poll(&fd, 1, left) != 0;
}

}  // namespace

PgParam::PgParam(double v) : value(fmt::format("{:.17g}", v)) {}

PgSession::PgSession(std::string dsn, std::string label, int timeout_ms,
                     std::function<Status(PgSession&)> setup)
    : dsn_(std::move(dsn)),
      label_(std::move(label)),
      timeout_ms_(timeout_ms),
      setup_(std::move(setup)) {}

PgSession::~PgSession() {
  if (conn_) PQfinish(conn_);
}

Error PgSession::Err(std::string_view what) const {
  return MakeError(ErrorCode::kUnavailable,
                   fmt::format("{}: {}: {}", label_, what,
                               Trim(conn_ ? PQerrorMessage(conn_) : "out of memory")));
}

Error PgSession::Timeout(std::string_view what) {
  timed_out_ = true;
  quiet_error_ = fmt::format("{}: {}: no answer in {} ms", label_, what, timeout_ms_);
  quiet_until_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms_);
  return Drop(MakeError(ErrorCode::kUnavailable, quiet_error_));
}

Error PgSession::Drop(Error e) {
  if (conn_) PQfinish(conn_);
  conn_ = nullptr;
  return e;
}

Status PgSession::Connect() {
  if (conn_ && PQstatus(conn_) == CONNECTION_OK) return {};
  if (conn_) PQfinish(conn_);
  conn_ = nullptr;
  if (std::chrono::steady_clock::now() < quiet_until_) {
    timed_out_ = true;
    return Fail(
        MakeError(ErrorCode::kUnavailable, quiet_error_ + " (not asked again for a while)"));
  }
  timed_out_ = false;
  const char* keys[] = {"dbname", nullptr};
  const char* values[] = {dsn_.c_str(), nullptr};
  conn_ = PQconnectStartParams(keys, values, /*expand_dbname=*/1);
  if (conn_ == nullptr || PQstatus(conn_) == CONNECTION_BAD) {
    return Fail(Drop(Err("cannot connect")));
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms_);
  for (PostgresPollingStatusType st = PGRES_POLLING_WRITING; st != PGRES_POLLING_OK;) {
    if (st == PGRES_POLLING_FAILED) return Fail(Drop(Err("cannot connect")));
    if (!Wait(conn_, st == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline)) {
      return Fail(Timeout("cannot connect"));
    }
    st = PQconnectPoll(conn_);
  }
  PQsetNoticeProcessor(
      conn_, [](void*, const char*) {}, nullptr);  // "already exists" and the like
  if (setup_) {
    if (Status s = setup_(*this); !s) return Fail(Drop(std::move(s.error())));
  }
  return {};
}

Result<PgRows> PgSession::Run(std::string_view what, const char* sql,
                              std::span<const PgParam> params, bool binary_result) {
  for (const PgParam& p : params) {
    // libpq sends a text parameter up to its first NUL, and PostgreSQL's text cannot hold one:
    // it would be stored cut short, silently.
    if (!p.binary && p.value.find('\0') != std::string::npos) {
      return Fail(MakeError(ErrorCode::kInvalidRequest,
                            fmt::format("{}: {}: a text holds a NUL character, which PostgreSQL "
                                        "cannot store",
                                        label_, what)));
    }
  }
  HG_TRY(Connect());
  timed_out_ = false;
  std::vector<const char*> values;
  std::vector<int> lengths, formats;
  values.reserve(params.size());
  for (const PgParam& p : params) {
    values.push_back(p.value.c_str());
    lengths.push_back(static_cast<int>(p.value.size()));
    formats.push_back(p.binary ? 1 : 0);
  }
  if (PQsendQueryParams(conn_, sql, static_cast<int>(params.size()), nullptr, values.data(),
                        lengths.data(), formats.data(), binary_result ? 1 : 0) != 1) {
    return Fail(Drop(Err(what)));
  }
  return Await(what);
}

Result<PgRows> PgSession::RunScript(std::string_view what, const std::string& sql) {
  HG_TRY(Connect());
  timed_out_ = false;
  if (PQsendQuery(conn_, sql.c_str()) != 1) return Fail(Drop(Err(what)));
  return Await(what);
}

// The answer to what was sent: its first result, or the first that failed.
Result<PgRows> PgSession::Await(std::string_view what) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms_);
  PgRows first;
  while (true) {
    while (PQisBusy(conn_) == 1) {
      if (!Wait(conn_, POLLIN, deadline)) return Fail(Timeout(what));
      if (PQconsumeInput(conn_) != 1) return Fail(Drop(Err(what)));
    }
    PgRows r(PQgetResult(conn_));
    if (!r) break;
    if (!first || (!Ok(r.get()) && Ok(first.get()))) first = std::move(r);
  }
  if (!first || !Ok(first.get())) {
    Error e = MakeError(
        ErrorCode::kUnavailable,
        fmt::format("{}: {}: {}", label_, what,
                    first ? Trim(PQresultErrorMessage(first.get())) : Trim(PQerrorMessage(conn_))));
    if (PQstatus(conn_) != CONNECTION_OK) return Fail(Drop(std::move(e)));
    return Fail(std::move(e));
  }
  return first;
}

std::string PgSession::Text(const PgRows& r, int row, int col) {
  return std::string(PQgetvalue(r.get(), row, col),
                     static_cast<size_t>(PQgetlength(r.get(), row, col)));
}

int64_t PgSession::Int(const PgRows& r, int row, int col) {
  return std::strtoll(PQgetvalue(r.get(), row, col), nullptr, 10);
}

}  // namespace hybridgate
