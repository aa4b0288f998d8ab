// What a fuzz target does when one of its own checks fails: say which and abort, so that libFuzzer
// saves the input as a crash.
#pragma once

#include <cstdio>
#include <cstdlib>

[[noreturn]] inline void Die(const char* what) {
  std::fprintf(stderr, "invariant broken: %s\n", what);
  std::abort();
}
