// One CSV field (RFC 4180): quoted, with quotes doubled, when it holds a comma, a quote or a
// line break; as it is otherwise.
#pragma once

#include <string>
#include <string_view>

namespace hybridgate {

inline std::string CsvField(std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + '"';
}

}  // namespace hybridgate
