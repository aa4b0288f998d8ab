// Unicode folding before matching. The detectors read ASCII: a value written with look-alike
// characters (full-width digits, other scripts' digits, zero-width or bidi controls inside it,
// no-break spaces, Unicode dashes) would pass them by. Such characters become the ASCII byte they
// stand for, or nothing, in a copy of the text; findings in the copy are mapped back to the
// caller's bytes. Internal to the sensitivity library; pure, any thread (one object per scan).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace hybridgate::sensitivity {

// True when `text` has a byte >= 0x80. The all-ASCII text (the common one) needs no folding.
bool HasNonAscii(std::string_view text);

// What one code point becomes: kKeep (copied as it is), kDrop (removed) or an ASCII byte.
inline constexpr int kKeep = -1;
inline constexpr int kDrop = 0;
int FoldCodePoint(char32_t cp);
// Combining marks and variation selectors (U+0300..U+036F, U+20D0..U+20FF with the keycap
// U+20E3, U+FE00..U+FE0F, ...). One that follows a digit is dropped, as part of the digit's
// character ("4️⃣", "4̲"); elsewhere it is kept.
bool IsCombiningMark(char32_t cp);

// A folded copy of a text and the way back to the original's offsets.
class NormalizedText {
 public:
  // Folds `text`. Returns false, and holds nothing, when no character of `text` folds (all
  // ASCII, or only characters that are kept): scan the original then, with no copy made.
  // With `dropped_as_space`, a character that is otherwise dropped (zero-width, bidi) becomes a
  // space instead.
  bool Assign(std::string_view text, bool dropped_as_space = false);

  std::string_view text() const { return text_; }

  // Whether a dropped character stood right after an ASCII letter or digit, as in
  // "with<ZWSP>4111…". Dropping it joins the value to the word before it and hides it from
  // rules that need a word edge, and keeping it as a space splits a value hidden by it
  // ("4111<ZWSP>1111…", "s<ZWSP>k-proj-…"): such a text is scanned both ways (scanner.cc).
  bool dropped_after_word() const { return dropped_after_word_; }

  // Offsets in the original of the range [start, end) of text() (end > start): the first byte
  // of the character that gave byte `start`, and one past the last byte of the character that
  // gave byte `end - 1`. Dropped characters at the edges of the range stay outside it; those
  // inside it are covered.
  std::size_t OriginalStart(std::size_t start) const;
  std::size_t OriginalEnd(std::size_t end) const;

 private:
  // From `norm` on, bytes of text_ map one to one to the original from `orig` (folded == 0), or
  // the one byte at `norm` stands for the `folded` original bytes at `orig`.
  struct Segment {
    std::size_t norm;
    std::size_t orig;
    std::size_t folded;
  };
  const Segment& SegmentOf(std::size_t pos) const;
  void Resume(std::size_t orig);
  void Fold(std::size_t orig, std::size_t len, char ascii);
  // The last byte of text_ now stands for its original character and the marks after it, up to
  // original offset `orig_end`.
  void Attach(std::size_t orig_end);

  std::string text_;
  std::vector<Segment> segments_;
  bool dropped_after_word_ = false;
};

}  // namespace hybridgate::sensitivity
