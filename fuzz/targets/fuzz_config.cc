// Fuzzes the YAML configuration parser (every section: server, providers, sensitivity, ledger,
// limits, routes). Invalid input must come back as an Error, never as a crash or an exception.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Keys read from the environment or files must not make runs differ.
  static const bool env_cleared = [] { return clearenv() == 0; }();
  (void)env_cleared;
  const std::string_view yaml(reinterpret_cast<const char*>(data), size);
  // api_key_file makes the parser read a file the input names: /dev/stdin would block and
  // /dev/zero would grow without bound. Operator-supplied paths are trusted; skip those inputs.
  if (yaml.find("api_key_file") != std::string_view::npos) return 0;
  auto cfg = hybridgate::config::ParseConfig(yaml, "fuzz.yaml");
  (void)cfg;
  return 0;
}
