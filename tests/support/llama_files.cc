#include "tests/support/llama_files.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/support/gateway_process.h"

namespace hybridgate::testing {

namespace fs = std::filesystem;

std::string TinyModelPath() {
  static const std::string path = [] {
    const fs::path dir = fs::temp_directory_path() / ("hg-tiny-" + std::to_string(getpid()));
    fs::create_directories(dir);
    const std::string out = (dir / "tiny.gguf").string();
    const std::string cmd =
        "'" + BinaryPath() + "' models placeholder --out '" + out + "' >/dev/null";
    if (std::system(cmd.c_str()) != 0) return std::string();
    return out;
  }();
  return path;
}

LlamaServer::LlamaServer(const std::string& model, int parallel, int context) {
  const char* bin = std::getenv("HYBRIDGATE_LLAMA_SERVER");
  if (!bin || !*bin) return;
  port_ = FreePort();
  log_path_ = (fs::temp_directory_path() /
               ("hg-llama-server-" + std::to_string(getpid()) + "-" + std::to_string(port_)))
                  .string();
  const std::string port = std::to_string(port_);
  const std::string np = std::to_string(parallel);
  const std::string ctx = std::to_string(context * parallel);
  pid_ = fork();
  if (pid_ == 0) {
    const int fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    execl(bin, bin, "-m", model.c_str(), "--host", "127.0.0.1", "--port", port.c_str(), "-np",
          np.c_str(), "-c", ctx.c_str(), "-t", "1", "--no-warmup", nullptr);
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    TestClient c(port_);
    if (c.Get("/health").status == 200) {
      started_ = true;
      return;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

LlamaServer::~LlamaServer() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 100 && waitpid(pid_, &status, WNOHANG) == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
  }
  if (!log_path_.empty()) fs::remove(log_path_);
}

std::string LlamaServer::base_url() const {
  return "http://127.0.0.1:" + std::to_string(port_) + "/v1";
}

std::string LlamaServer::Log() const {
  std::ifstream in(log_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace hybridgate::testing
