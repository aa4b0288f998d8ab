// Wall-clock time as stored and compared across processes and hosts (ledger rows, rollout
// stages, quality comparisons): milliseconds since the Unix epoch. Durations on one process
// use std::chrono::steady_clock instead.
#pragma once

#include <chrono>
#include <cstdint>

namespace hybridgate {

inline int64_t UnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace hybridgate
