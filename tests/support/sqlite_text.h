// Reading a test's SQLite files (ledger, stores) back: the one-value answer of a query.
#pragma once

#include <string>

namespace hybridgate::testing {

// The first column of the first row `sql` returns on the SQLite file at `path` (opened
// read-only), as text; "" when there is none or the query fails.
std::string SqliteText(const std::string& path, const std::string& sql);

}  // namespace hybridgate::testing
