#include "gateway/redaction.h"

#include <algorithm>
#include <span>

#include "api/json.h"
#include "classify/request_texts.h"
#include "common/json_writer.h"

namespace hybridgate::gateway {
namespace {

// What a JSON value is, seen from an OpenAI chat response or chunk.
enum class Role : uint8_t {
  kOther,
  kText,         // choices[c].(delta|message).{content,reasoning_content,refusal}
  kArguments,    // choices[c].(delta|message).(tool_calls[t].function|function_call).arguments
  kChoiceIndex,  // choices[c].index
  kToolIndex,    // choices[c].(delta|message).tool_calls[t].index
  kFinish,       // choices[c].finish_reason
  kTopId,
  kTopModel,
  kTopCreated,
  kPrompt,  // request: prompt / input, a string or an array's element (/v1/completions, embeddings)
};

// The tool-call position of the legacy `function_call` (one per choice, no index).
constexpr int64_t kFunctionCall = -2;

struct Value {
  std::size_t begin = 0, end = 0;  // the value's bytes (a string with its quotes)
  bool string = false;
  Role role = Role::kOther;
  int64_t choice_pos = -1, tool_pos = -1;
  std::string_view key;  // the field name (kText, kArguments)
};

struct Frame {
  bool array = false;
  int64_t pos = 0;       // array: index of the current element
  std::string_view key;  // object: the current key
  bool want_key = true;  // object: a key comes next
};

Role RoleOf(const std::vector<Frame>& st, Value& v) {
  auto key_is = [&](std::size_t i, std::string_view k) {
    return i < st.size() && !st[i].array && st[i].key == k;
  };
  auto arr = [&](std::size_t i) { return i < st.size() && st[i].array; };
  const std::size_t n = st.size();
  if ((n == 1 || (n == 2 && arr(1))) && (key_is(0, "prompt") || key_is(0, "input"))) {
    return Role::kPrompt;
  }
  if (n == 1) {
    if (key_is(0, "id")) return Role::kTopId;
    if (key_is(0, "model")) return Role::kTopModel;
    if (key_is(0, "created")) return Role::kTopCreated;
    return Role::kOther;
  }
  if (n < 3 || !key_is(0, "choices") || !arr(1)) return Role::kOther;
  v.choice_pos = st[1].pos;
  if (n == 3) {
    if (key_is(2, "index")) return Role::kChoiceIndex;
    if (key_is(2, "finish_reason")) return Role::kFinish;
    if (key_is(2, "text")) {  // a text completion (/v1/completions)
      v.key = st[2].key;
      return Role::kText;
    }
    return Role::kOther;
  }
  if (!key_is(2, "delta") && !key_is(2, "message")) return Role::kOther;
  if (n == 4) {
    if (key_is(3, "content") || key_is(3, "reasoning_content") || key_is(3, "refusal")) {
      v.key = st[3].key;
      return Role::kText;
    }
    return Role::kOther;
  }
  if (n == 5 && key_is(3, "function_call") && key_is(4, "arguments")) {  // legacy functions
    v.tool_pos = kFunctionCall;
    v.key = "arguments";
    return Role::kArguments;
  }
  if (!key_is(3, "tool_calls") || !arr(4)) return Role::kOther;
  v.tool_pos = st[4].pos;
  if (n == 6 && key_is(5, "index")) return Role::kToolIndex;
  if (n == 7 && key_is(5, "function") && key_is(6, "arguments")) {
    v.key = "arguments";
    return Role::kArguments;
  }
  return Role::kOther;
}

// Skips a JSON string starting at json[i] == '"'; returns the index after its closing quote, or
// npos when it does not end.
std::size_t SkipString(std::string_view json, std::size_t i) {
  for (++i; i < json.size(); ++i) {
    if (json[i] == '\\') {
      ++i;
    } else if (json[i] == '"') {
      return i + 1;
    }
  }
  return std::string_view::npos;
}

// One lexical pass over `json`: every scalar value with its role. False if it is not JSON
// enough to edit (then the caller leaves it untouched).
bool Walk(std::string_view json, std::vector<Value>& out) {
  std::vector<Frame> st;
  std::size_t i = 0;
  while (i < json.size()) {
    const char c = json[i];
    switch (c) {
      case ' ':
      case '\t':
      case '\n':
      case '\r':
      case ':':
        if (c == ':' && !st.empty()) st.back().want_key = false;
        ++i;
        continue;
      case ',':
        if (st.empty()) return false;
        if (st.back().array) {
          ++st.back().pos;
        } else {
          st.back().want_key = true;
        }
        ++i;
        continue;
      case '{':
      case '[':
        st.push_back({.array = c == '['});
        ++i;
        continue;
      case '}':
      case ']':
        if (st.empty() || st.back().array != (c == ']')) return false;
        st.pop_back();
        ++i;
        continue;
      default:
        break;
    }
    Value v{.begin = i};
    if (c == '"') {
      const std::size_t end = SkipString(json, i);
      if (end == std::string_view::npos) return false;
      if (!st.empty() && !st.back().array && st.back().want_key) {
        st.back().key = json.substr(i + 1, end - i - 2);  // keys here are plain ASCII
        i = end;
        continue;
      }
      v.string = true;
      v.end = end;
    } else {
      std::size_t end = i;
      while (end < json.size() &&
             std::string_view(",}] \t\r\n").find(json[end]) == std::string_view::npos) {
        ++end;
      }
      v.end = end;
    }
    v.role = RoleOf(st, v);
    out.push_back(v);
    i = v.end;
  }
  return st.empty();
}

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool Hex4(std::string_view s, std::size_t i, uint32_t& v) {
  if (i + 4 > s.size()) return false;
  v = 0;
  for (std::size_t k = i; k < i + 4; ++k) {
    const char h = s[k];
    v <<= 4;
    if (h >= '0' && h <= '9') {
      v |= static_cast<uint32_t>(h - '0');
    } else if ((h | 0x20) >= 'a' && (h | 0x20) <= 'f') {
      v |= static_cast<uint32_t>((h | 0x20) - 'a' + 10);
    } else {
      return false;
    }
  }
  return true;
}

// Decodes the character or escape sequence at lit[i] into `out`; leaves `i` on its last byte.
// Lone surrogates become U+FFFD.
void DecodeUnit(std::string_view lit, std::size_t& i, std::string& out) {
  if (lit[i] != '\\') {
    out.push_back(lit[i]);
    return;
  }
  const char e = lit[++i];
  static constexpr std::string_view kShort = "ntrbf", kMeans = "\n\t\r\b\f";
  if (const std::size_t k = kShort.find(e); k != std::string_view::npos) {
    out.push_back(kMeans[k]);
    return;
  }
  if (e != 'u') {
    out.push_back(e);  // \" \\ \/
    return;
  }
  uint32_t cp = 0;
  if (!Hex4(lit, i + 1, cp)) {
    out.push_back('u');
    return;
  }
  i += 4;
  uint32_t lo = 0;
  if (cp >= 0xD800 && cp < 0xDC00 && i + 2 < lit.size() && lit[i + 1] == '\\' &&
      lit[i + 2] == 'u' && Hex4(lit, i + 3, lo) && lo >= 0xDC00 && lo < 0xE000) {
    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    i += 6;
  } else if (cp >= 0xD800 && cp < 0xE000) {
    cp = 0xFFFD;
  }
  AppendUtf8(out, cp);
}

// Where each byte of a JSON string literal lands in its text: the decoded range of the character
// or escape sequence the byte belongs to (the quotes: the empty ranges at either end).
using UnitMap = std::vector<std::pair<std::size_t, std::size_t>>;

// The text of a JSON string literal (with its quotes).
std::string Unescape(std::string_view lit, UnitMap* units = nullptr) {
  std::string out;
  out.reserve(lit.size());
  if (units) units->assign(lit.size(), {0, 0});
  for (std::size_t i = 1; i + 1 < lit.size(); ++i) {
    const std::size_t first = i, decoded = out.size();
    DecodeUnit(lit, i, out);
    if (units) {
      std::fill(units->begin() + static_cast<std::ptrdiff_t>(first),
                units->begin() + static_cast<std::ptrdiff_t>(std::min(i + 1, lit.size())),
                std::make_pair(decoded, out.size()));
    }
  }
  if (units && !units->empty()) units->back() = {out.size(), out.size()};
  return out;
}

// Re-encodes the JSON string literal json[begin, end) (with its quotes) into `out` with
// `findings` (offsets into `json`, strictly inside the literal) replaced in its decoded text, so
// the originals are kept decoded (`pa"ss`, not `pa\"ss`) and restore as the characters they
// are. A finding that starts or ends inside an escape sequence covers the whole character.
void AppendRedactedLiteral(std::string_view json, std::size_t begin, std::size_t end,
                           std::span<const sensitivity::Finding> findings,
                           sensitivity::Redactor& redactor, std::string& out) {
  UnitMap units;
  const std::string text = Unescape(json.substr(begin, end - begin), &units);
  std::vector<sensitivity::Finding> mine(findings.begin(), findings.end());
  for (sensitivity::Finding& f : mine) {
    const std::size_t start = units[f.start - begin].first;
    f.end = units[f.end - 1 - begin].second;
    f.start = start;
    f.text_index = 0;
  }
  AppendJsonString(out, redactor.Redact(text, mine));
}

// Whether `text` is one JSON document (validated: a tool result is plain text unless it is).
bool IsJsonDocument(std::string_view text) {
  const std::size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || (text[first] != '{' && text[first] != '[')) return false;
  const simdjson::padded_string padded(text);
  return api::NestedParser().parse(padded).error() == simdjson::SUCCESS;
}

// Redacts one JSON text (tool-call arguments …; its findings, sorted, carry offsets into it).
// A finding inside a string literal is replaced in the literal's decoded text, which is
// re-encoded (AppendRedactedLiteral); one outside (a number) or across literals is replaced as
// the bytes it covers.
std::string RedactJsonText(std::string_view json, std::span<const sensitivity::Finding> findings,
                           sensitivity::Redactor& redactor) {
  std::vector<std::pair<std::size_t, std::size_t>> literals;
  for (std::size_t i = 0; i < json.size();) {
    if (json[i] != '"') {
      ++i;
      continue;
    }
    const std::size_t end = SkipString(json, i);
    if (end == std::string_view::npos) break;
    literals.emplace_back(i, end);
    i = end;
  }
  std::string out;
  out.reserve(json.size());
  std::size_t pos = 0, lit = 0;
  for (std::size_t k = 0; k < findings.size();) {
    const sensitivity::Finding& f = findings[k];
    while (lit < literals.size() && literals[lit].second <= f.start) ++lit;
    if (lit < literals.size()) {
      const auto [begin, end] = literals[lit];
      std::size_t last = k;
      while (last < findings.size() && findings[last].start > begin && findings[last].end < end) {
        ++last;
      }
      if (last > k && begin >= pos) {
        out.append(json.substr(pos, begin - pos));
        AppendRedactedLiteral(json, begin, end, findings.subspan(k, last - k), redactor, out);
        pos = end;
        k = last;
        continue;
      }
    }
    if (f.start >= pos && f.end <= json.size()) {
      sensitivity::Finding whole = f;
      whole.start = 0;
      whole.end = f.size();
      out.append(json.substr(pos, f.start - pos));
      out.append(redactor.Redact(json.substr(f.start, f.size()), {&whole, 1}));
      pos = f.end;
    }
    ++k;
  }
  out.append(json.substr(pos));
  return out;
}

sensitivity::RestoreContext ContextOf(const Value& v) {
  return v.role == Role::kArguments ? sensitivity::RestoreContext::kJson
                                    : sensitivity::RestoreContext::kText;
}

bool MayHoldPlaceholder(std::string_view lit) {
  return lit.find('<') != std::string_view::npos || lit.find("\\u") != std::string_view::npos;
}

}  // namespace

bool RedactionApplies(const config::ResidencyConfig& residency,
                      const sensitivity::Classification& cls, const Error& plan_error,
                      int key_max_class) {
  if (plan_error.code != ErrorCode::kPolicyBlocked || cls.findings.empty()) return false;
  if (cls.data_class < sensitivity::kMinClass || cls.data_class > sensitivity::kMaxClass) {
    return false;
  }
  if (key_max_class > 0 && cls.data_class > key_max_class) return false;  // the key refused it
  return residency.actions[cls.data_class] == config::ResidencyAction::kRedact;
}

void RedactRequest(api::ChatRequest& req, const sensitivity::Classification& cls,
                   ResponseRestorer& restorer) {
  // The client's own body holds the originals: a provider of its dialect re-encodes instead.
  req.native_body.clear();
  // Findings are sorted by (text_index, start): one cursor walks them alongside the texts.
  std::size_t index = 0, next = 0, replaced = 0;
  std::vector<sensitivity::Finding> mine;
  classify::ForEachText(req, [&](std::string& text, classify::TextKind kind) {
    const std::size_t first = next;
    while (next < cls.findings.size() && cls.findings[next].text_index == index) ++next;
    ++index;
    if (first == next) return;
    mine.assign(cls.findings.begin() + static_cast<std::ptrdiff_t>(first),
                cls.findings.begin() + static_cast<std::ptrdiff_t>(next));
    // Values in JSON texts are redacted decoded: the scan saw `pa\"ss`, the value is `pa"ss`.
    const bool json = kind != classify::TextKind::kText && IsJsonDocument(text);
    std::string redacted = json ? RedactJsonText(text, mine, restorer.redactor())
                                : restorer.redactor().Redact(text, mine);
    replaced += next - first;
    text = std::move(redacted);
  });
  restorer.set_replaced(static_cast<int>(replaced));
}

int RedactRawBody(std::string& body, const sensitivity::Classification& cls,
                  ResponseRestorer& restorer) {
  std::vector<Value> values;
  if (cls.findings.empty() || !Walk(body, values)) return 0;
  std::string out;
  std::size_t pos = 0;
  int replaced = 0;
  std::vector<sensitivity::Finding> mine;
  for (const Value& v : values) {
    if (v.role != Role::kPrompt || !v.string) continue;
    mine.clear();
    for (const sensitivity::Finding& f : cls.findings) {
      if (f.text_index == 0 && f.start > v.begin && f.end < v.end) mine.push_back(f);
    }
    if (mine.empty()) continue;
    out.append(body, pos, v.begin - pos);
    AppendRedactedLiteral(body, v.begin, v.end, mine, restorer.redactor(), out);
    pos = v.end;
    replaced += static_cast<int>(mine.size());
  }
  if (replaced == 0) return 0;
  out.append(body, pos);
  body = std::move(out);
  restorer.set_replaced(restorer.replaced() + replaced);
  return replaced;
}

std::string ResponseRestorer::RestoreBody(std::string_view body) const {
  std::vector<Value> values;
  if (redactor_.size() == 0 || !Walk(body, values)) return std::string(body);
  std::string out;
  out.reserve(body.size());
  std::size_t pos = 0;
  for (const Value& v : values) {
    if (!v.string) continue;
    const std::string_view lit = body.substr(v.begin, v.end - v.begin);
    if (!MayHoldPlaceholder(lit)) continue;
    const std::string text = Unescape(lit);
    // Tool-call arguments are JSON inside this JSON string: an original restored into one of
    // their string literals is escaped for it, then the whole value again for the body.
    std::string restored = redactor_.Restore(text, ContextOf(v));
    if (restored == text) continue;
    out.append(body.substr(pos, v.begin - pos));
    AppendJsonString(out, restored);
    pos = v.end;
  }
  out.append(body.substr(pos));
  return out;
}

void ResponseRestorer::FeedChunk(std::string_view chunk, std::vector<std::string>& out) {
  std::vector<Value> values;
  if (redactor_.size() == 0 || !Walk(chunk, values)) {
    out.emplace_back(chunk);
    return;
  }
  // Positions -> the indexes the chunk names (choices and tool calls carry "index").
  std::map<int64_t, int64_t> choice_index;
  std::map<std::pair<int64_t, int64_t>, int64_t> tool_index;
  std::vector<int64_t> finishing;
  auto number = [&](const Value& v) {
    int64_t n = 0;
    for (char c : chunk.substr(v.begin, v.end - v.begin)) {
      if (c < '0' || c > '9') return int64_t{-1};
      n = n * 10 + (c - '0');
    }
    return n;
  };
  for (const Value& v : values) {
    const std::string_view raw = chunk.substr(v.begin, v.end - v.begin);
    switch (v.role) {
      case Role::kTopId:
        id_json_.assign(raw);
        break;
      case Role::kTopModel:
        model_json_.assign(raw);
        break;
      case Role::kTopCreated:
        created_json_.assign(raw);
        break;
      case Role::kChoiceIndex:
        choice_index[v.choice_pos] = number(v);
        break;
      case Role::kToolIndex:
        tool_index[{v.choice_pos, v.tool_pos}] = number(v);
        break;
      case Role::kFinish:
        if (v.string) finishing.push_back(v.choice_pos);
        break;
      default:
        break;
    }
  }
  auto choice_of = [&](int64_t pos) {
    auto it = choice_index.find(pos);
    return it != choice_index.end() && it->second >= 0 ? it->second : pos;
  };
  auto slot_of = [&](const Value& v) {
    int64_t tool = -1;
    if (v.role == Role::kArguments && v.tool_pos == kFunctionCall) {
      tool = kFunctionCall;
    } else if (v.role == Role::kArguments) {
      auto it = tool_index.find({v.choice_pos, v.tool_pos});
      tool = it != tool_index.end() && it->second >= 0 ? it->second : v.tool_pos;
    }
    return Slot{choice_of(v.choice_pos), tool, std::string(v.key)};
  };
  auto is_finishing = [&](int64_t pos) {
    return std::find(finishing.begin(), finishing.end(), pos) != finishing.end();
  };
  // Text held for a finishing choice whose field this chunk does not carry goes out first.
  for (int64_t pos : finishing) {
    const int64_t choice = choice_of(pos);
    for (auto& [held_slot, restorer] : streams_) {
      if (std::get<0>(held_slot) != choice || restorer.held() == 0) continue;
      const Slot& slot = held_slot;  // not the binding: lambdas capture it from C++20 (clang 16)
      const bool in_chunk = std::any_of(values.begin(), values.end(), [&](const Value& v) {
        return (v.role == Role::kText || v.role == Role::kArguments) && v.string &&
               v.choice_pos == pos && slot_of(v) == slot;
      });
      if (!in_chunk) out.push_back(HeldChunk(slot, restorer.Finish()));
    }
  }
  std::string rewritten;
  std::size_t pos = 0;
  for (const Value& v : values) {
    if (!v.string) continue;
    const std::string_view lit = chunk.substr(v.begin, v.end - v.begin);
    std::string restored;
    if (v.role == Role::kText || v.role == Role::kArguments) {
      auto it = streams_.try_emplace(slot_of(v), redactor_, ContextOf(v)).first;
      if (it->second.held() == 0 && !MayHoldPlaceholder(lit) && !is_finishing(v.choice_pos)) {
        if (v.role == Role::kArguments) it->second.Skip(Unescape(lit));  // track its JSON state
        continue;
      }
      restored = it->second.Feed(Unescape(lit));
      if (is_finishing(v.choice_pos)) restored += it->second.Finish();
    } else {
      if (!MayHoldPlaceholder(lit)) continue;
      const std::string text = Unescape(lit);
      restored = redactor_.Restore(text);
      if (restored == text) continue;
    }
    if (rewritten.empty()) rewritten.reserve(chunk.size() + restored.size());
    rewritten.append(chunk.substr(pos, v.begin - pos));
    AppendJsonString(rewritten, restored);
    pos = v.end;
  }
  if (pos == 0) {
    out.emplace_back(chunk);
    return;
  }
  rewritten.append(chunk.substr(pos));
  out.push_back(std::move(rewritten));
}

void ResponseRestorer::FinishStream(std::vector<std::string>& out) {
  for (auto& [slot, restorer] : streams_) {
    if (restorer.held() > 0) out.push_back(HeldChunk(slot, restorer.Finish()));
  }
}

std::string ResponseRestorer::HeldChunk(const Slot& slot, std::string_view text) const {
  const auto& [choice, tool, key] = slot;
  const bool completion = key == "text";  // a text completion's choices[].text
  std::string out;
  JsonWriter w(out);
  w.BeginObject();
  if (!id_json_.empty()) w.RawField("id", id_json_);
  w.Field("object", completion ? "text_completion" : "chat.completion.chunk");
  if (!created_json_.empty()) w.RawField("created", created_json_);
  if (!model_json_.empty()) w.RawField("model", model_json_);
  w.Key("choices").BeginArray().BeginObject().Field("index", choice);
  if (completion) {
    w.Field("text", text).Key("logprobs").Null().Key("finish_reason").Null();
    w.EndObject().EndArray().EndObject();
    return out;
  }
  w.Key("delta").BeginObject();
  if (tool == kFunctionCall) {
    w.Key("function_call").BeginObject().Field("arguments", text).EndObject();
  } else if (tool < 0) {
    w.Field(key, text);
  } else {
    w.Key("tool_calls").BeginArray().BeginObject().Field("index", tool);
    w.Key("function").BeginObject().Field("arguments", text).EndObject();
    w.EndObject().EndArray();
  }
  w.EndObject().Key("finish_reason").Null().EndObject().EndArray().EndObject();
  return out;
}

}  // namespace hybridgate::gateway
