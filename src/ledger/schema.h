// The ledger's table, shared by the SQLite and PostgreSQL backends: the same table and column
// names, the same meaning. Flags are stored as 0/1 integers in both so that one query works on
// either. ForEachField is the single list of columns; the writers, the loaders, the DDL, the
// migration and the hash chain (chain.h) all walk it, so a column cannot be added to one and
// forgotten in another.
//
// Version 2 added the residency facts and the hash chain (finding_types .. hash). A version-1
// table is migrated when a sink opens it: every missing column is added with an empty default
// ('' or 0), and seq is filled from the existing order, so old rows stay readable but carry
// no hash (the verifier says how many rows precede the chain).
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/row.h"

namespace hybridgate::ledger {

inline constexpr int kSchemaVersion = 2;
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
  f("finding_types", row.finding_types);
  f("provider_zone", row.provider_zone);
  f("provider_max_class", row.provider_max_class);
  f("residency_action", row.residency_action);
  f("egress", row.egress);
  f("seq", row.seq);
  f("prev_hash", row.prev_hash);
  f("hash", row.hash);
}

inline constexpr int kColumnCount = 31;

enum class Dialect { kSqlite, kPostgres };

// "id, time_ms, key_name, ..." in table order.
std::string ColumnList();
// CREATE TABLE / CREATE INDEX statements for the requests table (IF NOT EXISTS), ';'-separated.
// The index on seq is separate (IndexSql), since a migrated table gets that column only after.
std::string CreateTableSql(Dialect dialect);
// "ALTER TABLE requests ADD COLUMN ..." (with an empty default) for every column not in
// `present`, in table order.
std::vector<std::string> AddMissingColumnsSql(Dialect dialect,
                                              const std::set<std::string, std::less<>>& present);
// CREATE INDEX IF NOT EXISTS requests_seq.
std::string IndexSql();
// The SELECT list for ForEachField's order when the table has only the columns in `present`: a
// missing column reads as its empty default, so a version-1 ledger still loads (read-only
// tools never migrate).
std::string SelectList(const std::set<std::string, std::less<>>& present);
// "INSERT INTO requests (...) VALUES (?1, ..., ?23), (?24, ...)" for `rows` rows, numbered
// parameters in the dialect's syntax (?N for SQLite, $N for PostgreSQL).
std::string InsertSql(Dialect dialect, size_t rows);

}  // namespace hybridgate::ledger
