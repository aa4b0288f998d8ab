// `hybridgate models list|pull|placeholder`: the embedded engine's model files. `pull` is the only
// code in HybridGate that downloads weights, and it runs only when a user types it: HTTP(S) with
// redirects, a progress bar on stderr, sha256 checked against --sha256 or the file host's
// x-linked-etag, written to a .part file and renamed when complete. Without a network it fails
// with a message that says how to bring a GGUF file in by hand.
#pragma once

#include <string>

namespace CLI {
class App;
}

namespace hybridgate::models {

CLI::App* AddModelsCommand(CLI::App& root, int& exit_code);

struct PullOptions {
  std::string source;  // a known name (see `models list --known`) or an http(s) URL
  std::string dir;     // empty: engine::DefaultModelsDir()
  std::string sha256;  // expected; empty: the host's x-linked-etag when it is a sha256
  int timeout_s = 3600;
  bool progress = true;
};

// Returns the process exit code; messages go to stderr, the saved path to stdout.
int Pull(const PullOptions& options);

}  // namespace hybridgate::models
