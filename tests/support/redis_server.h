// A real redis-server child process on a free loopback port (no persistence), for tests of
// limits shared between gateway replicas.
#pragma once

#include <sys/types.h>

#include <cstdint>

namespace hybridgate::testing {

class RedisServer {
 public:
  RedisServer();  // starts it and waits for PING; started() says whether it worked
  ~RedisServer();
  bool started() const { return started_; }
  uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  bool started_ = false;
};

}  // namespace hybridgate::testing
