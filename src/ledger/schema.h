// The ledger's table, shared by the SQLite and PostgreSQL backends: the same table and column
// names, the same meaning. Flags are stored as 0/1 integers in both so that one query works on
// either. ForEachField is the single list of columns; the writers, the loaders and the DDL all
// walk it, so a column cannot be added to one and forgotten in another.
#pragma once

#include <string>
#include <string_view>

#include "ledger/row.h"

namespace hybridgate::ledger {

inline constexpr int kSchemaVersion = 1;
inline constexpr std::string_view kTable = "requests";

// Calls f(column_name, member) for every column of `row`, in table order. `R` is Row or const Row.
template <class R, class F>
void ForEachField(R& row, F&& f) {
  f("id", row.id);
  f("time_ms", row.time_ms);
  f("key_name", row.key);
  f("team", row.team);
  f("endpoint", row.endpoint);
  f("route", row.route);
  f("tier", row.tier);
  f("provider", row.provider);
  f("model", row.model);
  f("attempts", row.attempts);
  f("fallback", row.fallback);
  f("escalated", row.escalated);
  f("stream", row.stream);
  f("status", row.status);
  f("error_code", row.error_code);
  f("input_tokens", row.input_tokens);
  f("cached_input_tokens", row.cached_input_tokens);
  f("output_tokens", row.output_tokens);
  f("usage_estimated", row.usage_estimated);
  f("cost_usd", row.cost_usd);
  f("latency_ms", row.latency_ms);
  f("ttft_ms", row.ttft_ms);
  f("data_class", row.data_class);
}

inline constexpr int kColumnCount = 23;

enum class Dialect { kSqlite, kPostgres };

// "id, time_ms, key_name, ..." in table order.
std::string ColumnList();
// CREATE TABLE / CREATE INDEX statements for the requests table (IF NOT EXISTS), ';'-separated.
std::string CreateTableSql(Dialect dialect);
// "INSERT INTO requests (...) VALUES (?1, ..., ?23), (?24, ...)" for `rows` rows, numbered
// parameters in the dialect's syntax (?N for SQLite, $N for PostgreSQL).
std::string InsertSql(Dialect dialect, size_t rows);

}  // namespace hybridgate::ledger
