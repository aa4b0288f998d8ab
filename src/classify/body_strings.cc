#include "classify/body_strings.h"

#include <simdjson.h>

#include <algorithm>
#include <cctype>

#include "classify/sensitivity/scanner.h"

namespace hybridgate::classify {
namespace {

namespace dom = simdjson::dom;

simdjson::dom::parser& OwnParser() {
  thread_local dom::parser parser;
  return parser;
}

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

// The kind of a base64 value from the object around it: a media type beside it (Anthropic
// `media_type`, Gemini `mimeType`, `mime_type`), an audio `format` (OpenAI input_audio), or the
// field's own name.
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

class Collector {
 public:
  explicit Collector(BodyStrings& out) : out_(out) {}

  void Walk(dom::element e, int nesting) {
    switch (e.type()) {
      case dom::element_type::OBJECT: {
        const dom::object obj(e);
        for (const auto field : obj) {
          std::string_view s;
          if (!field.value.get_string().get(s)) {
            Value(s, nesting, &obj, field.key);
          } else {
            Append(field.key);
            Walk(field.value, nesting);
          }
        }
        break;
      }
      case dom::element_type::ARRAY: {
        // Text the model reads as one (content parts, system blocks) is also scanned joined.
        std::string joined;  // allocated from the second part on
        std::string_view first;
        int parts = 0;
        for (const dom::element item : dom::array(e)) {
          std::string_view s;
          if (!item.get_string().get(s) || !item["text"].get_string().get(s)) {
            if (++parts == 1) {
              first = s;
              continue;
            }
            if (parts == 2) joined.assign(first);
            joined.append(s);
          }
        }
        for (const dom::element item : dom::array(e)) {
          std::string_view s;
          if (!item.get_string().get(s)) {
            Value(s, nesting, nullptr, {});
          } else {
            Walk(item, nesting);
          }
        }
        if (parts > 1) Append(joined);
        break;
      }
      case dom::element_type::STRING:
        Value(std::string_view(e), nesting, nullptr, {});
        break;
      default:
        break;  // numbers, booleans and null carry no text
    }
  }

  // Strings that are JSON themselves, parsed after the document that holds them (their parse
  // reuses the parser, which invalidates that document).
  void WalkNested() {
    std::string doc;
    for (size_t i = 0; i < nested_.size(); ++i) {
      const auto [offset, size, nesting] = nested_[i];
      doc.assign(out_.storage, offset, size);
      dom::element root;
      if (OwnParser().parse(doc).get(root)) continue;  // scanned as plain text already
      Walk(root, nesting);
    }
  }

  void Finish() {
    if (!out_.storage.empty()) out_.texts.emplace_back(out_.storage);
  }

 private:
  // One line per string: the scanner reads them all in one text (its cost is mostly per text),
  // and a newline is a boundary for every detector but those that allow line breaks inside a
  // number — so a card split over two fields is still one card.
  void Append(std::string_view s) {
    if (s.empty()) return;
    out_.storage.append(s).push_back('\n');
  }

  // A string value; `key` is its field's name (empty in an array). A field is one text,
  // "key: value", as it reads in structured data: the name is context for the value
  // (`"password": "…"`, `"dob": "…"`, `"phone": "…"`), as it would be in the raw JSON.
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
        std::all_of(s.begin(), s.end(), [](char c) { return IsBase64Byte(c); })) {
      const ContentKind kind = parent ? KindFromContext(*parent, key) : ContentKind::kBinary;
      ++out_.content[static_cast<size_t>(kind)];
      Append(key);
      return;
    }
    const size_t begin = out_.storage.size();
    if (!key.empty()) out_.storage.append(key).append(": ");
    const size_t value_at = out_.storage.size();
    out_.storage.append(s);
    if (out_.storage.size() > begin) out_.storage.push_back('\n');
    const size_t first = s.find_first_not_of(" \t\r\n");
    const bool json = first != std::string_view::npos && (s[first] == '{' || s[first] == '[');
    if (json && nesting < kMaxNesting) nested_.push_back({value_at, s.size(), nesting + 1});
  }

  struct Nested {
    size_t offset;
    size_t size;
    int nesting;
  };
  BodyStrings& out_;
  std::vector<Nested> nested_;
};

}  // namespace

std::string_view ContentKindName(ContentKind k) {
  switch (k) {
    case ContentKind::kImage:
      return "image";
    case ContentKind::kAudio:
      return "audio";
    case ContentKind::kFile:
      return "file";
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
  out.clear();
  out.storage.reserve(json.size());
  dom::element root;
  if (auto err =
          OwnParser().parse(json.data(), json.size(), /*realloc_if_needed=*/true).get(root)) {
    return Fail(MakeError(ErrorCode::kInvalidRequest,
                          std::string("malformed JSON: ") + simdjson::error_message(err)));
  }
  Collector c(out);
  c.Walk(root, 0);
  c.WalkNested();
  c.Finish();
  return {};
}

}  // namespace hybridgate::classify
