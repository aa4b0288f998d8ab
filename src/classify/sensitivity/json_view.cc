#include "classify/sensitivity/json_view.h"

#include <cstddef>

namespace hybridgate::sensitivity {
namespace {

// The byte after the backslash of an escape the view blanks; '/' keeps its slash.
bool Blanked(char c) {
  return c == 'n' || c == 'r' || c == 't' || c == 'b' || c == 'f' || c == '/';
}

// Index of the backslash of the first escape to blank, or npos.
std::size_t FirstBlanked(std::string_view json) {
  for (std::size_t i = json.find('\\'); i != std::string_view::npos && i + 1 < json.size();
       i = json.find('\\', i + 2)) {
    if (Blanked(json[i + 1])) return i;
  }
  return std::string_view::npos;
}

}  // namespace

std::string_view JsonScanView(std::string_view json, std::string& storage) {
  std::size_t i = FirstBlanked(json);
  if (i == std::string_view::npos) return json;
  storage.assign(json);
  for (; i + 1 < storage.size(); ++i) {
    if (storage[i] != '\\') continue;
    const char next = storage[i + 1];
    if (Blanked(next)) {
      storage[i] = ' ';
      if (next != '/') storage[i + 1] = ' ';
    }
    ++i;  // the escaped byte is never the start of another escape
  }
  return storage;
}

}  // namespace hybridgate::sensitivity
