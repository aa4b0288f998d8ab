// Helpers the integration tests share: a scratch folder per test, reading a file, running a
// command, and creating a virtual key with the CLI.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>

namespace hybridgate::testing {

// A folder of its own for one test's databases and configs, removed with it.
class Scratch {
 public:
  explicit Scratch(const std::string& prefix = "hg-test") {
    dir_ = std::filesystem::temp_directory_path() /
           (prefix + "-" + std::to_string(getpid()) + "-" + std::to_string(counter_++));
    std::filesystem::create_directories(dir_);
  }
  ~Scratch() { std::filesystem::remove_all(dir_); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

 private:
  std::filesystem::path dir_;
  static inline int counter_ = 0;
};

// A file's bytes ("" when it cannot be read).
std::string ReadFile(const std::string& path);

// Runs `cmd` with sh; its stdout, and its exit status in `status`.
std::string Shell(const std::string& cmd, int* status = nullptr);

// A key made by `hybridgate keys create --config <cfg_path> <args>`: the secret and its id.
struct Key {
  std::string secret;
  std::string id;
};
Key CreateKey(const std::string& cfg_path, const std::string& args);

}  // namespace hybridgate::testing
