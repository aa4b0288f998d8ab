#include "classify/body_strings.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace hybridgate::classify {
namespace {

// The implementation the single-pass reader replaced: simdjson's DOM parser, then a walk over
// the document. Kept as the reference that the reader's output (every line, every content
// count) and its verdict on malformed JSON are held to.
namespace reference {

namespace dom = simdjson::dom;

bool IsBase64Byte(unsigned char c) {
  return std::isalnum(c) || c == '+' || c == '/' || c == '=' || c == '-' || c == '_' || c == '\n' ||
         c == '\r';
}

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  }
  return true;
}

ContentKind KindOfMediaType(std::string_view media) {
  if (StartsWithNoCase(media, "image/")) return ContentKind::kImage;
  if (StartsWithNoCase(media, "audio/")) return ContentKind::kAudio;
  if (StartsWithNoCase(media, "application/") || StartsWithNoCase(media, "text/")) {
    return ContentKind::kFile;
  }
  return ContentKind::kBinary;
}

ContentKind KindFromContext(dom::object parent, std::string_view key) {
  for (const auto field : parent) {
    std::string_view v;
    if (field.value.get_string().get(v)) continue;
    const std::string_view k = field.key;
    if (k == "media_type" || k == "mimeType" || k == "mime_type") return KindOfMediaType(v);
    if (k == "format") return ContentKind::kAudio;
  }
  if (key.find("image") != std::string_view::npos) return ContentKind::kImage;
  if (key.find("audio") != std::string_view::npos) return ContentKind::kAudio;
  if (key.find("file") != std::string_view::npos) return ContentKind::kFile;
  return ContentKind::kBinary;
}

// The reference's blob test: 32 distinct symbols or more, and the decoding of its first 2048
// bytes less than 90% text bytes (printable ASCII, tab, CR, LF, or >= 0x80).
bool ReadsAsBlob(std::string_view s) {
  if (std::set<char>(s.begin(), s.end()).size() < 32) return false;
  static const std::string kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::vector<uint8_t> decoded;
  unsigned bits = 0;
  int have = 0;
  for (const char c : s) {
    const size_t v = kAlphabet.find(c == '-' ? '+' : c == '_' ? '/' : c);
    if (v == std::string::npos) continue;
    bits = (bits << 6) | static_cast<unsigned>(v);
    have += 6;
    if (have >= 8) {
      have -= 8;
      decoded.push_back(static_cast<uint8_t>(bits >> have));
      if (decoded.size() == 2048) break;
    }
  }
  const int bytes = static_cast<int>(decoded.size());
  int text = 0;
  for (const uint8_t byte : decoded) {
    text += (byte >= 0x20 && byte < 0x7f) || byte == '\n' || byte == '\r' || byte == '\t' ||
            byte >= 0x80;
  }
  return bytes == 0 || text * 10 < bytes * 9;
}

struct Result {
  bool ok = false;
  std::string text;
  std::array<int, kContentKinds> content{};
};

class Walker {
 public:
  explicit Walker(Result& out) : out_(out) {}

  void Walk(dom::element e, int nesting) {
    switch (e.type()) {
      case dom::element_type::OBJECT: {
        const dom::object obj(e);
        for (const auto field : obj) {
          std::string_view s;
          if (!field.value.get_string().get(s)) {
            Value(s, nesting, &obj, field.key);
          } else if (!field.key.empty() && (field.value.type() == dom::element_type::INT64 ||
                                            field.value.type() == dom::element_type::UINT64)) {
            Append(std::string(field.key) + " = " +
                   (field.value.type() == dom::element_type::INT64
                        ? std::to_string(int64_t(field.value))
                        : std::to_string(uint64_t(field.value))));
          } else {
            Append(field.key);
            // Token ids: a top-level prompt or input array starting with an integer (or an
            // array starting with one).
            if (depth_ == 0 && nesting == 0 && (field.key == "prompt" || field.key == "input") &&
                field.value.is_array()) {
              dom::element first = field.value;
              for (int d = 0; d < 2 && first.is_array(); ++d) {
                dom::array a(first);
                if (a.begin() == a.end()) break;
                first = *a.begin();
              }
              if (first.is_int64() || first.is_uint64() || first.is_double()) {
                ++out_.content[static_cast<size_t>(ContentKind::kTokens)];
              }
            }
            ++depth_;
            Walk(field.value, nesting);
            --depth_;
          }
        }
        break;
      }
      case dom::element_type::ARRAY: {
        std::string joined;
        int parts = 0;
        for (const dom::element item : dom::array(e)) {
          std::string_view s;
          if (!item.get_string().get(s) || !item["text"].get_string().get(s)) {
            ++parts;
            joined.append(s);
          }
        }
        ++depth_;
        for (const dom::element item : dom::array(e)) {
          std::string_view s;
          if (!item.get_string().get(s)) {
            Value(s, nesting, nullptr, {});
          } else {
            Walk(item, nesting);
          }
        }
        --depth_;
        if (parts > 1) Append(joined);
        break;
      }
      case dom::element_type::STRING:
        Value(std::string_view(e), nesting, nullptr, {});
        break;
      case dom::element_type::INT64:
        Append(std::to_string(int64_t(e)));
        break;
      case dom::element_type::UINT64:
        Append(std::to_string(uint64_t(e)));
        break;
      default:
        break;
    }
  }

  void WalkNested() {
    dom::parser parser;
    for (size_t i = 0; i < nested_.size(); ++i) {
      const auto [offset, size, nesting] = nested_[i];
      const std::string doc = out_.text.substr(offset, size);
      dom::element root;
      if (parser.parse(doc).get(root)) continue;
      Walk(root, nesting);
    }
  }

 private:
  void Append(std::string_view s) {
    if (s.empty()) return;
    out_.text.append(s).push_back('\n');
  }

  void Value(std::string_view s, int nesting, const dom::object* parent, std::string_view key) {
    if (StartsWithNoCase(s, "data:")) {
      const size_t comma = s.find(',');
      const std::string_view head = s.substr(0, comma);
      if (comma != std::string_view::npos && head.ends_with(";base64")) {
        const std::string_view media = head.substr(5, head.find(';') - 5);
        ++out_.content[static_cast<size_t>(KindOfMediaType(media))];
        Append(key);
        Append(head);
        return;
      }
    }
    if (s.size() >= kMinBinaryBytes &&
        std::all_of(s.begin(), s.end(), [](char c) { return IsBase64Byte(c); }) && ReadsAsBlob(s)) {
      const ContentKind kind = parent ? KindFromContext(*parent, key) : ContentKind::kBinary;
      ++out_.content[static_cast<size_t>(kind)];
      Append(key);
      return;
    }
    const size_t begin = out_.text.size();
    if (!key.empty()) out_.text.append(key).append(": ");
    const size_t value_at = out_.text.size();
    out_.text.append(s);
    if (out_.text.size() > begin) out_.text.push_back('\n');
    const size_t first = s.find_first_not_of(" \t\r\n");
    const bool json = first != std::string_view::npos && (s[first] == '{' || s[first] == '[');
    if (json && nesting < kMaxNesting) nested_.push_back({value_at, s.size(), nesting + 1});
  }

  struct Nested {
    size_t offset;
    size_t size;
    int nesting;
  };
  Result& out_;
  int depth_ = 0;  // containers open around the current one
  std::vector<Nested> nested_;
};

Result Collect(std::string_view json) {
  Result out;
  dom::parser parser;
  dom::element root;
  if (parser.parse(json.data(), json.size(), true).get(root)) return out;
  out.ok = true;
  Walker w(out);
  w.Walk(root, 0);
  w.WalkNested();
  return out;
}

}  // namespace reference

// Collects `json` with both, and says where they differ.
::testing::AssertionResult SameAsReference(std::string_view json) {
  const reference::Result want = reference::Collect(json);
  BodyStrings got;
  const bool ok = static_cast<bool>(CollectBodyStrings(json, got));
  const std::string text = got.texts.empty() ? "" : std::string(got.texts[0]);
  if (ok != want.ok) {
    return ::testing::AssertionFailure()
           << (ok ? "accepted" : "refused") << " what simdjson "
           << (want.ok ? "accepts" : "refuses") << ": "
           << ::testing::PrintToString(std::string(json.substr(0, 300)));
  }
  if (ok && (text != want.text || got.content != want.content)) {
    return ::testing::AssertionFailure()
           << "for " << ::testing::PrintToString(std::string(json.substr(0, 300))) << "\n got "
           << ::testing::PrintToString(text) << "\nwant " << ::testing::PrintToString(want.text);
  }
  if (ok && got.texts.size() != (want.text.empty() ? 0u : 1u)) {
    return ::testing::AssertionFailure() << "texts: " << got.texts.size();
  }
  return ::testing::AssertionSuccess();
}

// Whether `text` is one of the collected strings (a line of the one text).
bool Has(const BodyStrings& b, std::string_view text) {
  if (b.texts.empty()) return false;
  const std::string all = "\n" + std::string(b.texts[0]);
  return all.find("\n" + std::string(text) + "\n") != std::string::npos;
}

int Count(const BodyStrings& b, std::string_view text) {
  if (b.texts.empty()) return 0;
  const std::string all = "\n" + std::string(b.texts[0]);
  const std::string line = "\n" + std::string(text) + "\n";
  int n = 0;
  for (size_t at = all.find(line); at != std::string::npos; at = all.find(line, at + 1)) ++n;
  return n;
}

TEST(BodyStringsTest, EveryKeyAndValueAtAnyDepthUnescaped) {
  BodyStrings b;
  ASSERT_TRUE(CollectBodyStrings(
      R"({"model":"gpt-4o","user":"\u0034111 1111","x-new-field":{"deep":[{"k\u00e9y":"v"}]},)"
      R"("n":5,"b":true,"z":null})",
      b));
  EXPECT_TRUE(Has(b, "model: gpt-4o"));
  EXPECT_TRUE(Has(b, "user: 4111 1111"));  // the escape is what the upstream decodes
  EXPECT_TRUE(Has(b, "x-new-field"));
  EXPECT_TRUE(Has(b, "deep"));
  EXPECT_TRUE(Has(b, "k\xc3\xa9y: v"));
  EXPECT_TRUE(Has(b, "n = 5"));  // an integer is data too
  EXPECT_TRUE(Has(b, "b"));      // a key whose value is no text
  EXPECT_FALSE(Has(b, "5"));
  EXPECT_FALSE(b.has_content());
}

TEST(BodyStringsTest, JsonInsideStringsIsReadToo) {
  BodyStrings b;
  // Tool-call arguments: a JSON text inside a JSON string, escaped twice over.
  ASSERT_TRUE(
      CollectBodyStrings(R"({"arguments":"{\"card\":\"\\u0034\\u0031\\u0031\\u0031\"}"})", b));
  EXPECT_TRUE(Has(b, "card: 4111"));
}

TEST(BodyStringsTest, NestingIsBounded) {
  // Five levels of JSON in strings: the innermost is scanned as raw text, not parsed.
  std::string inner = R"({"k":"secret"})";
  for (int i = 0; i < 5; ++i) {
    std::string escaped;
    for (char c : inner) {
      if (c == '"' || c == '\\') escaped += '\\';
      escaped += c;
    }
    inner = "{\"a\":\"" + escaped + "\"}";
  }
  BodyStrings b;
  ASSERT_TRUE(CollectBodyStrings(inner, b));
  ASSERT_EQ(b.texts.size(), 1u);
  EXPECT_NE(b.texts[0].find("secret"), std::string_view::npos);
}

TEST(BodyStringsTest, TextSplitOverPartsIsAlsoJoined) {
  BodyStrings b;
  ASSERT_TRUE(CollectBodyStrings(
      R"({"content":[{"type":"text","text":"card 4111 1111 "},{"type":"text","text":"1111 1111"}]})",
      b));
  EXPECT_TRUE(Has(b, "card 4111 1111 1111 1111"));
  BodyStrings single;
  ASSERT_TRUE(CollectBodyStrings(R"({"content":[{"type":"text","text":"only"}]})", single));
  EXPECT_EQ(Count(single, "text: only"), 1);
  EXPECT_EQ(Count(single, "only"), 0);
}

// 600 characters of base64 of pseudo-random bytes: what an image or a file looks like.
std::string RandomBase64() {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t x = 2463534242u;
  for (int i = 0; i < 600; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    out += kAlphabet[x % 64];
  }
  return out;
}

TEST(BodyStringsTest, NumbersAreDataAndTokenIdsAreNotText) {
  BodyStrings b;
  ASSERT_TRUE(CollectBodyStrings(
      R"({"seed":4111111111111111,"x":[4111,1111,-7],"t":0.5,"e":1e3,"z":-0,"big":18446744073709551616e0})",
      b));
  EXPECT_TRUE(Has(b, "seed = 4111111111111111"));
  EXPECT_EQ(Count(b, "4111"), 1);
  EXPECT_EQ(Count(b, "1111"), 1);
  EXPECT_EQ(Count(b, "-7"), 1);
  EXPECT_TRUE(Has(b, "t")) << "a fraction is no identifier: the key alone";
  EXPECT_TRUE(Has(b, "e"));
  EXPECT_TRUE(Has(b, "z = 0"));
  EXPECT_TRUE(Has(b, "big")) << "an exponent: the key alone";
  EXPECT_FALSE(b.has_content());
  // A top-level prompt or input of token ids (completions, embeddings) is content, not text.
  for (const char* doc :
       {R"({"model":"m","prompt":[19,16,16,16]})", R"({"model":"m","input":[[19,16],[16,16]]})"}) {
    BodyStrings t;
    ASSERT_TRUE(CollectBodyStrings(doc, t));
    EXPECT_EQ(t.content[size_t(ContentKind::kTokens)], 1) << doc;
  }
  BodyStrings args;  // the same key deeper (a tool's arguments) is data, scanned
  ASSERT_TRUE(CollectBodyStrings(R"({"arguments":{"input":[1,2,3]},"prompt":"text"})", args));
  EXPECT_FALSE(args.has_content());
}

// Long runs of the base64 alphabet that are text: a DNA sequence, one letter repeated, base64
// of readable text (the scanner decodes and scans that).
TEST(BodyStringsTest, TextInTheBase64AlphabetIsNotABlob) {
  std::string dna, repeated(800, 'q');
  for (int i = 0; i < 800; ++i) dna += "ACGT"[(i * 7 + i / 3) % 4];
  std::string words;
  while (words.size() < 900) words += "The quick brown fox jumps over the lazy dog. ";
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string encoded;
  for (size_t i = 0; i + 2 < words.size(); i += 3) {
    const uint32_t v =
        (uint8_t(words[i]) << 16) | (uint8_t(words[i + 1]) << 8) | uint8_t(words[i + 2]);
    for (int k = 3; k >= 0; --k) encoded += kAlphabet[(v >> (6 * k)) & 63];
  }
  for (const std::string& value : {dna, repeated, encoded}) {
    BodyStrings b;
    ASSERT_TRUE(CollectBodyStrings(R"({"content":")" + value + R"("})", b));
    EXPECT_FALSE(b.has_content()) << value.substr(0, 40);
    EXPECT_TRUE(Has(b, "content: " + value));
  }
}

TEST(BodyStringsTest, BinaryContentIsCountedByKindNotScanned) {
  const std::string blob = RandomBase64();
  BodyStrings b;
  ASSERT_TRUE(CollectBodyStrings(
      R"({"a":{"type":"image_url","image_url":{"url":"data:image/png;base64,)" + blob +
          R"("}},"b":{"inlineData":{"mimeType":"audio/wav","data":")" + blob +
          R"("}},"c":{"source":{"type":"base64","media_type":"application/pdf","data":")" + blob +
          R"("}},"d":")" + blob + R"("})",
      b));
  EXPECT_EQ(b.content[size_t(ContentKind::kImage)], 1);
  EXPECT_EQ(b.content[size_t(ContentKind::kAudio)], 1);
  EXPECT_EQ(b.content[size_t(ContentKind::kFile)], 1);
  EXPECT_EQ(b.content[size_t(ContentKind::kBinary)], 1);
  for (std::string_view t : b.texts) EXPECT_EQ(t.find(blob), std::string_view::npos);
  // A short base64-looking value is text (a key, an id), scanned as such.
  BodyStrings s;
  ASSERT_TRUE(CollectBodyStrings(R"({"id":"QUtJQUlPU0ZPRE5ON0VYQU1QTEU="})", s));
  EXPECT_FALSE(s.has_content());
  EXPECT_TRUE(Has(s, "id: QUtJQUlPU0ZPRE5ON0VYQU1QTEU="));
}

TEST(BodyStringsTest, MalformedJsonFails) {
  BodyStrings b;
  EXPECT_FALSE(CollectBodyStrings(R"({"a":)", b));
  EXPECT_FALSE(CollectBodyStrings("", b));
}

std::string Nest(int depth, std::string_view open, std::string_view close, std::string_view in) {
  std::string s;
  for (int i = 0; i < depth; ++i) s += open;
  s += in;
  for (int i = 0; i < depth; ++i) s += close;
  return s;
}

// JSON-escapes `s` as a string's contents (quotes and backslashes).
std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

TEST(BodyStringsTest, EscapesAreUnescaped) {
  BodyStrings b;
  ASSERT_TRUE(CollectBodyStrings(R"({"k":"a\"b\\c\/d\be\ff\ng\rh\ti"})", b));
  EXPECT_EQ(b.texts[0], "k: a\"b\\c/d\be\ff\ng\rh\ti\n");
  ASSERT_TRUE(CollectBodyStrings(R"(["\u0041\u00e9\u20ac\ud83d\ude00\uD83D\uDE00\u0000z"])", b));
  EXPECT_EQ(b.texts[0],
            std::string("A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf0\x9f\x98\x80\0z\n", 17));
  for (std::string_view bad : {
           R"(["\ud800"])",        // a high surrogate alone
           R"(["\udc00"])",        // a low one alone
           R"(["\ud800\u0041"])",  // a high one and no low one
           R"(["\ud800\ud800"])",  // two high ones
           R"(["\udc00\ud800"])",  // reversed
           R"(["\u12"])",          // short
           R"(["\u12G4"])",        // not hex
           R"(["\x41"])",          // not an escape
           R"(["\'"])",            // nor this
           R"(["abc\)",            // cut in an escape
           R"(["abc)",             // unterminated
           "[\"a\tb\"]",           // a raw control character
           "[\"a\x01\"]",
       }) {
    EXPECT_FALSE(CollectBodyStrings(bad, b)) << bad;
    EXPECT_TRUE(SameAsReference(bad));
  }
}

TEST(BodyStringsTest, InvalidUtf8IsRefusedAnywhere) {
  BodyStrings b;
  for (std::string_view bad : {
           "[\"\xc3\"]",              // truncated
           "[\"\xc3\\n\xa9\"]",       // split by an escape
           "[\"\xc0\xaf\"]",          // overlong
           "[\"\xed\xa0\x80\"]",      // an encoded surrogate
           "[\"\xf4\x90\x80\x80\"]",  // above U+10FFFF
           "[\"\xff\"]",
           "{\"\xe2\x82\":1}",  // in a key
           "[1]\xc3\xa9",       // outside strings
       }) {
    EXPECT_FALSE(CollectBodyStrings(bad, b)) << ::testing::PrintToString(std::string(bad));
    EXPECT_TRUE(SameAsReference(bad));
  }
  // Valid multi-byte text beside escapes, and past a 16-byte block.
  const std::string ok = "[\"\xc3\xa9\\n\xe2\x82\xac 0123456789abcdef \xf0\x9f\x98\x80\"]";
  ASSERT_TRUE(CollectBodyStrings(ok, b));
  EXPECT_TRUE(SameAsReference(ok));
}

TEST(BodyStringsTest, MalformedJsonIsRefusedAsSimdjsonRefusesIt) {
  for (std::string_view doc : std::initializer_list<std::string_view>{
           "",
           " ",
           "{",
           "}",
           "[",
           "]",
           "{]",
           "[}",
           "[1,]",
           "[,1]",
           "{,}",
           R"({"a":1,})",
           R"({"a" 1})",
           R"({"a":})",
           R"({1:2})",
           R"({"a":1 "b":2})",
           "[1 2]",
           "[1]]",
           "[1][2]",
           "{} x",
           "tru",
           "truex",
           "[nul]",
           "[falsey]",
           "[-]",
           "[01]",
           "[-01]",
           "[1.]",
           "[.5]",
           "[1e]",
           "[1e+]",
           "[+1]",
           "[0x10]",
           "[1.5e3.2]",
           "[Infinity]",
           "[NaN]",
           "\xef\xbb\xbf{}",  // a byte-order mark
           "[1\f]",
           std::string_view("[1]\0", 4),
           std::string_view("[\"a\0\"]", 6),
           // Numbers at simdjson's limits: 64-bit integers, finite doubles.
           "[18446744073709551615]",
           "[18446744073709551616]",
           "[-9223372036854775808]",
           "[-9223372036854775809]",
           "[123456789012345678901234567890]",
           "[1e308]",
           "[1e309]",
           "[1.7976931348623157e308]",
           "[1.7976931348623159e308]",
           "[-1e400]",
           "[1e-400]",
           "[0e999999999999999999999]",
           "[1e999999999999999999999]",
           "[0.00000000000000000000000000000000000001e-99999999999]",
           "[123456789012345678901234567890e-30]",
           "[100000000000000000000000e285]",
           "[10000000000000000000000e286]",
           "[0.1e310]",
           "[0.01e310]",
           "[-0]",
           "[-0.0e-5]",
           // Whitespace is space, tab, newline and carriage return only.
           " \t\r\n[ 1 , \"a\" ] \n",
           "[\v1]",
           "{\"a\"\n:\r\"b\"\t}",
       }) {
    EXPECT_TRUE(SameAsReference(doc));
  }
}

TEST(BodyStringsTest, DepthIsSimdjsonsDefault) {
  // The decoders stop at 64; the collector itself takes what simdjson's DOM parser took.
  for (int depth : {64, 65, 1022, 1023, 1024, 1025}) {
    const std::string arrays = Nest(depth, "[", "]", R"("deep")");
    const std::string objects = Nest(depth, R"({"k":)", "}", R"("deep")");
    EXPECT_TRUE(SameAsReference(arrays)) << depth;
    EXPECT_TRUE(SameAsReference(objects)) << depth;
    BodyStrings b;
    EXPECT_EQ(static_cast<bool>(CollectBodyStrings(arrays, b)), depth <= 1023);
    EXPECT_TRUE(SameAsReference(Nest(depth, "[", "]", "")));
    EXPECT_TRUE(SameAsReference(Nest(depth, "[", "]", "{}")));
  }
}

TEST(BodyStringsTest, HugeStringsAndBlobs) {
  std::string text(1 << 20, 'x');
  for (size_t i = 0; i < text.size(); i += 4099) text[i] = ' ';
  EXPECT_TRUE(SameAsReference("[" + Quote(text) + "," + Quote(text) + "]"));
  std::string escaped;
  for (int i = 0; i < 100000; ++i) escaped += "\\u00e9\\n";
  EXPECT_TRUE(SameAsReference(R"({"k":")" + escaped + R"("})"));
  std::string blob;
  while (blob.size() < 100000) blob += RandomBase64();
  EXPECT_TRUE(SameAsReference(R"({"content":[{"type":"text","text":")" + blob +
                              R"("},{"type":"text","text":"x"},")" + blob + R"("]})"));
  EXPECT_TRUE(
      SameAsReference(R"({"data":")" + blob + R"(","format":"wav","mime_type":"image/png"})"));
  EXPECT_TRUE(SameAsReference(R"({"mime_type":5,"image":")" + blob + R"(","mimeType":"audio/x"})"));
  EXPECT_TRUE(SameAsReference(R"(["data:image/png;base64,)" + blob + R"(", "data:x;base64,AA"])"));
}

TEST(BodyStringsTest, PartsAndNestedJsonMatchTheReference) {
  for (
      std::string_view doc : {
          R"([{"text":"a"},{"text":5},{"text":"b","text":"c"},"d",{"x":{"text":"no"}},["e","f"]])",
          R"([{"te\u0078t":"a"},{"text":"b"}])",
          R"({"messages":[{"content":[{"type":"text","text":"card 4111 "},{"type":"text","text":"1111"}]}]})",
          R"(["", "", {"text":""}])",
          R"(["x", "data:image/png;base64,AAAA", "y"])",
          R"({"arguments":"{\"a\":\"[\\\"x\\\",\\\"y\\\"]\",\"b\":\"{bad\"}","t":" \n[1,\"z\"]"})",
          R"({"a":"{\"k\":\"v\"} trailing","b":"[1,]","c":"  {\"d\":{\"e\":\"f\"}}"})",
          R"("top-level string")",
          R"("{\"nested\":\"top\"}")",
          "5",
          "null",
          "[]",
          "{}",
          R"({"":"","":{"":[""]}})",
      }) {
    EXPECT_TRUE(SameAsReference(doc));
  }
  // Nested JSON at every depth up to the limit, and past it.
  std::string inner = R"({"k":"secret","l":["a","b"]})";
  for (int i = 0; i < 6; ++i) {
    inner = "{\"a\":" + Quote(inner) + ",\"b\":[" + Quote(inner) + "]}";
    EXPECT_TRUE(SameAsReference(inner)) << i;
  }
}

// Random edits of request-like documents: the reader must agree with simdjson on what is JSON
// and, when it is, collect exactly what the reference collected. HG_BODY_STRINGS_ROUNDS raises
// the count (1,000,000 were run when the reader was written).
TEST(BodyStringsTest, MutationsAgreeWithTheReference) {
  const std::vector<std::string> seeds = {
      R"({"model":"auto","messages":[{"role":"system","content":"You are helpful."},{"role":"user","content":[{"type":"text","text":"card 4111 1111"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]}],"temperature":0.2,"max_tokens":64,"stream":true,"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}]})",
      R"({"messages":[{"role":"assistant","tool_calls":[{"id":"c1","function":{"name":"g","arguments":"{\"q\":\"\\u0034\\u0031\",\"n\":[1,2.5e3,-0.1]}"}}]}],"metadata":{"k\u00e9y":"v\ud83d\ude00","n":null,"f":false}})",
      R"([1, -2.5E+10, "a\"b\\c", {"text": "x"}, {"text": "y"}, [[["deep"]]], "\u00e9\n\t", 18446744073709551615, 1e308])",
      "{\n  \"contents\": [\n    {\"parts\": [{\"text\": \"a\"}, {\"inlineData\": {\"mimeType\": "
      "\"image/png\", \"data\": \"" +
          std::string(520, 'A') +
          "\"}}]}\n  ],\n  \"x\": \" [\\\"j\\\", {\\\"k\\\": \\\"v\\\"}]\"\n}\n",
  };
  for (const std::string& seed : seeds) {
    BodyStrings b;
    ASSERT_TRUE(CollectBodyStrings(seed, b)) << seed;
    ASSERT_TRUE(SameAsReference(seed));
  }
  const char alphabet[] =
      "{}[]:,\"\\/ntrfbu0123456789abcdefABCDEF.eE+- \t\n\r\x01\x7f\xc3\xa9\xed\xf0\x80";
  const char* env = std::getenv("HG_BODY_STRINGS_ROUNDS");
  const int rounds = env ? std::atoi(env) : 20000;
  const char* seed_env = std::getenv("HG_BODY_STRINGS_SEED");
  std::mt19937 rng(seed_env ? static_cast<unsigned>(std::atoi(seed_env)) : 20261207u);
  int failures = 0;
  for (int round = 0; round < rounds && failures < 5; ++round) {
    std::string doc = seeds[rng() % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !doc.empty(); ++e) {
      const size_t at = rng() % doc.size();
      const char c = alphabet[rng() % (sizeof alphabet - 1)];
      switch (rng() % 4) {
        case 0:
          doc[at] = c;
          break;
        case 1:
          doc.insert(doc.begin() + static_cast<std::ptrdiff_t>(at), c);
          break;
        case 2:
          doc.erase(at, 1 + rng() % 3);
          break;
        default:
          doc.insert(at, doc.substr(rng() % doc.size(), rng() % 24));  // a copied run
      }
    }
    const auto same = SameAsReference(doc);
    if (!same) ++failures;
    EXPECT_TRUE(same);
  }
}

}  // namespace
}  // namespace hybridgate::classify
