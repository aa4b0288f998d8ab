// Values hidden in an encoding: base64 (standard and URL-safe), hex and URL percent-encoding.
// One pass of byte-class masks finds the candidate runs; those that decode to text are decoded
// into one buffer, a line each, which the scanner scans like any other text (once, whatever the
// number of runs), and each finding there is mapped back to the encoded bytes it came from.
// Internal to the sensitivity library; pure, any thread (one DecodedRuns per scan).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

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

// Decodes the candidate runs of `text` that read as text into `out` (cleared first): a base64
// run of kMinBase64Run characters or more with both cases, a hex run of kMinHexRun digits or
// more, a run of URL characters with a %XX escape. Returns false when it found nothing (no
// decoded run, key header or marker).
bool DecodeRuns(std::string_view text, DecodedRuns& out);

}  // namespace hybridgate::sensitivity
