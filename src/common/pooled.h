// Pooled<T>: a unique_ptr-like owner whose storage comes from a per-thread free list of blocks
// of sizeof(T). For the per-request state that the request path's coroutines keep across
// suspensions: GCC puts every local of a coroutine in its frame, Asio recycles frames only up to
// 1020 bytes, and larger ones were a malloc and free from glibc's large bins on every request
// (docs/ARCHITECTURE.md, "Memory on the request path"). With the big locals in a Pooled state the
// frames stay small; the state's block is reused on the same thread, warm in cache.
//
// A Pooled<T> may be destroyed on another thread than the one that made it: the block then joins
// that thread's list. Under AddressSanitizer, blocks waiting in a list are poisoned, so a use
// after release is still reported.
#pragma once

#include <cstddef>
#include <new>
#include <utility>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define HYBRIDGATE_POOL_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define HYBRIDGATE_POOL_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define HYBRIDGATE_POOL_POISON(p, n) ((void)(p), (void)(n))
#define HYBRIDGATE_POOL_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace hybridgate {

template <class T>
class Pooled {
 public:
  // Blocks kept per thread; more than this many released at once are freed.
  static constexpr size_t kMaxFree = 256;

  Pooled() = default;
  Pooled(Pooled&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  Pooled& operator=(Pooled&& o) noexcept {
    if (this != &o) {
      Reset();
      p_ = std::exchange(o.p_, nullptr);
    }
    return *this;
  }
  Pooled(const Pooled&) = delete;
  Pooled& operator=(const Pooled&) = delete;
  ~Pooled() { Reset(); }

  template <class... Args>
  static Pooled Make(Args&&... args) {
    void* block = Take();
    Pooled out;
    try {
      out.p_ = ::new (block) T(std::forward<Args>(args)...);
    } catch (...) {
      Give(block);
      throw;
    }
    return out;
  }

  T* get() const { return p_; }
  T* operator->() const { return p_; }
  T& operator*() const { return *p_; }
  explicit operator bool() const { return p_ != nullptr; }

  void Reset() {
    if (p_ == nullptr) return;
    p_->~T();
    Give(std::exchange(p_, nullptr));
  }

  // Blocks in the calling thread's list (for tests).
  static size_t FreeBlocks() { return List().blocks.size(); }

 private:
  struct FreeList {
    std::vector<void*> blocks;
    ~FreeList() {
      for (void* b : blocks) {
        HYBRIDGATE_POOL_UNPOISON(b, sizeof(T));
        ::operator delete (b, std::align_val_t{alignof(T)});
      }
    }
  };
  static FreeList& List() {
    thread_local FreeList list;
    return list;
  }
  static void* Take() {
    FreeList& list = List();
    if (list.blocks.empty()) return ::operator new (sizeof(T), std::align_val_t{alignof(T)});
    void* b = list.blocks.back();
    list.blocks.pop_back();
    HYBRIDGATE_POOL_UNPOISON(b, sizeof(T));
    return b;
  }
  static void Give(void* b) {
    FreeList& list = List();
    if (list.blocks.size() >= kMaxFree) {
      ::operator delete (b, std::align_val_t{alignof(T)});
      return;
    }
    HYBRIDGATE_POOL_POISON(b, sizeof(T));
    list.blocks.push_back(b);
  }

  T* p_ = nullptr;
};

}  // namespace hybridgate
