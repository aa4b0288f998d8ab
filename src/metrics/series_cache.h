// SeriesCache: the label-set → series lookup in front of prometheus-cpp's Family::Add (which takes
// a mutex and hashes a std::map of labels on every call). Internal to the metrics module.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace hybridgate::metrics {

// Builds an injective key from label values (each value length-prefixed, so no separator can
// collide) into a thread_local buffer that keeps its capacity: no allocation once warm. The view
// is valid until the calling thread's next MakeKey.
template <class... Values>
std::string_view MakeKey(const Values&... values) {
  thread_local std::string buffer;
  const std::array<std::string_view, sizeof...(Values)> parts = {std::string_view(values)...};
  size_t size = 0;
  for (std::string_view v : parts) size += sizeof(uint32_t) + v.size();
  buffer.resize(size);  // one size check, then plain copies (capacity is kept: no allocation)
  char* at = buffer.data();
  for (std::string_view v : parts) {
    const auto n = static_cast<uint32_t>(v.size());
    std::memcpy(at, &n, sizeof n);
    at += sizeof n;
    if (n != 0) std::memcpy(at, v.data(), n);
    at += n;
  }
  return buffer;
}

// Hashes std::string keys and std::string_view probes alike (heterogeneous lookup).
struct KeyHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

// Maps a key to a Value (a pointer or a small struct of pointers into the registry), built on
// first sight under an exclusive lock. Entries are never removed, so returned pointers stay valid
// for the cache's lifetime (unordered_map nodes do not move on rehash).
template <class Value>
class SeriesCache {
 public:
  explicit SeriesCache(size_t capacity) : capacity_(capacity) {}

  // The entry for `key`, made with `make()` if new. Returns nullptr when `key` is new and the
  // cache already holds `capacity` entries, unless `ignore_cap` (used for the "other" fold).
  template <class Make>
  const Value* Get(std::string_view key, bool ignore_cap, Make&& make) {
    {
      std::shared_lock lock(mu_);
      if (auto it = map_.find(key); it != map_.end()) return &it->second;
    }
    std::unique_lock lock(mu_);
    if (auto it = map_.find(key); it != map_.end()) return &it->second;
    if (!ignore_cap && map_.size() >= capacity_) return nullptr;
    return &map_.emplace(std::string(key), make()).first->second;
  }

 private:
  const size_t capacity_;
  std::shared_mutex mu_;
  std::unordered_map<std::string, Value, KeyHash, std::equal_to<>> map_;
};

}  // namespace hybridgate::metrics
