#include "common/pooled.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>

namespace hybridgate {
namespace {

struct Big {
  explicit Big(std::string s) : text(std::move(s)) { ++alive; }
  ~Big() { --alive; }
  std::string text;
  char pad[2000] = {};
  static inline int alive = 0;
};

struct Throws {
  explicit Throws(bool fail) {
    if (fail) throw std::runtime_error("no");
  }
  char pad[1500] = {};
};

TEST(Pooled, ReleasedBlocksAreReusedAndObjectsDestroyed) {
  const size_t before = Pooled<Big>::FreeBlocks();
  void* first;
  {
    auto a = Pooled<Big>::Make("a long enough string to allocate its own buffer");
    first = a.get();
    EXPECT_EQ(a->text, "a long enough string to allocate its own buffer");
    EXPECT_EQ(Big::alive, 1);
  }
  EXPECT_EQ(Big::alive, 0);
  EXPECT_EQ(Pooled<Big>::FreeBlocks(), before + 1);
  auto b = Pooled<Big>::Make("b");
  EXPECT_EQ(b.get(), first);  // the same block, not a new allocation
  EXPECT_EQ(b->text, "b");
  EXPECT_EQ(Pooled<Big>::FreeBlocks(), before);
}

TEST(Pooled, MovesTransferOwnershipOnce) {
  auto a = Pooled<Big>::Make("x");
  Pooled<Big> b = std::move(a);
  EXPECT_FALSE(a);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->text, "x");
  b = Pooled<Big>::Make("y");  // the old one is destroyed, not leaked
  EXPECT_EQ(Big::alive, 1);
  b.Reset();
  EXPECT_EQ(Big::alive, 0);
}

TEST(Pooled, ListIsCappedAndPerThread) {
  std::vector<Pooled<Big>> many;
  for (size_t i = 0; i < Pooled<Big>::kMaxFree + 10; ++i) many.push_back(Pooled<Big>::Make("m"));
  many.clear();
  EXPECT_EQ(Pooled<Big>::FreeBlocks(), Pooled<Big>::kMaxFree);
  size_t other_before = 99, other_after = 99;
  std::thread t([&] {
    other_before = Pooled<Big>::FreeBlocks();
    { auto p = Pooled<Big>::Make("t"); }
    other_after = Pooled<Big>::FreeBlocks();
  });
  t.join();
  EXPECT_EQ(other_before, 0u);
  EXPECT_EQ(other_after, 1u);
}

TEST(Pooled, AThrowingConstructorGivesTheBlockBack) {
  const size_t before = Pooled<Throws>::FreeBlocks();
  { auto ok = Pooled<Throws>::Make(false); }
  EXPECT_EQ(Pooled<Throws>::FreeBlocks(), before + 1);
  EXPECT_THROW(Pooled<Throws>::Make(true), std::runtime_error);
  EXPECT_EQ(Pooled<Throws>::FreeBlocks(), before + 1);
}

}  // namespace
}  // namespace hybridgate
