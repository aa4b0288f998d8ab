// Fuzzes the residency `redact` action on raw bodies (/v1/completions, /v1/embeddings): the input
// is the body, scanned whole through JsonScanView as Gateway::Forward does, then RedactRawBody,
// then restoration of the redacted body (RestoreBody; Restore with RestoreContext::kJson, whole
// and streamed in random reads).
// Checks, whenever the input is valid JSON (simdjson): the redacted body is valid JSON; exactly
// the findings inside the top-level prompt/input strings (found independently, with simdjson's
// On-Demand API) are replaced; the bytes of such a finding no longer occur in its string; and both
// restorations give back every prompt/input string as it was. Always: the scan view keeps offsets;
// nothing replaced leaves the body byte for byte.
#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "classify/sensitivity/json_view.h"
#include "classify/sensitivity/redactor.h"
#include "classify/sensitivity/scanner.h"
#include "default_scanner.h"
#include "gateway/redaction.h"
#include "invariant.h"
#include "split.h"

namespace sensitivity = hybridgate::sensitivity;
namespace ondemand = simdjson::ondemand;

namespace {

bool ValidJson(std::string_view json) {
  static simdjson::dom::parser parser;
  const simdjson::padded_string padded(json);
  return parser.parse(padded).error() == simdjson::SUCCESS;
}

// A top-level prompt/input string (or an element of such an array): its bytes [begin, end) with
// the quotes, and its decoded text.
struct Literal {
  size_t begin = 0, end = 0;
  std::string text;
};

size_t LiteralEnd(std::string_view json, size_t quote) {
  for (size_t i = quote + 1; i < json.size(); ++i) {
    if (json[i] == '\\') {
      ++i;
    } else if (json[i] == '"') {
      return i + 1;
    }
  }
  Die("a string literal of valid JSON does not end");
}

bool AddLiteral(ondemand::value& v, std::string_view json, const char* base,
                std::vector<Literal>& out) {
  const std::string_view token = v.raw_json_token();  // starts at the opening quote
  std::string_view text;
  if (v.get_string().get(text)) return false;
  Literal lit;
  lit.begin = static_cast<size_t>(token.data() - base);
  lit.end = LiteralEnd(json, lit.begin);
  lit.text.assign(text);
  out.push_back(std::move(lit));
  return true;
}

// The prompt/input literals of a valid JSON document, as RedactRawBody's contract names them.
std::vector<Literal> PromptLiterals(std::string_view json) {
  static ondemand::parser parser;
  const simdjson::padded_string padded(json);
  std::vector<Literal> out;
  ondemand::document doc;
  ondemand::object object;
  if (parser.iterate(padded).get(doc) || doc.get_object().get(object)) return out;
  for (auto f : object) {
    ondemand::field field;
    if (std::move(f).get(field)) Die("On-Demand failed on valid JSON");
    if (!(field.key() == "prompt") && !(field.key() == "input")) continue;
    ondemand::value value = field.value();
    ondemand::json_type type;
    if (value.type().get(type)) Die("On-Demand failed on valid JSON");
    if (type == ondemand::json_type::string) {
      if (!AddLiteral(value, json, padded.data(), out)) Die("On-Demand failed on a string");
    } else if (type == ondemand::json_type::array) {
      ondemand::array array;
      if (value.get_array().get(array)) Die("On-Demand failed on an array");
      for (auto e : array) {
        ondemand::value element;
        if (std::move(e).get(element) || element.type().get(type))
          Die("On-Demand failed on an element");
        if (type == ondemand::json_type::string && !AddLiteral(element, json, padded.data(), out))
          Die("On-Demand failed on a string element");
      }
    }
  }
  return out;
}

// Non-overlapping occurrences of `needle`, left to right.
size_t Count(std::string_view hay, std::string_view needle) {
  size_t n = 0;
  for (size_t at = hay.find(needle); at != std::string_view::npos;
       at = hay.find(needle, at + needle.size())) {
    ++n;
  }
  return n;
}

// The bytes of a valid JSON document that belong to an escape sequence (`\n`, `\ude00`): a
// finding that touches one does not read the same in the decoded text.
std::vector<bool> EscapeBytes(std::string_view json) {
  std::vector<bool> escaped(json.size(), false);
  bool in_string = false;
  for (size_t i = 0; i < json.size(); ++i) {
    if (!in_string) {
      in_string = json[i] == '"';
    } else if (json[i] == '"') {
      in_string = false;
    } else if (json[i] == '\\' && i + 1 < json.size()) {
      const size_t n = json[i + 1] == 'u' ? 6 : 2;
      for (size_t k = i; k < i + n && k < json.size(); ++k) escaped[k] = true;
      i += n - 1;
    }
  }
  return escaped;
}

// Whether a finding's bytes are plain enough to look for in the decoded text: printable ASCII,
// no byte of an escape, nothing a placeholder is made of alone.
bool Searchable(std::string_view body, std::string_view view, const std::vector<bool>& escaped,
                const sensitivity::Finding& f) {
  const std::string_view s = body.substr(f.start, f.size());
  if (s.size() < 4 || view.substr(f.start, f.size()) != s) return false;
  bool placeholder_like = true;
  for (size_t i = f.start; i < f.end; ++i) {
    const char c = body[i];
    if (escaped[i] || c < 0x20 || c > 0x7e || c == '"' || c == '<' || c == '>') return false;
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) placeholder_like = false;
  }
  return !placeholder_like;
}

void CheckPromptsRestored(std::string_view what, const std::vector<Literal>& before,
                          std::string_view restored) {
  if (!ValidJson(restored)) {
    std::fprintf(stderr, "%.*s\n", static_cast<int>(what.size()), what.data());
    Die("restored body is not valid JSON");
  }
  const std::vector<Literal> after = PromptLiterals(restored);
  if (after.size() != before.size()) Die("restoration changed the prompt/input strings");
  for (size_t i = 0; i < after.size(); ++i) {
    if (after[i].text != before[i].text) {
      std::fprintf(stderr, "%.*s: string %zu\n", static_cast<int>(what.size()), what.data(), i);
      Die("restoration did not give back the original prompt/input");
    }
  }
}

void CheckValid(std::string_view body, std::string_view view,
                const sensitivity::Classification& cls, const std::string& redacted, int replaced,
                hybridgate::gateway::ResponseRestorer& restorer) {
  const std::vector<Literal> before = PromptLiterals(body);
  const std::vector<bool> escaped = EscapeBytes(body);
  // Which literal each finding lies strictly inside (-1: none): those, and only those, go.
  std::vector<int> owner(cls.findings.size(), -1);
  int expected = 0;
  for (size_t k = 0; k < cls.findings.size(); ++k) {
    const sensitivity::Finding& f = cls.findings[k];
    for (size_t i = 0; i < before.size(); ++i) {
      if (f.start > before[i].begin && f.end < before[i].end) {
        owner[k] = static_cast<int>(i);
        ++expected;
      }
    }
  }
  if (replaced != expected) {
    std::fprintf(stderr, "replaced %d, findings inside prompt/input strings %d\n", replaced,
                 expected);
    Die("RedactRawBody replaced other findings than those in prompt/input strings");
  }
  if (!ValidJson(redacted)) Die("redaction turned valid JSON into invalid JSON");
  const std::vector<Literal> after = PromptLiterals(redacted);
  if (after.size() != before.size()) Die("redaction changed the number of prompt/input strings");
  for (size_t k = 0; k < cls.findings.size(); ++k) {
    const sensitivity::Finding& f = cls.findings[k];
    if (owner[k] < 0 || !Searchable(body, view, escaped, f)) continue;
    const std::string_view s = body.substr(f.start, f.size());
    const Literal& lit = before[owner[k]];
    size_t same = 0;  // findings of these very bytes in this literal
    for (size_t j = 0; j < cls.findings.size(); ++j) {
      const sensitivity::Finding& g = cls.findings[j];
      same += owner[j] == owner[k] && body.substr(g.start, g.size()) == s &&
              Searchable(body, view, escaped, g);  // in an escape the text differs
    }
    if (Count(after[owner[k]].text, s) + same > Count(lit.text, s)) {
      std::fprintf(stderr, "finding '%.*s' (%s) survives in '%s'\n", static_cast<int>(s.size()),
                   s.data(), f.type.c_str(), after[owner[k]].text.c_str());
      Die("a redacted finding's bytes survive in its string");
    }
  }
  // Round trips. A body that already holds '<' may hold what reads as a placeholder, which is
  // restored too (documented), so the originals would not come back verbatim.
  if (replaced == 0 || body.find('<') != std::string_view::npos) return;
  for (const Literal& lit : before) {
    if (lit.text.find('<') != std::string::npos) return;
  }
  CheckPromptsRestored("RestoreBody", before, restorer.RestoreBody(redacted));
  const sensitivity::Redactor& redactor = restorer.redactor();
  const std::string json = redactor.Restore(redacted, sensitivity::RestoreContext::kJson);
  CheckPromptsRestored("Restore(kJson)", before, json);
  // The same in random reads: the split byte comes from the body itself.
  std::string input = redacted;
  input.push_back(static_cast<char>(body.empty() ? 0 : body.back()));
  sensitivity::StreamRestorer stream(redactor, sensitivity::RestoreContext::kJson);
  std::string streamed;
  hybridgate::fuzz::ForEachChunk(reinterpret_cast<const uint8_t*>(input.data()), input.size(),
                                 [&](std::string_view chunk) { streamed += stream.Feed(chunk); });
  streamed += stream.Finish();
  if (streamed != json) Die("streamed kJson restoration differs from Restore");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  std::string storage;
  const std::string_view view = sensitivity::JsonScanView(body, storage);
  if (view.size() != body.size()) Die("scan view changed the length");
  for (size_t i = 0; i < view.size(); ++i) {
    if (view[i] != body[i] && view[i] != ' ') Die("scan view changed a byte to other than space");
  }
  const std::string_view whole[] = {view};
  const sensitivity::Classification cls = TheScanner().Classify(whole);
  for (const sensitivity::Finding& f : cls.findings) {
    if (f.text_index != 0 || f.start > f.end || f.end > body.size()) Die("finding out of bounds");
  }

  hybridgate::gateway::ResponseRestorer restorer;
  std::string redacted = body;
  const int replaced = hybridgate::gateway::RedactRawBody(redacted, cls, restorer);
  if (replaced < 0 || restorer.replaced() != replaced) Die("replaced count inconsistent");
  if (replaced == 0 && redacted != body) Die("nothing replaced, yet the body changed");
  if (replaced > 0 && restorer.redactor().size() == 0) Die("replaced without placeholders");
  if (ValidJson(body)) CheckValid(body, view, cls, redacted, replaced, restorer);
  return 0;
}
