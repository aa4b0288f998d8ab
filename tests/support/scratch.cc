#include "tests/support/scratch.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "tests/support/gateway_process.h"

namespace hybridgate::testing {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Shell(const std::string& cmd, int* status) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  const int st = pclose(p);
  if (status) *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return out;
}

Key CreateKey(const std::string& cfg_path, const std::string& args) {
  int status = -1;
  const std::string out = Shell(
      "'" + BinaryPath() + "' keys create --config '" + cfg_path + "' " + args + " 2>&1", &status);
  EXPECT_EQ(status, 0) << out;
  Key k;
  k.secret = out.substr(0, out.find('\n'));
  const size_t at = out.find("created key ");
  if (at != std::string::npos) k.id = out.substr(at + 12, out.find(' ', at + 12) - at - 12);
  return k;
}

}  // namespace hybridgate::testing
