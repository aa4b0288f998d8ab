// The sensitivity scanner with the default detectors, built once per fuzzing process (Hyperscan's
// compile takes far longer than one input).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <utility>

#include "classify/sensitivity/scanner.h"

inline const hybridgate::sensitivity::Scanner& TheScanner() {
  static const hybridgate::sensitivity::Scanner* scanner = [] {
    auto s = hybridgate::sensitivity::Scanner::Create({});
    if (!s) {
      std::fprintf(stderr, "Scanner::Create: %s\n", s.error().message.c_str());
      std::abort();
    }
    return new hybridgate::sensitivity::Scanner(std::move(*s));
  }();
  return *scanner;
}
