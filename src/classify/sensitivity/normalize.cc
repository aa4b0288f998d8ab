#include "classify/sensitivity/normalize.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <iterator>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace hybridgate::sensitivity {
namespace {

// Why a table and not ICU's NFKC: NFKC folds the full-width forms and most spaces, but keeps other
// scripts' digits (U+0660 stays U+0660), the dashes and the zero-width and bidi controls, which
// are what hides a value; NFKC_Casefold drops the controls but lower-cases every letter, which
// the case-sensitive shapes (keys, base64) cannot take. So a hand table would be needed next to
// ICU anyway, and this subset is small, closed and changes only when Unicode adds a digit block.
// NFKC with an offset map (normalizeUTF8 with Edits) also cost about four times this fold on a
// 4 KB prompt, more than the whole scan.
//
// One row per range: what every code point in it becomes.
struct FoldRange {
  char32_t first;
  char32_t last;
  int to;  // kDrop, an ASCII byte, kFullWidth, or kDigitsFrom + the digit `first` stands for
};
constexpr int kFullWidth = 256;   // U+FF01..U+FF5E: the ASCII byte 0xFEE0 below
constexpr int kDigitsFrom = 512;  // consecutive digits: first -> '0' + to - kDigitsFrom, ...

constexpr FoldRange kFolds[] = {
    {0x00A0, 0x00A0, ' '},              // no-break space
    {0x00AD, 0x00AD, kDrop},            // soft hyphen
    {0x034F, 0x034F, kDrop},            // combining grapheme joiner
    {0x061C, 0x061C, kDrop},            // Arabic letter mark
    {0x115F, 0x1160, kDrop},            // Hangul choseong and jungseong fillers
    {0x1369, 0x1371, kDigitsFrom + 1},  // Ethiopic digit one .. nine
    {0x1680, 0x1680, ' '},              // Ogham space mark
    {0x180B, 0x180F, kDrop},            // Mongolian free variation selectors, vowel separator
    {0x2000, 0x200A, ' '},              // en quad .. hair space
    {0x200B, 0x200F, kDrop},            // zero width space, ZWNJ, ZWJ, LRM, RLM
    {0x2010, 0x2015, '-'},    // hyphen, non-breaking hyphen, figure dash .. horizontal bar
    {0x2028, 0x2029, '\n'},   // line and paragraph separators
    {0x202A, 0x202E, kDrop},  // bidi embeddings and overrides
    {0x202F, 0x202F, ' '},    // narrow no-break space
    {0x205F, 0x205F, ' '},    // medium mathematical space
    {0x2060, 0x2064, kDrop},  // word joiner, invisible operators
    {0x2066, 0x2069, kDrop},  // bidi isolates
    {0x2070, 0x2070, '0'},    // superscript zero
    {0x2074, 0x2079, kDigitsFrom + 4},  // superscript four .. nine
    {0x2080, 0x2089, kDigitsFrom},      // subscript zero .. nine
    {0x2212, 0x2212, '-'},              // minus sign
    {0x2460, 0x2468, kDigitsFrom + 1},  // circled digit one .. nine
    {0x2474, 0x247C, kDigitsFrom + 1},  // parenthesized digit one .. nine
    {0x2488, 0x2490, kDigitsFrom + 1},  // digit one full stop .. digit nine full stop
    {0x24EA, 0x24EA, '0'},              // circled digit zero
    {0x24F5, 0x24FD, kDigitsFrom + 1},  // double circled digit one .. nine
    {0x24FF, 0x24FF, '0'},              // negative circled digit zero
    {0x2776, 0x277E, kDigitsFrom + 1},  // dingbat negative circled digit one .. nine
    {0x2780, 0x2788, kDigitsFrom + 1},  // dingbat circled sans-serif digit one .. nine
    {0x278A, 0x2792, kDigitsFrom + 1},  // dingbat negative circled sans-serif one .. nine
    {0x2800, 0x2800, ' '},              // braille pattern blank
    {0x3000, 0x3000, ' '},              // ideographic space
    {0xFE58, 0xFE58, '-'},              // small em dash
    {0xFE63, 0xFE63, '-'},              // small hyphen-minus
    {0xFE6B, 0xFE6B, '@'},              // small commercial at
    {0xFEFF, 0xFEFF, kDrop},            // zero width no-break space (BOM)
    {0xFF01, 0xFF5E, kFullWidth},       // full-width ASCII, '＠' and '０'..'９' included
    {0xFFA0, 0xFFA0, kDrop},            // halfwidth Hangul filler
    {0xFFF9, 0xFFFB, kDrop},            // interlinear annotation anchor, separator, terminator
    {0x1F100, 0x1F100, '0'},            // digit zero full stop
    {0x1F101, 0x1F10A, kDigitsFrom},    // digit zero comma .. digit nine comma
    {0x1F10B, 0x1F10C, '0'},            // dingbat circled sans-serif digit zero, negative
    {0xE0000, 0xE007F, kDrop},          // tag characters (language tags, emoji tag sequences)
};

constexpr bool SortedAndDisjoint() {
  for (std::size_t i = 0; i < std::size(kFolds); ++i) {
    if (kFolds[i].first > kFolds[i].last) return false;
    if (i > 0 && kFolds[i - 1].last >= kFolds[i].first) return false;
  }
  return true;
}
static_assert(SortedAndDisjoint(), "kFolds is searched by upper_bound");

// The zero of every run of ten decimal digits (general category Nd) outside ASCII and the
// full-width block, Unicode 15 (Kawi and Nag Mundari included): Arabic-Indic, Extended
// Arabic-Indic, NKo, Devanagari, Bengali, Gurmukhi, Gujarati, Oriya, Tamil, Telugu, Kannada,
// Malayalam, Sinhala, Thai, Lao, Tibetan, Myanmar, Khmer, Mongolian, ..., mathematical digits.
constexpr char32_t kDigitZeros[] = {
    0x0660,  0x06F0,  0x07C0,  0x0966,  0x09E6,  0x0A66,  0x0AE6,  0x0B66,  0x0BE6,  0x0C66,
    0x0CE6,  0x0D66,  0x0DE6,  0x0E50,  0x0ED0,  0x0F20,  0x1040,  0x1090,  0x17E0,  0x1810,
    0x1946,  0x19D0,  0x1A80,  0x1A90,  0x1B50,  0x1BB0,  0x1C40,  0x1C50,  0xA620,  0xA8D0,
    0xA900,  0xA9D0,  0xA9F0,  0xAA50,  0xABF0,  0x104A0, 0x10D30, 0x11066, 0x110F0, 0x11136,
    0x111D0, 0x112F0, 0x11450, 0x114D0, 0x11650, 0x116C0, 0x11730, 0x118E0, 0x11950, 0x11C50,
    0x11D50, 0x11DA0, 0x11F50, 0x16A60, 0x16AC0, 0x16B50, 0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC,
    0x1D7F6, 0x1E140, 0x1E2F0, 0x1E4F0, 0x1E950, 0x1FBF0};

// Decodes the UTF-8 sequence at text[i] (text[i] >= 0x80). Returns its length, or 0 for an
// invalid sequence (kept byte by byte).
std::size_t Decode(std::string_view text, std::size_t i, char32_t& cp) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[i + k]); };
  const unsigned char lead = byte(0);
  std::size_t len = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    len = 2;
    cp = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    len = 3;
    cp = lead & 0x0F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    len = 4;
    cp = lead & 0x07;
  } else {
    return 0;
  }
  if (i + len > text.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    if ((byte(k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(k) & 0x3F);
  }
  // Overlong forms, surrogates and code points past U+10FFFF are not characters.
  if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
      (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0;
  }
  return len;
}

// The first byte >= 0x80 at or after i (or the end).
std::size_t AsciiRunEnd(std::string_view text, std::size_t i) {
#if defined(__SSE2__)
  for (; i + 16 <= text.size(); i += 16) {
    const auto mask = static_cast<unsigned>(
        _mm_movemask_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(text.data() + i))));
    if (mask != 0) return i + static_cast<std::size_t>(__builtin_ctz(mask));
  }
#endif
  while (i < text.size() && static_cast<unsigned char>(text[i]) < 0x80) ++i;
  return i;
}

}  // namespace

bool HasNonAscii(std::string_view text) {
  const char* p = text.data();
  std::size_t n = text.size();
  std::size_t i = 0;
#if defined(__SSE2__)
  for (; i + 64 <= n; i += 64) {
    __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i + 16));
    __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i + 32));
    __m128i d = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i + 48));
    __m128i any = _mm_or_si128(_mm_or_si128(a, b), _mm_or_si128(c, d));
    if (_mm_movemask_epi8(any) != 0) return true;
  }
  if (n >= 16) {  // the rest, 16 bytes at a time, the last 16 overlapping what was read
    __m128i any = _mm_setzero_si128();
    for (; i + 16 <= n; i += 16) {
      any = _mm_or_si128(any, _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i)));
    }
    any = _mm_or_si128(any, _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + n - 16)));
    return _mm_movemask_epi8(any) != 0;
  }
#endif
  uint64_t acc = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    acc |= w;
  }
  for (; i < n; ++i) acc |= static_cast<unsigned char>(p[i]);
  return (acc & 0x8080808080808080ull) != 0;
}

int FoldCodePoint(char32_t cp) {
  // The common non-ASCII characters first: Latin letters with accents, curly quotes and
  // punctuation, CJK and kana, emoji. None of them folds.
  if (cp < 0x0660) {
    switch (cp) {
      case 0x85:  // next line
        return '\n';
      case 0xA0:
        return ' ';
      case 0xAD:
      case 0x34F:
      case 0x61C:
        return kDrop;
      case 0xB2:  // superscript two, three, one
        return '2';
      case 0xB3:
        return '3';
      case 0xB9:
        return '1';
      default:
        return kKeep;
    }
  }
  if (cp == 0x3164) return kDrop;  // Hangul filler: blank, and a letter to Unicode
  if ((cp >= 0x2016 && cp <= 0x2027) || (cp > 0x3000 && cp < 0xA620) ||
      (cp >= 0x1F000 && cp < 0x1F100) || (cp > 0x1F10C && cp < 0x1FBF0)) {
    return kKeep;
  }
  const auto range = std::upper_bound(std::begin(kFolds), std::end(kFolds), cp,
                                      [](char32_t c, const FoldRange& r) { return c < r.first; });
  if (range != std::begin(kFolds) && cp <= std::prev(range)->last) {
    const FoldRange& r = *std::prev(range);
    if (r.to == kFullWidth) return static_cast<int>(cp - 0xFEE0);
    if (r.to >= kDigitsFrom) return '0' + (r.to - kDigitsFrom) + static_cast<int>(cp - r.first);
    return r.to;
  }
  const auto zero = std::upper_bound(std::begin(kDigitZeros), std::end(kDigitZeros), cp);
  if (zero != std::begin(kDigitZeros) && cp - *std::prev(zero) < 10) {
    return '0' + static_cast<int>(cp - *std::prev(zero));
  }
  return kKeep;
}

bool IsCombiningMark(char32_t cp) {
  return (cp >= 0x0300 && cp <= 0x036F) || (cp >= 0x1AB0 && cp <= 0x1AFF) ||
         (cp >= 0x1DC0 && cp <= 0x1DFF) || (cp >= 0x20D0 && cp <= 0x20FF) ||
         (cp >= 0xFE00 && cp <= 0xFE0F) || (cp >= 0xFE20 && cp <= 0xFE2F) ||
         (cp >= 0xE0100 && cp <= 0xE01EF);
}

namespace {
bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAsciiAlnum(char c) {
  return IsAsciiDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
}  // namespace

bool NormalizedText::Assign(std::string_view in, bool dropped_as_space) {
  text_.clear();
  segments_.clear();
  dropped_after_word_ = false;
  // Find the first character that folds (or a mark on an ASCII digit); before it, nothing is
  // copied.
  std::size_t i = AsciiRunEnd(in, 0);
  while (i < in.size()) {
    char32_t cp = 0;
    const std::size_t len = Decode(in, i, cp);
    if (len != 0 && FoldCodePoint(cp) != kKeep) break;
    if (len != 0 && i > 0 && IsAsciiDigit(in[i - 1]) && IsCombiningMark(cp)) break;
    i = AsciiRunEnd(in, i + (len == 0 ? 1 : len));
  }
  if (i >= in.size()) return false;

  text_.reserve(in.size());
  text_.append(in.substr(0, i));
  segments_.push_back(Segment{0, 0, 0});
  while (i < in.size()) {
    if (static_cast<unsigned char>(in[i]) < 0x80) {
      const std::size_t j = AsciiRunEnd(in, i);
      text_.append(in.substr(i, j - i));
      i = j;
      continue;
    }
    char32_t cp = 0;
    const std::size_t len = Decode(in, i, cp);
    const int to = len == 0 ? kKeep : FoldCodePoint(cp);
    if (to == kKeep && len != 0 && !text_.empty() && IsAsciiDigit(text_.back()) &&
        IsCombiningMark(cp)) {
      // "4️⃣", "4̲": the mark belongs to the digit; the digit's character now ends after it.
      i += len;
      Attach(i);
      Resume(i);
    } else if (to == kKeep) {
      const std::size_t n = len == 0 ? 1 : len;
      text_.append(in.substr(i, n));
      i += n;
    } else if (to == kDrop) {
      if (!text_.empty() && IsAsciiAlnum(text_.back()) && i + len < in.size() &&
          (IsAsciiAlnum(in[i + len]) || static_cast<unsigned char>(in[i + len]) >= 0x80)) {
        dropped_after_word_ = true;
      }
      if (dropped_as_space) {
        Fold(i, len, ' ');
      }
      i += len;
      Resume(i);
    } else {
      Fold(i, len, static_cast<char>(to));
      i += len;
      Resume(i);
    }
  }
  return true;
}

// The bytes appended from now on map one to one from original offset `orig`.
void NormalizedText::Resume(std::size_t orig) {
  const std::size_t norm = text_.size();
  if (segments_.back().norm == norm && segments_.back().folded == 0) {
    segments_.back().orig = orig;  // nothing was copied since the last segment began
  } else {
    segments_.push_back(Segment{norm, orig, 0});
  }
}

void NormalizedText::Fold(std::size_t orig, std::size_t len, char ascii) {
  const std::size_t norm = text_.size();
  if (segments_.back().norm == norm && segments_.back().folded == 0) {
    segments_.back() = Segment{norm, orig, len};
  } else {
    segments_.push_back(Segment{norm, orig, len});
  }
  text_.push_back(ascii);
}

void NormalizedText::Attach(std::size_t orig_end) {
  const std::size_t n = text_.size() - 1;               // the byte the mark belongs to
  if (segments_.back().norm > n) segments_.pop_back();  // a Resume with nothing copied since
  Segment& s = segments_.back();
  if (s.folded != 0) {
    s.folded = orig_end - s.orig;  // s.norm == n: a folded byte is its segment's only one
    return;
  }
  const std::size_t o = s.orig + (n - s.norm);
  if (s.norm == n) {
    s = Segment{n, o, orig_end - o};
  } else {
    segments_.push_back(Segment{n, o, orig_end - o});
  }
}

const NormalizedText::Segment& NormalizedText::SegmentOf(std::size_t pos) const {
  auto it = std::upper_bound(segments_.begin(), segments_.end(), pos,
                             [](std::size_t p, const Segment& s) { return p < s.norm; });
  return *std::prev(it);  // segments_[0].norm == 0
}

std::size_t NormalizedText::OriginalStart(std::size_t start) const {
  const Segment& s = SegmentOf(start);
  return s.folded != 0 ? s.orig : s.orig + (start - s.norm);
}

std::size_t NormalizedText::OriginalEnd(std::size_t end) const {
  const Segment& s = SegmentOf(end - 1);
  return s.folded != 0 ? s.orig + s.folded : s.orig + (end - s.norm);
}

}  // namespace hybridgate::sensitivity
