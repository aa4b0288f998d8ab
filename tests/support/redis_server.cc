#include "tests/support/redis_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <thread>

#include "tests/support/gateway_process.h"

namespace hybridgate::testing {

namespace {

bool Ping(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = false;
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0) {
    const char ping[] = "PING\r\n";
    char buf[16] = {0};
    ok = write(fd, ping, sizeof(ping) - 1) == sizeof(ping) - 1 && read(fd, buf, 7) > 0 &&
         std::strncmp(buf, "+PONG", 5) == 0;
  }
  close(fd);
  return ok;
}

}  // namespace

RedisServer::RedisServer() {
  if (access("/usr/bin/redis-server", X_OK) != 0) return;
  port_ = FreePort();
  const std::string port = std::to_string(port_);
  pid_ = fork();
  if (pid_ == 0) {
    const int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    execl("/usr/bin/redis-server", "redis-server", "--port", port.c_str(), "--bind", "127.0.0.1",
          "--save", "", "--appendonly", "no", nullptr);
    _exit(127);
  }
  for (int i = 0; i < 100 && !started_; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    started_ = Ping(port_);
  }
}

RedisServer::~RedisServer() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

}  // namespace hybridgate::testing
