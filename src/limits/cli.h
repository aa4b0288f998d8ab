// The `keys` command line: create, list and revoke virtual keys, and set team budgets, in the
// SQLite key store a gateway reads (it sees changes after its next KeyStore::Reload()).
#pragma once

namespace CLI {
class App;
}

namespace hybridgate::limits {

// Adds `keys` with create | list | revoke | team to `root`. Every sub-command takes
// --db PATH or --config FILE (the file's limits.keys_db). A callback sets `exit_code`: 0 on
// success, 2 on bad input or a store failure (the message goes to stderr). `exit_code` must
// outlive root.parse(). `create` prints only the secret on stdout, so scripts can capture it.
CLI::App* AddKeysCommand(CLI::App& root, int& exit_code);

}  // namespace hybridgate::limits
