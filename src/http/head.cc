#include "http/head.h"

#include <charconv>

namespace hybridgate::http::head {

void AppendDecimal(std::string& out, size_t n) {
  char buf[24];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
  out.append(buf, end);
}

size_t ChunkLine(char* buf, size_t n) {
  const auto [end, ec] = std::to_chars(buf, buf + kChunkLineMax - 2, n, 16);
  end[0] = '\r';
  end[1] = '\n';
  return static_cast<size_t>(end + 2 - buf);
}

}  // namespace hybridgate::http::head
