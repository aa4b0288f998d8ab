#include "ledger/schema.h"

#include <fmt/format.h>

#include <type_traits>

namespace hybridgate::ledger {

std::string ColumnList() {
  std::string out;
  const Row row;
  ForEachField(row, [&](std::string_view name, const auto&) {
    if (!out.empty()) out += ", ";
    out += name;
  });
  return out;
}

std::string InsertSql(Dialect dialect, size_t rows) {
  const char mark = dialect == Dialect::kSqlite ? '?' : '$';
  std::string sql = fmt::format("INSERT INTO {} ({}) VALUES ", kTable, ColumnList());
  int param = 0;
  for (size_t r = 0; r < rows; ++r) {
    sql += r ? ",(" : "(";
    for (int c = 0; c < kColumnCount; ++c)
      sql += fmt::format("{}{}{}", c ? "," : "", mark, ++param);
    sql += ')';
  }
  return sql;
}

std::string CreateTableSql(Dialect dialect) {
  const bool pg = dialect == Dialect::kPostgres;
  std::string columns;
  const Row row;
  ForEachField(row, [&](std::string_view name, const auto& member) {
    using T = std::decay_t<decltype(member)>;
    std::string_view type;
    if constexpr (std::is_same_v<T, std::string>) {
      type = "TEXT NOT NULL";
    } else if constexpr (std::is_same_v<T, bool>) {
      type = pg ? "SMALLINT NOT NULL" : "INTEGER NOT NULL";
    } else if constexpr (std::is_same_v<T, double>) {
      type = pg ? "DOUBLE PRECISION NOT NULL" : "REAL NOT NULL";
    } else {
      static_assert(std::is_same_v<T, int64_t>);
      type = pg ? "BIGINT NOT NULL" : "INTEGER NOT NULL";
    }
    if (!columns.empty()) columns += ",\n  ";
    columns += fmt::format("{} {}", name, type);
  });
  return fmt::format(
      "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);\n"
      "CREATE TABLE IF NOT EXISTS {0} (\n  {1}\n);\n"
      "CREATE INDEX IF NOT EXISTS {0}_time_ms ON {0} (time_ms);\n",
      kTable, columns);
}

}  // namespace hybridgate::ledger
