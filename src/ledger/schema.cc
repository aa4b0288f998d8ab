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

namespace {

template <class T>
std::string_view ColumnType(Dialect dialect) {
  const bool pg = dialect == Dialect::kPostgres;
  if constexpr (std::is_same_v<T, std::string>) {
    return "TEXT NOT NULL";
  } else if constexpr (std::is_same_v<T, bool>) {
    return pg ? "SMALLINT NOT NULL" : "INTEGER NOT NULL";
  } else if constexpr (std::is_same_v<T, double>) {
    return pg ? "DOUBLE PRECISION NOT NULL" : "REAL NOT NULL";
  } else {
    static_assert(std::is_same_v<T, int64_t>);
    return pg ? "BIGINT NOT NULL" : "INTEGER NOT NULL";
  }
}

template <class T>
std::string_view EmptyDefault() {
  if constexpr (std::is_same_v<T, std::string>) {
    return "''";
  } else {
    return "0";
  }
}

}  // namespace

std::vector<std::string> AddMissingColumnsSql(Dialect dialect,
                                              const std::set<std::string, std::less<>>& present) {
  std::vector<std::string> out;
  const Row row;
  ForEachField(row, [&](std::string_view name, const auto& member) {
    using T = std::decay_t<decltype(member)>;
    if (present.contains(name)) return;
    out.push_back(fmt::format("ALTER TABLE {} ADD COLUMN {} {} DEFAULT {}", kTable, name,
                              ColumnType<T>(dialect), EmptyDefault<T>()));
  });
  return out;
}

std::string IndexSql() {
  return fmt::format("CREATE INDEX IF NOT EXISTS {0}_seq ON {0} (seq)", kTable);
}

std::string SelectList(const std::set<std::string, std::less<>>& present) {
  std::string out;
  const Row row;
  ForEachField(row, [&](std::string_view name, const auto& member) {
    using T = std::decay_t<decltype(member)>;
    if (!out.empty()) out += ", ";
    if (present.contains(name)) {
      out += name;
    } else {
      out += fmt::format("{} AS {}", EmptyDefault<T>(), name);
    }
  });
  return out;
}

std::string CreateTableSql(Dialect dialect) {
  std::string columns;
  const Row row;
  ForEachField(row, [&](std::string_view name, const auto& member) {
    using T = std::decay_t<decltype(member)>;
    if (!columns.empty()) columns += ",\n  ";
    columns += fmt::format("{} {}", name, ColumnType<T>(dialect));
  });
  return fmt::format(
      "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);\n"
      "CREATE TABLE IF NOT EXISTS {0} (\n  {1}\n);\n"
      "CREATE INDEX IF NOT EXISTS {0}_time_ms ON {0} (time_ms);\n",
      kTable, columns);
}

}  // namespace hybridgate::ledger
