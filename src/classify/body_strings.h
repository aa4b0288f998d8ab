// Every string a JSON body carries, for the sensitivity scan: object keys and string values at
// any depth, JSON-unescaped, known fields and unknown alike — so a field added in a future API
// version is scanned without a code change. The scan reads what the upstream will decode, not
// the escaped bytes: `\u0034\u0031…` is scanned as `41…`. Each string is one line of one text
// (the scanner's cost is mostly per text); a field with a string value is the line
// `key: value`, so that its name is the value's context (`"password": "…"`, `"dob": …`).
//
// Three rules on top of "every string":
// - A string value that is itself a JSON object or array (tool-call arguments, JSON tool
//   results, schemas sent as strings) is parsed and its strings are collected too, nested up to
//   kMaxNesting levels; deeper or malformed ones are scanned as plain text.
// - Text split over the elements of one array (content parts, system blocks: the model reads
//   them as one text) is also collected joined, so a secret cut in two parts is still one match.
// - Integers are data too: each is a line, `key = 4111111111111111` (not `key: `: the card
//   rule joins digits across `key: value` lines, as a card typed over two messages, and
//   separate numeric fields of a schema are no such thing), or the number alone in an array.
// - Content that cannot be read as text — a `data:…;base64,` URI, a base64 run of at least
//   kMinBinaryBytes that reads as a blob (its symbols spread over the alphabet and it does not
//   decode to text: a DNA sequence or base64 of a config file is text), or a top-level `prompt`
//   / `input` of token ids (OpenAI's completions and embeddings) — is not scanned as text; it
//   is counted by kind (image, audio, file, binary: from the URI's or a sibling field's media
//   type; tokens), and the residency policy gives each kind a data class (config
//   `residency.content_classes`).
//
// Pure and synchronous. The body is read in one pass by a reader of its own (no DOM parser, so
// it never invalidates a document the caller is still reading) that accepts exactly what
// simdjson's DOM parser accepts; its scratch is kept by the thread, so a request allocates
// nothing once the thread's buffers have grown.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "classify/sensitivity/finding.h"
#include "common/result.h"
#include "config/config.h"

namespace hybridgate::sensitivity {
class Scanner;
}

namespace hybridgate::classify {

enum class ContentKind : uint8_t { kImage, kAudio, kFile, kBinary, kTokens };
inline constexpr size_t kContentKinds = 5;
std::string_view ContentKindName(ContentKind k);  // "image", "audio", "file", "binary", "tokens"

inline constexpr int kMaxNesting = 4;
inline constexpr size_t kMinBinaryBytes = 512;

struct BodyStrings {
  // One text (a view of `storage`) holding every string in document order, one per line; empty
  // for a document without strings.
  std::vector<std::string_view> texts;
  std::array<int, kContentKinds> content{};  // blobs seen, by ContentKind
  std::string storage;

  bool has_content() const {
    for (int n : content) {
      if (n > 0) return true;
    }
    return false;
  }
  void clear() {
    texts.clear();
    content = {};
    storage.clear();
  }
};

// Collects the strings of the JSON document `json` into `out` (cleared first). Fails only when
// `json` is not JSON, as simdjson's DOM parser sees it (the decoders have said why by then);
// `out` is then empty.
Status CollectBodyStrings(std::string_view json, BodyStrings& out);

// The class of what `strings` holds: the scanner's findings over its texts (text_index into
// strings.texts) and, per content kind present, one finding `<kind>_content` (text_index
// strings.texts.size(), no offsets) of the class `residency.content_classes` gives that kind.
sensitivity::Classification ClassifyStrings(const sensitivity::Scanner& scanner,
                                            const config::ResidencyConfig& residency,
                                            const BodyStrings& strings);

}  // namespace hybridgate::classify
