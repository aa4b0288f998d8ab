// Text for XML and SVG documents: the five characters XML reserves, escaped, so a name may
// stand in element text and in attribute values of either quote.
#pragma once

#include <string>
#include <string_view>

namespace hybridgate {

inline std::string EscapeXml(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace hybridgate
