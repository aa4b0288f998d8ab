// Values hidden in an encoding: base64 (standard and URL-safe), hex and URL percent-encoding.
// The byte-class masks of the number pass (byte_masks.h) give the candidate runs; those that
// decode to text are decoded into one buffer, a line each, which the scanner scans like any other
// text (once, whatever the number of runs), and each finding there is mapped back to the encoded
// bytes it came from. Internal to the sensitivity library; pure, any thread (one DecodedRuns per
// scan).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "classify/sensitivity/byte_masks.h"
#include "classify/sensitivity/rules.h"

namespace hybridgate::sensitivity {

// Runs shorter than these are not decoded: 16 base64 characters are 12 bytes, 26 hex digits 13
// (the shortest card number); longer runs than kMaxEncodedRun are data, not a pasted value.
inline constexpr std::size_t kMinBase64Run = 16;
inline constexpr std::size_t kMinHexRun = 26;
inline constexpr std::size_t kMaxEncodedRun = 64 * 1024;

struct DecodedRuns {
  std::string text;          // the decoded runs, each followed by '\n'
  std::vector<Span> origin;  // per byte of text: the encoded bytes it came from
  // Seen on the way, in the encoded text itself: base64 runs that start with a private key's DER
  // header (Rule::kPrivateKeyDer), and `T3BlbkFJ` inside a run (Rule::kOpenAiLegacy).
  std::vector<std::size_t> key_headers;
  std::vector<std::size_t> openai_markers;
  void clear() {
    text.clear();
    origin.clear();
    key_headers.clear();
    openai_markers.clear();
  }
  // The encoded bytes a finding [start, end) of text() stands for.
  Span Original(std::size_t start, std::size_t end) const {
    return Span{origin[start].start, origin[end - 1].end};
  }
};

// Decodes the candidate runs of a text that read as text into `out` (cleared on construction): a
// base64 run of kMinBase64Run characters or more with both cases, a hex run of kMinHexRun digits
// or more, a run of URL characters with a %XX escape. Fed the text's byte masks: Block() for every
// 64-byte block, in order. Holds references to `text` and `out`.
class EncodedRuns {
 public:
  EncodedRuns(std::string_view text, DecodedRuns& out) : text_(text), out_(out) { out.clear(); }
  // Inline, in the scanner's loop over the blocks. Bit k of m.alnum: text[base + k] is in
  // [A-Za-z0-9]; runs of 16 of them start the base64 and hex candidates ('+', '/', '-' and '_'
  // are taken along once a run is found: the base64 of ASCII text has '+' and '/' only where the
  // text has '>', '?' or '~').
  void Block(std::size_t base, const ByteMasks& m) {
    const auto shl = [](uint64_t x, int k, uint64_t prev) { return (x << k) | (prev >> (64 - k)); };
    // Bit k of a8: bytes base + k - 15 .. base + k are all in the run class.
    const uint64_t a1 = m.alnum & shl(m.alnum, 1, prev_w_);
    const uint64_t a2 = a1 & shl(a1, 2, prev_a1_);
    const uint64_t a4 = a2 & shl(a2, 4, prev_a2_);
    uint64_t a8 = a4 & shl(a4, 8, prev_a4_);
    prev_w_ = m.alnum;
    prev_a1_ = a1;
    prev_a2_ = a2;
    prev_a4_ = a4;
    for (uint64_t p = m.percent; p != 0; p &= p - 1) {
      Percent(base + static_cast<std::size_t>(__builtin_ctzll(p)));
    }
    while (a8 != 0) {  // one call per run: the bits up to its end are cleared
      const std::size_t e = base + static_cast<std::size_t>(__builtin_ctzll(a8));
      if (e >= done_) done_ = Run(e);
      const std::size_t skip = (done_ > e + 1 ? done_ : e + 1) - base;
      a8 = skip >= 64 ? 0 : a8 & (~uint64_t{0} << skip);
    }
  }
  // Whether anything was found (a decoded run, key header or marker).
  bool found() const {
    return !out_.text.empty() || !out_.key_headers.empty() || !out_.openai_markers.empty();
  }

 private:
  void Percent(std::size_t i);     // i: a '%'
  std::size_t Run(std::size_t e);  // e: the 16th byte of a run; returns the run's end

  std::string_view text_;
  DecodedRuns& out_;
  std::size_t done_ = 0;  // runs before this offset were looked at
  // The previous block's masks (Block), for runs that cross a block's start.
  uint64_t prev_w_ = 0, prev_a1_ = 0, prev_a2_ = 0, prev_a4_ = 0;
};

}  // namespace hybridgate::sensitivity
