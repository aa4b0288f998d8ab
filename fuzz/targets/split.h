// Splits a fuzz input into reads the way a socket would: the last byte of the input picks the
// chunk sizes (1..N bytes, from a small PRNG), so libFuzzer can explore split points too.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>

namespace hybridgate::fuzz {

// Returns the payload (the input minus its last byte) and calls `on_chunk(string_view)` for each
// read in order.
template <class F>
std::string_view ForEachChunk(const uint8_t* data, size_t size, F&& on_chunk) {
  if (size == 0) return {};
  const std::string_view payload(reinterpret_cast<const char*>(data), size - 1);
  uint32_t state = 0x9e3779b9u ^ data[size - 1];
  const size_t max_chunk = 1 + data[size - 1] % 64;
  for (size_t pos = 0; pos < payload.size();) {
    state = state * 1664525u + 1013904223u;  // LCG: deterministic per input
    const size_t n = 1 + (state >> 8) % max_chunk;
    const std::string_view chunk = payload.substr(pos, n);
    on_chunk(chunk);
    pos += chunk.size();
  }
  return payload;
}

}  // namespace hybridgate::fuzz
