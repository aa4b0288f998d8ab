#include "classify/sensitivity/numbers.h"

#include <gtest/gtest.h>
#include <hs/hs.h>

#include <algorithm>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "classify/sensitivity/byte_masks.h"

namespace hybridgate::sensitivity {
namespace {

using Matches = std::vector<std::pair<std::size_t, std::size_t>>;

// The expression NationalPhoneMatches stands for, as Hyperscan reports it: every end, with the
// leftmost start (HS_FLAG_SOM_LEFTMOST).
class Reference {
 public:
  Reference() {
    hs_compile_error_t* error = nullptr;
    EXPECT_EQ(hs_compile(R"(\b0\d{1,4}(?:[ ./\-]?\d{2,8}){1,4}\b)", HS_FLAG_SOM_LEFTMOST,
                         HS_MODE_BLOCK, nullptr, &db_, &error),
              HS_SUCCESS);
    EXPECT_EQ(hs_alloc_scratch(db_, &scratch_), HS_SUCCESS);
  }
  ~Reference() {
    hs_free_scratch(scratch_);
    hs_free_database(db_);
  }
  Matches Scan(const std::string& text) const {
    Matches out;
    hs_scan(
        db_, text.data(), static_cast<unsigned>(text.size()), 0, scratch_,
        [](unsigned, unsigned long long from, unsigned long long to, unsigned, void* ctx) {
          static_cast<Matches*>(ctx)->emplace_back(from, to);
          return 0;
        },
        &out);
    std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.second < b.second; });
    return out;
  }

 private:
  hs_database_t* db_ = nullptr;
  hs_scratch_t* scratch_ = nullptr;
};

// What the number pass makes of NationalPhoneMatches: every start, then the leftmost per end.
Matches Emulated(const std::string& text) {
  std::vector<Span> spans;
  for (std::size_t r = 0; r < text.size(); ++r) NationalPhoneMatches(text, r, spans);
  std::stable_sort(spans.begin(), spans.end(),
                   [](const Span& a, const Span& b) { return a.end < b.end; });
  Matches out;
  for (const Span& s : spans) {
    if (out.empty() || out.back().second != s.end) out.emplace_back(s.start, s.end);
  }
  return out;
}

TEST(NumbersTest, NationalPhoneShapes) {
  const Reference reference;
  for (const std::string text :
       {"030 1234567", "0049 151 12345678", "tel 0171-1234567.", "01 23 45 67 89", "0123",
        "0 12 34", "x0123 4567", "_0123 4567", "0123 4567a", "0123  4567", "020 7946 0958 12",
        "0301234567890123456789012345678901234567890", "01/23/45/67/89/01/23", "0.12.34.56.78.90",
        "012-345-678-901-234-567", "(0)30 1234 5678", "\xC3\xA9 0123 4567\xC3\xA9"}) {
    EXPECT_EQ(Emulated(text), reference.Scan(text)) << text;
  }
}

// Random strings of digits, the expression's separators and a few other bytes: the emulation
// reports what Hyperscan reports, starts included.
TEST(NumbersTest, NationalPhoneMatchesHyperscan) {
  const Reference reference;
  std::mt19937 rng(23);
  const std::string alphabet = "000123456789 ./-_a\n+(";
  for (int i = 0; i < 20000; ++i) {
    std::string text(std::uniform_int_distribution<std::size_t>(1, 64)(rng), ' ');
    for (char& c : text) {
      c = alphabet[std::uniform_int_distribution<std::size_t>(0, alphabet.size() - 1)(rng)];
    }
    ASSERT_EQ(Emulated(text), reference.Scan(text)) << '"' << text << '"';
  }
}

// The masks of every block, the last one short, are the byte classes they name.
TEST(NumbersTest, ByteMasks) {
  std::string text;
  for (int c = 0; c < 256; ++c) text.push_back(static_cast<char>(c));
  text += "12:ab%Z9";
  for (std::size_t size = 0; size <= text.size(); ++size) {
    const std::string_view t(text.data(), size);
    for (std::size_t base = 0; base < size; base += 64) {
      const ByteMasks m = MasksAt(t, base);
      for (std::size_t k = 0; k < 64; ++k) {
        const bool in = base + k < size;
        const char c = in ? t[base + k] : '\0';
        const bool digit = in && c >= '0' && c <= '9';
        const bool alpha = in && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
        ASSERT_EQ((m.digit >> k) & 1, uint64_t{digit}) << size << ' ' << base + k;
        ASSERT_EQ((m.alnum >> k) & 1, uint64_t{digit || alpha}) << size << ' ' << base + k;
        ASSERT_EQ((m.colon >> k) & 1, uint64_t{in && c == ':'}) << size << ' ' << base + k;
        ASSERT_EQ((m.percent >> k) & 1, uint64_t{in && c == '%'}) << size << ' ' << base + k;
      }
    }
  }
}

}  // namespace
}  // namespace hybridgate::sensitivity
