#include "classify/body_strings.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "classify/json_lexer.h"
#include "classify/sensitivity/scanner.h"

namespace hybridgate::classify {
namespace {

// The body is read in one pass by the reader below (tokens: json_lexer.h), not by a DOM
// parser: the decoders have parsed it once already, and a second full parse (a tape, then a walk
// over it) cost about as much as scanning the strings it found. Strings and keys are kept;
// everything else is checked and skipped. What it accepts and refuses is what simdjson's DOM
// parser (the decoders') accepts and refuses: RFC 8259 grammar, UTF-8 (inside strings too),
// escapes with paired surrogates only, numbers that fit an int64/uint64 or a finite double,
// nesting up to simdjson's default of 1024 (the decoders allow 64). body_strings_test.cc holds
// the reader to simdjson's walk on a corpus and on random mutations of it.
using json::error_code;
using json::Number;
using json::Read;
using json::ShortNumber;
using json::SkipSpace;
using json::Unescape;

constexpr size_t kMaxDepth = 1024;  // simdjson::DEFAULT_MAX_DEPTH, what dom::parser allowed
constexpr uint8_t kNoKind = 0xff;

char AsciiLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (AsciiLower(s[i]) != prefix[i]) return false;
  }
  return true;
}

constexpr std::array<bool, 256> kBase64 = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) {
    t[c] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/' || c == '=' || c == '-' || c == '_' || c == '\n' || c == '\r';
  }
  return t;
}();

bool IsBase64(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return kBase64[static_cast<uint8_t>(c)]; });
}

// Whether the number [p, q) is an integer of 64 bits (how a card, an account or a phone
// number is written as a number): such numbers are scanned, written as simdjson reads them
// ("-0" as "0").
bool Integer64(std::string_view n) {
  const bool negative = !n.empty() && n[0] == '-';
  const std::string_view digits = n.substr(negative ? 1 : 0);
  for (const char c : digits) {
    if (c < '0' || c > '9') return false;  // a fraction or an exponent
  }
  return digits.size() < 19 ||
         (digits.size() == 19 && (!negative || digits <= "9223372036854775808")) ||
         (digits.size() == 20 && !negative && digits <= "18446744073709551615");
}

// `[` at p opens an array whose first item is an integer, or an array starting with one:
// token ids ([19, 16, …] or [[19, 16], …]).
bool TokenIds(const char* p, const char* end) {
  for (int depth = 0; depth < 2; ++depth) {
    p = SkipSpace(p + 1, end);
    if (p == end) return false;
    if (*p != '[') return (*p >= '0' && *p <= '9') || *p == '-';
  }
  return false;
}

// A base64 alphabet run that reads as a blob: its symbols spread over the alphabet (base64 of
// binary data uses nearly all 64; a DNA or protein sequence, a run of one letter, digits use
// few), and what it decodes to is not text (base64 of text is scanned, decoded, as text:
// sensitivity's encoded-value pass).
bool LooksBinary(std::string_view value) {
  std::array<bool, 256> seen{};
  int distinct = 0;
  for (const char c : value) {
    if (!seen[static_cast<uint8_t>(c)]) {
      seen[static_cast<uint8_t>(c)] = true;
      ++distinct;
    }
  }
  if (distinct < 32) return false;
  // Decode the first 3 KB (standard or URL-safe alphabet, line breaks skipped).
  uint32_t bits = 0;
  int have = 0, printable = 0, bytes = 0;
  for (size_t i = 0; i < value.size() && bytes < 2048; ++i) {
    const char c = value[i];
    int v;
    if (c >= 'A' && c <= 'Z') {
      v = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      v = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      v = c - '0' + 52;
    } else if (c == '+' || c == '-') {
      v = 62;
    } else if (c == '/' || c == '_') {
      v = 63;
    } else {
      continue;
    }
    bits = ((bits << 6) | static_cast<uint32_t>(v)) & 0xffffff;
    have += 6;
    if (have >= 8) {
      have -= 8;
      const auto byte = static_cast<uint8_t>((bits >> have) & 0xff);
      ++bytes;
      printable += (byte >= 0x20 && byte < 0x7f) || byte == '\n' || byte == '\r' || byte == '\t' ||
                   byte >= 0x80;
    }
  }
  return bytes == 0 || printable * 10 < bytes * 9;
}

ContentKind KindOfMediaType(std::string_view media) {
  if (StartsWithNoCase(media, "image/")) return ContentKind::kImage;
  if (StartsWithNoCase(media, "audio/")) return ContentKind::kAudio;
  if (StartsWithNoCase(media, "application/") || StartsWithNoCase(media, "text/")) {
    return ContentKind::kFile;
  }
  return ContentKind::kBinary;
}

// The kind of a base64 value without a media type beside it: its field's name.
ContentKind KindOfKey(std::string_view key) {
  if (key.find("image") != std::string_view::npos) return ContentKind::kImage;
  if (key.find("audio") != std::string_view::npos) return ContentKind::kAudio;
  if (key.find("file") != std::string_view::npos) return ContentKind::kFile;
  return ContentKind::kBinary;
}

// ---- the reader -------------------------------------------------------------------------------

// An open object or array.
struct Frame {
  char close;                      // '}' or ']'
  bool text_pending = false;       // an array's object whose first "text" field is yet to come
  uint8_t context_kind = kNoKind;  // object: the kind its first media type or format names
  bool has_blobs = false;          // object: blobs counts one
  uint32_t parts_begin = 0;        // array: its first entry in parts
  std::array<int, kContentKinds> blobs;  // object: base64 values by the kind their key names,
                                         // set when has_blobs is

  bool object() const { return close == '}'; }
};

// A string of an array's text parts: in the storage, or copied aside when its line was dropped
// (a blob).
struct Part {
  size_t offset;
  size_t size;
  bool aside;
};

struct Nested {
  size_t offset;
  size_t size;
  int nesting;
};

// Kept by the thread, so that a request allocates nothing once they have grown.
struct Scratch {
  std::vector<Frame> frames;
  std::vector<Part> parts;
  std::string aside;
  std::vector<Nested> nested;
  std::string doc;
};

class Collector {
 public:
  Collector(BodyStrings& out, Scratch& scratch)
      : out_(out),
        frames_(scratch.frames),
        parts_(scratch.parts),
        aside_(scratch.aside),
        nested_(scratch.nested),
        doc_(scratch.doc) {
    nested_.clear();
  }

  // Collects the strings of one JSON document, `nesting` levels inside the body.
  error_code Document(std::string_view json, int nesting);
  // Strings that are JSON themselves, read after the document that holds them: their strings
  // are collected too, or, when they are not JSON, nothing more (they were scanned as text).
  void WalkNested();
  void Finish() {
    if (!out_.storage.empty()) out_.texts.emplace_back(out_.storage);
  }

 private:
  // The reader keeps its read and write positions in locals (`p`, `o`) and hands them to the
  // helpers by value: a store through a char* may alias anything, so positions kept in members
  // would be reloaded after every byte written.
  Read Parse(const char* p, char* o);
  char* Close(char* o);
  void CountBlobs(const Frame& object);
  char* JoinParts(char* o, const Frame& array);
  char* StringValue(char* o, size_t line, size_t key_size, size_t value_at, Frame* object,
                    bool part);
  char* SpecialValue(char* o, size_t line, size_t key_size, size_t value_at, Frame* object,
                     bool part);
  char* DataUri(char* o, size_t line, size_t key_size, size_t value_at, bool part);
  void SetAside(Part& part);

  BodyStrings& out_;
  std::vector<Frame>& frames_;
  std::vector<Part>& parts_;
  std::string& aside_;
  std::vector<Nested>& nested_;
  std::string& doc_;
  const char* end_ = nullptr;  // the document's end
  char* buf_ = nullptr;        // the storage's buffer while a document is read
  int nesting_ = 0;
};

error_code Collector::Document(std::string_view json, int nesting) {
  end_ = json.data() + json.size();
  nesting_ = nesting;
  frames_.clear();
  parts_.clear();
  aside_.clear();
  error_code error = simdjson::SUCCESS;
  std::string& s = out_.storage;
  const size_t used = s.size();
  // Every byte written stands for a byte read, or repeats one of an array's text parts (a
  // string is a part of one array at most): twice the document is room enough, plus what a
  // 16-byte copy writes past its end.
  s.resize_and_overwrite(used + 2 * json.size() + 64, [&](char* buf, size_t) {
    buf_ = buf;
    const Read r = Parse(json.data(), buf + used);
    error = r.error;
    return error ? used : static_cast<size_t>(r.out - buf);  // a failed read keeps nothing
  });
  return error;
}

// A string value, unescaped at [value_at, o), its line begun at `line` with the key (`key_size`
// bytes, then ": "; no key in an array). `object`: the object holding the field. `part`: the
// string is one of an array's text parts. Returns the end of what is written.
[[gnu::always_inline]] inline char* Collector::StringValue(char* o, size_t line, size_t key_size,
                                                           size_t value_at, Frame* object,
                                                           bool part) {
  const size_t size = static_cast<size_t>(o - buf_) - value_at;
  // The object's media type or audio format, which gives its base64 values their kind.
  if (object != nullptr && object->context_kind == kNoKind && key_size >= 6 && key_size <= 10) {
    const std::string_view key(buf_ + line, key_size);
    if (key == "media_type" || key == "mimeType" || key == "mime_type") {
      object->context_kind = static_cast<uint8_t>(KindOfMediaType({buf_ + value_at, size}));
    } else if (key == "format") {
      object->context_kind = static_cast<uint8_t>(ContentKind::kAudio);
    }
  }
  if (part) parts_.push_back(Part{value_at, size, false});
  // Most values are plain text: neither a data URI, nor base64, nor JSON.
  const char c = size > 0 ? buf_[value_at] : 'x';
  if (size < kMinBinaryBytes && AsciiLower(c) != 'd' && c != '{' && c != '[' &&
      static_cast<uint8_t>(c) > ' ') {
    if (o > buf_ + line) *o++ = '\n';
    return o;
  }
  return SpecialValue(o, line, key_size, value_at, object, part);
}

// The document at `p`, its strings written at `o`. One state machine over the bytes, its states
// the labels below: the reader's cost is its instructions per token (it runs at several a
// cycle), and a function per token cost twice the instructions of the jumps between states.
Read Collector::Parse(const char* p, char* o) {
  const char* const end = end_;
  Frame* f = nullptr;  // the innermost open object or array; null at the top level
  size_t line = 0;     // an object field: where its line (its key) starts
  size_t key_size = 0;
  bool text = false;          // the field is the first "text" of an array's object
  bool number_field = false;  // a field's number value is next: its key's line is open
  const auto fail = [&](error_code e) { return Read{p, o, e}; };

  p = SkipSpace(p, end);
  if (p == end) return fail(simdjson::EMPTY);

value:  // p at a value, past any space: the document, an array's item or a field's value
  switch (*p) {
    case '"': {
      // A field's string value is read with its key below; here the document or an item.
      const size_t at = static_cast<size_t>(o - buf_);
      const Read r = Unescape(p + 1, end, o);
      if (r.error) return r;
      p = r.in;
      o = StringValue(r.out, at, 0, at, nullptr, f != nullptr);
      goto after_value;
    }
    case '{':
    case '[': {
      if (frames_.size() >= kMaxDepth) return fail(simdjson::DEPTH_ERROR);
      const bool in_array = f != nullptr && !f->object();
      f = &frames_.emplace_back();
      f->close = *p == '{' ? '}' : ']';
      f->text_pending = *p == '{' && in_array;
      f->parts_begin = static_cast<uint32_t>(parts_.size());
      p = SkipSpace(p + 1, end);
      if (p == end) return fail(simdjson::TAPE_ERROR);
      if (*p == f->close) goto close;
      // simdjson opens a container at depth 1024 but takes no value inside it.
      if (frames_.size() >= kMaxDepth) return fail(simdjson::DEPTH_ERROR);
      goto element;
    }
    case 't':
    case 'f':
    case 'n': {
      const std::string_view word = *p == 't' ? "true" : *p == 'f' ? "false" : "null";
      if (static_cast<size_t>(end - p) < word.size() ||
          std::memcmp(p, word.data(), word.size()) != 0) {
        return fail(*p == 't'   ? simdjson::T_ATOM_ERROR
                    : *p == 'f' ? simdjson::F_ATOM_ERROR
                                : simdjson::N_ATOM_ERROR);
      }
      p += word.size();
      goto after_value;
    }
    default: {
      // A number is data too ("seed": 4111111111111111): its text goes on a line of its own,
      // or after its key's ": ".
      const char* const start = p;
      if (const char* q = ShortNumber(p, end)) {
        p = q;
      } else {
        const Read r = Number(p, end);
        if (r.error) return fail(r.error);
        p = r.in;
      }
      const std::string_view number(start, static_cast<size_t>(p - start));
      const bool field = number_field;
      number_field = false;
      if (Integer64(number)) {
        if (field) {  // "key = 5": not a "key: " line, which card bridges join across
          *o++ = ' ';
          *o++ = '=';
          *o++ = ' ';
        }
        if (number == "-0") {
          *o++ = '0';
        } else {
          std::memcpy(o, number.data(), number.size());
          o += number.size();
        }
        *o++ = '\n';
      } else if (field) {
        *o++ = '\n';
      }
      goto after_value;
    }
  }

element:  // p at an element of f, past any space
  if (!f->object()) goto value;
  // `"key": value`. The key starts its line: "key: value" for a string value, "key" alone
  // otherwise (its name is context for what follows).
  if (*p != '"') return fail(simdjson::TAPE_ERROR);
  line = static_cast<size_t>(o - buf_);
  {
    const Read r = Unescape(p + 1, end, o);
    if (r.error) return r;
    key_size = static_cast<size_t>(r.out - o);
    // An array's object adds its first "text" field to the array's joined text (when that
    // field is a string).
    text = f->text_pending && key_size == 4 && std::memcmp(o, "text", 4) == 0;
    if (text) f->text_pending = false;
    p = r.in;
    o = r.out;
  }
  if (p == end || *p != ':') {  // compact JSON: no space before the colon
    p = SkipSpace(p, end);
    if (p == end || *p != ':') return fail(simdjson::TAPE_ERROR);
  }
  p = SkipSpace(p + 1, end);
  if (p == end) return fail(simdjson::TAPE_ERROR);
  if (*p != '"') {
    if (key_size > 0) {
      if ((*p >= '0' && *p <= '9') || *p == '-') {
        number_field = true;  // "key = 123" when the number is written, else "key"
      } else {
        *o++ = '\n';
        // `prompt` or `input` as token ids (OpenAI's completions and embeddings): not text.
        if (*p == '[' && frames_.size() == 1 && nesting_ == 0 && TokenIds(p, end) &&
            ((key_size == 6 && std::memcmp(buf_ + line, "prompt", 6) == 0) ||
             (key_size == 5 && std::memcmp(buf_ + line, "input", 5) == 0))) {
          ++out_.content[static_cast<size_t>(ContentKind::kTokens)];
        }
      }
    }
    goto value;
  }
  if (key_size > 0) {
    *o++ = ':';
    *o++ = ' ';
  }
  {
    const size_t value_at = static_cast<size_t>(o - buf_);
    const Read r = Unescape(p + 1, end, o);
    if (r.error) return r;
    p = r.in;
    o = StringValue(r.out, line, key_size, value_at, f, text);
  }

after_value:  // p after a value
  if (f == nullptr) {
    p = SkipSpace(p, end);
    return p == end ? Read{p, o} : fail(simdjson::TAPE_ERROR);
  }
  if (p == end || static_cast<uint8_t>(*p) <= ' ') {
    p = SkipSpace(p, end);
    if (p == end) return fail(simdjson::TAPE_ERROR);
  }
  if (*p == ',') {
    p = SkipSpace(p + 1, end);
    if (p == end) return fail(simdjson::TAPE_ERROR);
    goto element;
  }
  if (*p != f->close) return fail(simdjson::TAPE_ERROR);

close:  // p at f's closing bracket
  ++p;
  o = Close(o);
  f = frames_.empty() ? nullptr : &frames_.back();
  goto after_value;
}

// Closes the innermost object or array.
char* Collector::Close(char* o) {
  const Frame& f = frames_.back();
  if (f.object()) {
    if (f.has_blobs) CountBlobs(f);
  } else if (parts_.size() > f.parts_begin) {
    o = JoinParts(o, f);
  }
  frames_.pop_back();
  return o;
}

// A base64 value's kind: a media type beside it (Anthropic `media_type`, Gemini `mimeType`,
// `mime_type`) or an audio `format` (OpenAI input_audio), else its own key.
void Collector::CountBlobs(const Frame& object) {
  for (size_t k = 0; k < kContentKinds; ++k) {
    const size_t kind = object.context_kind == kNoKind ? k : object.context_kind;
    out_.content[kind] += object.blobs[k];
  }
}

// Text the model reads as one (content parts, system blocks) is also scanned joined.
char* Collector::JoinParts(char* o, const Frame& array) {
  const std::span<const Part> parts = std::span(parts_).subspan(array.parts_begin);
  if (parts.size() > 1) {
    const char* begin = o;
    for (const Part& p : parts) {
      std::memcpy(o, (p.aside ? aside_.data() : buf_) + p.offset, p.size);
      o += p.size;
    }
    if (o > begin) *o++ = '\n';
  }
  parts_.resize(array.parts_begin);
  if (parts_.empty()) aside_.clear();
  return o;
}

void Collector::SetAside(Part& part) {
  const size_t at = aside_.size();
  aside_.append(buf_ + part.offset, part.size);
  part.offset = at;
  part.aside = true;
}

// StringValue's other cases.
char* Collector::SpecialValue(char* o, size_t line, size_t key_size, size_t value_at, Frame* object,
                              bool part) {
  const std::string_view value(buf_ + value_at, o);
  if (char* end = DataUri(o, line, key_size, value_at, part)) return end;
  if (value.size() >= kMinBinaryBytes && IsBase64(value) && LooksBinary(value)) {
    // Counted, not scanned: the line keeps the key alone.
    if (part) SetAside(parts_.back());
    const ContentKind kind =
        object != nullptr ? KindOfKey({buf_ + line, key_size}) : ContentKind::kBinary;
    if (object != nullptr && !object->has_blobs) {
      object->has_blobs = true;
      object->blobs = {};
    }
    ++(object != nullptr ? object->blobs : out_.content)[static_cast<size_t>(kind)];
    o = buf_ + line + key_size;
    if (key_size > 0) *o++ = '\n';
    return o;
  }
  const char* first = SkipSpace(value.data(), value.data() + value.size());
  const bool json = first != value.data() + value.size() && (*first == '{' || *first == '[');
  if (json && nesting_ < kMaxNesting) nested_.push_back({value_at, value.size(), nesting_ + 1});
  if (o > buf_ + line) *o++ = '\n';
  return o;
}

// A `data:…;base64,` value: counted by its media type; the line keeps the key, then the URI's
// head (`data:image/png;base64`) on a line of its own. Null for any other value.
char* Collector::DataUri(char* o, size_t line, size_t key_size, size_t value_at, bool part) {
  const std::string_view value(buf_ + value_at, o);
  if (!StartsWithNoCase(value, "data:")) return nullptr;
  const size_t comma = value.find(',');
  const std::string_view head = value.substr(0, comma);
  if (comma == std::string_view::npos || !head.ends_with(";base64")) return nullptr;
  const std::string_view media = head.substr(5, head.find(';') - 5);
  ++out_.content[static_cast<size_t>(KindOfMediaType(media))];
  if (part) SetAside(parts_.back());
  o = buf_ + line + key_size;
  if (key_size > 0) *o++ = '\n';
  std::memmove(o, buf_ + value_at, head.size());
  o += head.size();
  *o++ = '\n';
  return o;
}

void Collector::WalkNested() {
  std::string& s = out_.storage;
  for (size_t i = 0; i < nested_.size(); ++i) {
    const Nested n = nested_[i];
    doc_.assign(s, n.offset, n.size);
    const size_t size = s.size();
    const auto content = out_.content;
    const size_t queued = nested_.size();
    if (Document(doc_, n.nesting) != simdjson::SUCCESS) {
      // Not JSON after all: it was scanned as plain text; drop what was read of it.
      s.resize(size);
      out_.content = content;
      nested_.resize(queued);
    }
  }
}

}  // namespace

std::string_view ContentKindName(ContentKind k) {
  switch (k) {
    case ContentKind::kImage:
      return "image";
    case ContentKind::kAudio:
      return "audio";
    case ContentKind::kFile:
      return "file";
    case ContentKind::kTokens:
      return "tokens";
    case ContentKind::kBinary:
      break;
  }
  return "binary";
}

sensitivity::Classification ClassifyStrings(const sensitivity::Scanner& scanner,
                                            const config::ResidencyConfig& residency,
                                            const BodyStrings& strings) {
  sensitivity::Classification c = scanner.Classify(strings.texts);
  for (size_t k = 0; k < kContentKinds; ++k) {
    if (strings.content[k] == 0) continue;
    sensitivity::Finding f;
    f.type = std::string(ContentKindName(static_cast<ContentKind>(k))) + "_content";
    f.data_class = residency.content_classes[k];
    f.text_index = strings.texts.size();
    c.data_class = std::max(c.data_class, f.data_class);
    c.findings.push_back(std::move(f));
  }
  return c;
}

Status CollectBodyStrings(std::string_view json, BodyStrings& out) {
  thread_local Scratch scratch;
  out.clear();
  Collector c(out, scratch);
  if (error_code e = c.Document(json, 0)) {
    out.clear();
    return Fail(MakeError(ErrorCode::kInvalidRequest,
                          std::string("malformed JSON: ") + simdjson::error_message(e)));
  }
  c.WalkNested();
  c.Finish();
  return {};
}

}  // namespace hybridgate::classify
