// Test fixtures for the embedded engine and llama-server: the tiny random-weight model (made by
// `hybridgate models placeholder`, i.e. the product's own generator) and a real llama-server
// process built from the same pinned llama.cpp source.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace hybridgate::testing {

// Path of a tiny GGUF model generated once per test process (in a temp dir).
std::string TinyModelPath();

// llama.cpp's llama-server ($HYBRIDGATE_LLAMA_SERVER) serving `model` on a free loopback port.
class LlamaServer {
 public:
  LlamaServer(const std::string& model, int parallel, int context);
  ~LlamaServer();
  bool started() const { return started_; }
  uint16_t port() const { return port_; }
  std::string base_url() const;
  std::string Log() const;

 private:
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  bool started_ = false;
  std::string log_path_;
};

}  // namespace hybridgate::testing
