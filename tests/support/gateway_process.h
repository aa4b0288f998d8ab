// Runs the real hybridgate binary for integration tests: writes the config (listening on port 0),
// starts `hybridgate serve`, reads its port from its log, waits for /healthz, and stops it with
// SIGTERM (checking it exits 0).
// Also a small blocking HTTP/1.1 client that can read a streamed response piece by piece.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace hybridgate::testing {

std::string BinaryPath();  // $HYBRIDGATE_BIN
uint16_t FreePort();

class GatewayProcess {
 public:
  // `config_yaml` must not contain `listen:`; the process binds a port the kernel picks.
  explicit GatewayProcess(const std::string& config_yaml, std::vector<std::string> extra_args = {});
  ~GatewayProcess();

  bool started() const { return started_; }
  uint16_t port() const { return port_; }
  // Sends SIGTERM and waits; returns the exit status (or -1 on timeout).
  int Stop(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  std::string Log() const;  // stderr so far, after why startup failed if it did
  // Replaces the config file (same port) in one rename, as editors and config managers do;
  // the running process sees it on SIGHUP or through its file watch.
  void RewriteConfig(const std::string& config_yaml) const;
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  bool started_ = false;
  std::string start_note_;  // why the startup wait gave up
  std::string dir_;
};

struct HttpResult {
  int status = 0;                              // 0: connection failed
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string error;
};

// One keep-alive connection; each call reuses it (reconnecting if the server closed it).
class TestClient {
 public:
  explicit TestClient(uint16_t port);
  ~TestClient();

  HttpResult Request(const std::string& method, const std::string& target, const std::string& body,
                     const std::map<std::string, std::string>& headers = {});
  HttpResult Post(const std::string& target, const std::string& body) {
    return Request("POST", target, body);
  }
  HttpResult Get(const std::string& target) { return Request("GET", target, ""); }

  // Streaming: sends the request and reads the head; then ReadSome() returns body pieces as
  // they arrive ("" at the end, on error, or when nothing came within `timeout`; the stream
  // fails only on an error).
  HttpResult StartStream(const std::string& target, const std::string& body,
                         const std::map<std::string, std::string>& headers = {});
  std::string ReadSome(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  bool stream_done() const;
  bool stream_failed() const;
  // Reads until the response ends or fails; a response not over within `timeout` fails.
  std::string ReadAll(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Closes the connection abruptly.
  void Close();
  int connects() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hybridgate::testing
