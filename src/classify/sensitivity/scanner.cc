#include "classify/sensitivity/scanner.h"

#include <hs/hs.h>
#include <re2/re2.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdint>
#include <string>

#include "classify/sensitivity/byte_masks.h"
#include "classify/sensitivity/encoded.h"
#include "classify/sensitivity/normalize.h"
#include "classify/sensitivity/numbers.h"
#include "classify/sensitivity/patterns.h"
#include "classify/sensitivity/rules.h"

namespace hybridgate::sensitivity {
namespace {

struct TypeInfo {
  std::string name;
  int data_class = kClassPersonal;
  int priority = 0;  // breaks ties between overlapping findings of the same class
};

int BuiltinPriority(Detector d) {
  switch (d) {
    case Detector::kPrivateKey:
      return 9;
    case Detector::kApiKey:
    case Detector::kJwt:
      return 8;
    case Detector::kSecret:
      return 7;
    case Detector::kCreditCard:
    case Detector::kIban:
    case Detector::kUsSsn:
      return 6;
    case Detector::kEmail:
      return 5;
    case Detector::kPhone:
      return 3;
    default:
      return 4;
  }
}

// One entry per Hyperscan expression id.
struct Expression {
  const BuiltinPattern* builtin = nullptr;  // null for custom regexes and dictionary words
  uint32_t type = 0;
  bool som = false;  // compiled with HS_FLAG_SOM_LEFTMOST: the hit's `from` is its start
};

struct RawHit {
  uint32_t id;
  std::size_t from;
  std::size_t to;
};

struct HsDatabaseDeleter {
  void operator()(hs_database_t* db) const { hs_free_database(db); }
};

// Scanning more than 4 GiB at once is not something Hyperscan's API takes; larger texts (far
// beyond any request limit) are scanned in overlapping windows.
constexpr std::size_t kWindow = std::size_t{1} << 30;
constexpr std::size_t kWindowOverlap = std::size_t{1} << 16;

std::atomic<uint64_t> g_next_database_id{1};

}  // namespace

struct Scanner::Impl {
  uint64_t id = 0;
  std::unique_ptr<hs_database_t, HsDatabaseDeleter> db;
  std::vector<Expression> expressions;
  std::vector<TypeInfo> types;
  std::vector<std::pair<std::unique_ptr<RE2>, uint32_t>> re2_patterns;
  WindowPatterns window_patterns;
  WindowTypes window_types;
  NumberTypes number_types;
  uint32_t private_key_type = UINT32_MAX;  // for the encoded pass (ScanDecoded)
  uint32_t api_key_type = UINT32_MAX;
  double entropy_threshold = 3.0;
  int floor_class = kClassPublic;
  // Whether one request's texts may share one Hyperscan call (see ClassifyJoined): false when a
  // Hyperscan-backed custom regex could anchor on the start or end of its text.
  bool joinable = true;

  void ScanWindow(std::string_view text, std::size_t base, std::vector<Candidate>& out,
                  bool decode = true) const;
  void ApplyHits(std::string_view text, std::span<const RawHit> hits, std::size_t base,
                 std::vector<Candidate>& out, bool decode = true) const;
  void ScanDecoded(std::string_view text, std::size_t base, std::vector<Candidate>& out) const;
  std::vector<Finding> Resolve(std::vector<Candidate>& candidates) const;
  std::vector<Finding> ScanText(std::string_view text) const;
  std::vector<Finding> ScanSpacedToo(std::string_view text, std::vector<Finding> findings) const;
  bool ClassifyJoined(std::span<const std::string_view> texts, Classification& result) const;
  Classification ClassifyTexts(std::span<const std::string_view> texts) const;
};

namespace {

// Per-thread scan state. The scratch is shared by every Scanner the thread uses: hs_alloc_scratch
// only grows it, so once sized for a database it stays valid for it.
struct ThreadState {
  hs_scratch_t* scratch = nullptr;
  std::vector<uint64_t> sized_for;
  uint64_t last_id = 0;  // the database the scratch was last asked for (ids start at 1)
  std::vector<RawHit> hits;
  ContextIndex contexts;
  std::string padded;  // see ScanBytes
  std::string joined;  // see ClassifyJoined
  std::vector<std::size_t> starts;
  std::vector<std::pair<std::size_t, RawHit>> joined_hits;  // (text index, hit)
  std::vector<RawHit> text_hits;
  NumberScratch numbers;
  DecodedRuns decoded;  // see ScanDecoded
  std::vector<Candidate> decoded_candidates;
  std::vector<Candidate> candidates;  // see ScanText and ClassifyJoined
  std::vector<Candidate> kept;        // see Resolve
  ThreadState() = default;
  ThreadState(const ThreadState&) = delete;
  ThreadState& operator=(const ThreadState&) = delete;
  ~ThreadState() {
    if (scratch != nullptr) hs_free_scratch(scratch);
  }
};

thread_local ThreadState t_state;

hs_scratch_t* ScratchFor(ThreadState& state, uint64_t id, const hs_database_t* db) {
  if (id == state.last_id) return state.scratch;
  if (std::find(state.sized_for.begin(), state.sized_for.end(), id) == state.sized_for.end()) {
    if (hs_alloc_scratch(db, &state.scratch) != HS_SUCCESS) return nullptr;
    if (state.sized_for.size() >= 16) state.sized_for.clear();  // config reloads; re-check is cheap
    state.sized_for.push_back(id);
  }
  state.last_id = id;
  return state.scratch;
}

int OnMatch(unsigned int id, unsigned long long from, unsigned long long to, unsigned int,
            void* context) {
  static_cast<std::vector<RawHit>*>(context)->push_back(
      RawHit{id, static_cast<std::size_t>(from), static_cast<std::size_t>(to)});
  return 0;
}

// Whether a regex might assert the start or end of its text (`^`, `$`, `\A`, `\z`, `\Z`).
// Conservative: a `^` that negates a class counts too.
bool MayAnchor(std::string_view pattern) {
  if (pattern.find_first_of("^$") != std::string_view::npos) return true;
  for (std::string_view escape : {"\\A", "\\z", "\\Z"}) {
    if (pattern.find(escape) != std::string_view::npos) return true;
  }
  return false;
}

bool DetectorEnabled(const SensitivityConfig& config, std::string_view type) {
  if (!config.enabled.empty() &&
      std::find(config.enabled.begin(), config.enabled.end(), type) == config.enabled.end()) {
    return false;
  }
  return std::find(config.disabled.begin(), config.disabled.end(), type) == config.disabled.end();
}

int ConfiguredClass(const SensitivityConfig& config, std::string_view type, int fallback) {
  auto it = config.class_overrides.find(type);
  return it != config.class_overrides.end() ? it->second : fallback;
}

}  // namespace

namespace {

// Hyperscan 5.4's AVX-512 VBMI literal matcher reads past the end of the buffer it is given
// (VectorCamp/vectorscan#322). On CPUs with VBMI, a text that ends just before an unmapped page
// crashed the process (fuzz_sensitivity found it). A text whose next kOverRead bytes reach into
// another page is scanned from a padded copy: about 3% of texts, a copy of each.
constexpr std::size_t kOverRead = 128;

const char* ScanBytes(std::string_view text, std::string& padded) {
  const auto last = reinterpret_cast<std::uintptr_t>(text.data()) + text.size();
  constexpr std::uintptr_t kPage = 4096;
  if (text.empty() || (last - 1) / kPage == (last + kOverRead - 1) / kPage) return text.data();
  padded.assign(text);
  padded.resize(text.size() + kOverRead);
  return padded.data();
}

}  // namespace

void Scanner::Impl::ScanWindow(std::string_view text, std::size_t base, std::vector<Candidate>& out,
                               bool decode) const {
  ThreadState& state = t_state;
  hs_scratch_t* scratch = db ? ScratchFor(state, id, db.get()) : nullptr;
  std::vector<RawHit>& hits = state.hits;
  hits.clear();
  if (db) {
    if (scratch == nullptr ||
        hs_scan(db.get(), ScanBytes(text, state.padded), static_cast<unsigned int>(text.size()), 0,
                scratch, OnMatch, &hits) != HS_SUCCESS) {
      out.push_back(Candidate{UINT32_MAX, base, base + text.size()});
      return;
    }
  }
  ApplyHits(text, hits, base, out, decode);
}

// Values in base64, hex or percent-encoding (encoded.h): the decoded runs of one text (found by
// ApplyHits, in t_state.decoded) are one more text, scanned (not decoded again) with one
// Hyperscan call; its findings cover the encoded bytes they came from.
void Scanner::Impl::ScanDecoded(std::string_view text, std::size_t base,
                                std::vector<Candidate>& out) const {
  ThreadState& state = t_state;
  const DecodedRuns& decoded = state.decoded;
  const std::size_t first = out.size();
  RuleEnv env{text, &state.contexts, entropy_threshold, &out};
  if (private_key_type != UINT32_MAX) {
    for (std::size_t at : decoded.key_headers) {
      ApplyRule(Rule::kPrivateKeyDer, private_key_type, at, at, env);
    }
  }
  if (api_key_type != UINT32_MAX) {
    for (std::size_t at : decoded.openai_markers) {
      ApplyRule(Rule::kOpenAiLegacy, api_key_type, at, at, env);
    }
  }
  for (std::size_t i = first; i < out.size(); ++i) {
    out[i].start += base;
    out[i].end += base;
  }
  if (decoded.text.empty()) return;
  std::vector<Candidate>& found = state.decoded_candidates;
  found.clear();
  ScanWindow(decoded.text, 0, found, /*decode=*/false);
  for (const Candidate& c : found) {
    if (c.type == UINT32_MAX) {  // a scan error covers the text it was about
      out.push_back(Candidate{c.type, base, base + text.size()});
      continue;
    }
    const Span span = decoded.Original(c.start, c.end);
    if (span.end > span.start) out.push_back(Candidate{c.type, base + span.start, base + span.end});
  }
}

// Turns one text's Hyperscan hits into candidates, and runs the detectors that are not patterns
// (numbers, context windows, RE2 regexes) over the text.
void Scanner::Impl::ApplyHits(std::string_view text, std::span<const RawHit> hits, std::size_t base,
                              std::vector<Candidate>& out, bool decode) const {
  ThreadState& state = t_state;
  ContextIndex& contexts = state.contexts;
  contexts.Clear();
  for (const RawHit& hit : hits) {
    const BuiltinPattern* p = expressions[hit.id].builtin;
    if (p != nullptr && p->rule == Rule::kContext) contexts.Add(p->context, hit.from, hit.to);
  }
  contexts.Sort();

  std::size_t first = out.size();
  RuleEnv env{text, &contexts, entropy_threshold, &out};
  for (const RawHit& hit : hits) {
    const Expression& e = expressions[hit.id];
    if (e.builtin == nullptr) {
      out.push_back(Candidate{e.type, hit.from, hit.to});
    } else if (e.builtin->rule != Rule::kContext) {
      ApplyRule(*e.builtin, e.type, hit.from, hit.to, env);
    }
  }
  // The number pass and the encoded-value pass share one computation of the byte masks. A
  // decoded text (decode false) is not decoded again: its runs are still in use.
  NumberPass numbers(number_types, env, state.numbers);
  bool encoded_found = false;
  if (decode) {
    EncodedRuns encoded(text, state.decoded);
    for (std::size_t block = 0; block < text.size(); block += 64) {
      const ByteMasks m = MasksAt(text, block);
      numbers.Block(block, m);
      encoded.Block(block, m);
    }
    encoded_found = encoded.found();
  } else {
    for (std::size_t block = 0; block < text.size(); block += 64) {
      numbers.Block(block, MasksAt(text, block));
    }
  }
  numbers.Finish();
  ContextWindows(window_patterns, window_types, env);
  for (const auto& [re, type] : re2_patterns) {
    re2::StringPiece input(text.data(), text.size());
    re2::StringPiece match;
    std::size_t pos = 0;
    while (pos <= text.size() && re->Match(input, pos, text.size(), RE2::UNANCHORED, &match, 1)) {
      std::size_t start = static_cast<std::size_t>(match.data() - text.data());
      std::size_t end = start + match.size();
      if (end > start) out.push_back(Candidate{type, start, end});
      pos = end > start ? end : start + 1;
    }
  }
  for (std::size_t i = first; i < out.size(); ++i) {
    out[i].start += base;
    out[i].end += base;
  }
  // Last: it reuses the thread's hit and context buffers, which the rules above are done with.
  if (encoded_found) ScanDecoded(text, base, out);
}

// Hyperscan's cost per call is mostly fixed (about 3.6k instructions for a short text), so a
// request's texts are scanned in one call: joined, with a NUL byte between neighbours. A hit
// counts for the text it lies in, with offsets made relative to it; the rest of the scan
// (rules, numbers, context windows, RE2) runs per text as in Scan, so the findings are Scan's.
//
// Why the joined hits are the per-text hits:
// - a NUL is not a word character, so `\b` and `\B` at a text's edges hold as they do at the
//   edges of a buffer; no builtin expression uses `^`, `$`, `\A` or `\z`, and a custom regex
//   that might leaves `joinable` false;
// - a match that crosses a separator, or lies in one, is not a per-text match. Hyperscan gives
//   each (expression, end) its leftmost start, so a crossing match can hide a shorter one that
//   ends at the same byte: any such hit sends the whole request back to one call per text. This
//   is seen from `from` for expressions with SOM (every custom one); the builtin ones without SOM
//   (e-mail, key=value secrets) cannot match a NUL, so they never cross one.
// Returns false, leaving `result` to be filled again, when the request must be scanned per text.
bool Scanner::Impl::ClassifyJoined(std::span<const std::string_view> texts,
                                   Classification& result) const {
  ThreadState& state = t_state;
  std::size_t total = texts.size() - 1;
  for (std::string_view t : texts) total += t.size();
  if (total > kWindow) return false;
  hs_scratch_t* scratch = ScratchFor(state, id, db.get());
  if (scratch == nullptr) return false;

  std::string& joined = state.joined;
  std::vector<std::size_t>& starts = state.starts;
  joined.clear();
  // The spare capacity is what ScanBytes pads for: Hyperscan may read past the end.
  joined.reserve(total + kOverRead);
  starts.clear();
  for (std::size_t i = 0; i < texts.size(); ++i) {
    if (i > 0) joined.push_back('\0');
    starts.push_back(joined.size());
    joined.append(texts[i]);
  }
  std::vector<RawHit>& hits = state.hits;
  hits.clear();
  if (hs_scan(db.get(), joined.data(), static_cast<unsigned int>(joined.size()), 0, scratch,
              OnMatch, &hits) != HS_SUCCESS) {
    return false;
  }

  auto& placed = state.joined_hits;
  placed.clear();
  for (const RawHit& hit : hits) {
    // The text holding the hit's last byte.
    const auto after = std::upper_bound(starts.begin(), starts.end(), hit.to - 1);
    const std::size_t index = static_cast<std::size_t>(after - starts.begin()) - 1;
    const std::size_t start = starts[index];
    if (hit.to > start + texts[index].size()) return false;  // ends in a separator
    const bool som = expressions[hit.id].som;
    if (som && hit.from < start) return false;  // crosses a separator
    placed.emplace_back(index, RawHit{hit.id, som ? hit.from - start : 0, hit.to - start});
  }
  // Hits arrive in end order, so texts are nearly always grouped already (checked without the
  // sort's scratch allocation); a sort keeps each text's own order.
  const auto by_text = [](const auto& a, const auto& b) { return a.first < b.first; };
  if (!std::is_sorted(placed.begin(), placed.end(), by_text)) {
    std::stable_sort(placed.begin(), placed.end(), by_text);
  }

  std::vector<Candidate>& candidates = state.candidates;
  std::vector<RawHit>& text_hits = state.text_hits;
  std::size_t next = 0;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    text_hits.clear();
    for (; next < placed.size() && placed[next].first == i; ++next) {
      text_hits.push_back(placed[next].second);
    }
    candidates.clear();
    ApplyHits(texts[i], text_hits, 0, candidates);
    for (Finding& f : Resolve(candidates)) {
      f.text_index = i;
      result.data_class = std::max(result.data_class, f.data_class);
      result.findings.push_back(std::move(f));
    }
  }
  return true;
}

// Overlaps: the higher class wins (so resolution never lowers a request's class), then the more
// specific detector, then the longer match, then the earlier one.
std::vector<Finding> Scanner::Impl::Resolve(std::vector<Candidate>& candidates) const {
  if (candidates.empty()) return {};
  auto cls = [&](const Candidate& c) {
    return c.type == UINT32_MAX ? kClassRestricted : types[c.type].data_class;
  };
  auto prio = [&](const Candidate& c) {
    return c.type == UINT32_MAX ? 100 : types[c.type].priority;
  };
  std::sort(candidates.begin(), candidates.end(), [&](const Candidate& a, const Candidate& b) {
    if (cls(a) != cls(b)) return cls(a) > cls(b);
    if (prio(a) != prio(b)) return prio(a) > prio(b);
    if (a.end - a.start != b.end - b.start) return a.end - a.start > b.end - b.start;
    if (a.start != b.start) return a.start < b.start;
    return a.type < b.type;
  });
  std::vector<Candidate>& kept = t_state.kept;  // sorted by start, non-overlapping
  kept.clear();
  for (const Candidate& c : candidates) {
    auto it = std::lower_bound(kept.begin(), kept.end(), c.start,
                               [](const Candidate& k, std::size_t s) { return k.start < s; });
    if (it != kept.end() && it->start < c.end) continue;
    if (it != kept.begin() && std::prev(it)->end > c.start) continue;
    kept.insert(it, c);
  }
  std::vector<Finding> findings;
  findings.reserve(kept.size());
  for (const Candidate& c : kept) {
    Finding f;
    f.type = c.type == UINT32_MAX ? "scan_error" : types[c.type].name;
    f.start = c.start;
    f.end = c.end;
    f.data_class = cls(c);
    findings.push_back(std::move(f));
  }
  return findings;
}

Scanner::Scanner(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Scanner::Scanner(Scanner&&) noexcept = default;
Scanner& Scanner::operator=(Scanner&&) noexcept = default;
Scanner::~Scanner() = default;

Result<Scanner> Scanner::Create(const SensitivityConfig& config) {
  if (Status ok = ValidateSensitivityConfig(config); !ok) return Fail(ok.error());
  auto impl = std::make_unique<Impl>();
  impl->id = g_next_database_id.fetch_add(1);
  impl->entropy_threshold = config.entropy_threshold;
  impl->floor_class = config.floor_class;

  std::span<const std::string_view> builtin_types = BuiltinTypes();
  for (std::size_t i = 0; i < builtin_types.size(); ++i) {
    std::string_view name = builtin_types[i];
    impl->types.push_back(TypeInfo{std::string(name),
                                   ConfiguredClass(config, name, DefaultClassFor(name)),
                                   BuiltinPriority(static_cast<Detector>(i))});
  }
  auto enabled_type = [&](Detector d) {
    auto type = static_cast<uint32_t>(d);
    return DetectorEnabled(config, builtin_types[type]) ? type : UINT32_MAX;
  };
  impl->window_types =
      WindowTypes{enabled_type(Detector::kDateOfBirth),
                  enabled_type(Detector::kMedicalRecordNumber), enabled_type(Detector::kUsSsn)};
  impl->number_types =
      NumberTypes{enabled_type(Detector::kPhone), enabled_type(Detector::kCreditCard),
                  enabled_type(Detector::kIban),  enabled_type(Detector::kIpv4),
                  enabled_type(Detector::kIpv6),  enabled_type(Detector::kIcd10),
                  enabled_type(Detector::kUsSsn)};
  impl->private_key_type = enabled_type(Detector::kPrivateKey);
  impl->api_key_type = enabled_type(Detector::kApiKey);
  std::vector<std::string> sources;  // keeps the c_str()s alive until compilation
  std::vector<unsigned> flags;
  auto add = [&](std::string expression, unsigned f, Expression e) {
    sources.push_back(std::move(expression));
    flags.push_back(f);
    impl->expressions.push_back(e);
  };
  for (const BuiltinPattern& p : BuiltinPatterns()) {
    uint32_t type = static_cast<uint32_t>(p.detector);
    if (!DetectorEnabled(config, builtin_types[type])) continue;
    add(p.expression, p.flags, Expression{&p, type, (p.flags & HS_FLAG_SOM_LEFTMOST) != 0});
  }
  for (const CustomRegex& custom : config.custom_regexes) {
    auto type = static_cast<uint32_t>(impl->types.size());
    impl->types.push_back(
        TypeInfo{custom.name, ConfiguredClass(config, custom.name, custom.data_class), 2});
    Result<RegexBackend> backend = ChooseRegexBackend(custom.name, custom.pattern);
    if (!backend) return Fail(backend.error());
    if (*backend == RegexBackend::kHyperscan) {
      if (MayAnchor(custom.pattern)) impl->joinable = false;
      add(custom.pattern, HS_FLAG_SOM_LEFTMOST, Expression{nullptr, type, true});
    } else {
      RE2::Options options;
      options.set_log_errors(false);
      impl->re2_patterns.emplace_back(std::make_unique<RE2>(custom.pattern, options), type);
    }
  }
  for (const CustomDictionary& dict : config.dictionaries) {
    auto type = static_cast<uint32_t>(impl->types.size());
    impl->types.push_back(
        TypeInfo{dict.name, ConfiguredClass(config, dict.name, dict.data_class), 2});
    for (const std::string& word : dict.words) {
      std::string expression = DictionaryWordExpression(word);
      if (expression.empty()) continue;
      add(std::move(expression), HS_FLAG_SOM_LEFTMOST | HS_FLAG_CASELESS,
          Expression{nullptr, type, true});
    }
  }

  if (!sources.empty()) {
    std::vector<const char*> c_sources;
    std::vector<unsigned> ids;
    for (std::size_t i = 0; i < sources.size(); ++i) {
      c_sources.push_back(sources[i].c_str());
      ids.push_back(static_cast<unsigned>(i));
    }
    hs_database_t* db = nullptr;
    hs_compile_error_t* error = nullptr;
    if (hs_compile_multi(c_sources.data(), flags.data(), ids.data(),
                         static_cast<unsigned>(c_sources.size()), HS_MODE_BLOCK, nullptr, &db,
                         &error) != HS_SUCCESS) {
      std::string message = "hyperscan: cannot compile sensitivity patterns: ";
      message += error != nullptr ? error->message : "unknown error";
      if (error != nullptr && error->expression >= 0) {
        message += " (expression '" + sources[static_cast<std::size_t>(error->expression)] + "')";
      }
      hs_free_compile_error(error);
      return Fail(MakeError(ErrorCode::kInternal, std::move(message)));
    }
    impl->db.reset(db);
    // Allocate this thread's scratch now so a broken database fails here, not per request.
    if (ScratchFor(t_state, impl->id, db) == nullptr) {
      return Fail(MakeError(ErrorCode::kInternal, "hyperscan: cannot allocate scratch"));
    }
  }
  return Scanner(std::move(impl));
}

// One text as the detectors read it: already folded (normalize.h), or ASCII.
std::vector<Finding> Scanner::Impl::ScanText(std::string_view text) const {
  std::vector<Candidate>& candidates = t_state.candidates;
  candidates.clear();
  if (text.size() <= kWindow + kWindowOverlap) {
    ScanWindow(text, 0, candidates);
  } else {
    for (std::size_t base = 0; base < text.size(); base += kWindow) {
      std::size_t len = std::min(text.size() - base, kWindow + kWindowOverlap);
      ScanWindow(text.substr(base, len), base, candidates);
    }
  }
  return Resolve(candidates);
}

Classification Scanner::Impl::ClassifyTexts(std::span<const std::string_view> texts) const {
  Classification result;
  result.data_class = floor_class;
  if (texts.size() > 1 && db && joinable) {
    if (ClassifyJoined(texts, result)) return result;
    result.findings.clear();
    result.data_class = floor_class;
  }
  for (std::size_t i = 0; i < texts.size(); ++i) {
    for (Finding& f : ScanText(texts[i])) {
      f.text_index = i;
      result.data_class = std::max(result.data_class, f.data_class);
      result.findings.push_back(std::move(f));
    }
  }
  return result;
}

namespace {

// Findings in a folded copy, moved to the bytes of the text it was folded from. The map keeps
// order and disjointness: distinct folded bytes come from disjoint original bytes.
void MapBack(const NormalizedText& normalized, Finding& f) {
  const std::size_t start = normalized.OriginalStart(f.start);
  f.end = normalized.OriginalEnd(f.end);
  f.start = start;
}

// Adds the findings `more` (of one text, original offsets) to that text's findings in `into`
// (sorted by start, disjoint), keeping them disjoint: a finding that overlaps others replaces
// them when its class is higher, or the same and it covers them all; otherwise it is left out.
// So a merge never lowers the text's class.
void MergeFindings(std::vector<Finding>& into, std::vector<Finding>& more) {
  for (Finding& f : more) {
    auto first =
        std::find_if(into.begin(), into.end(), [&](const Finding& g) { return g.end > f.start; });
    auto last = std::find_if(first, into.end(), [&](const Finding& g) { return g.start >= f.end; });
    bool replace = true;
    for (auto it = first; it != last; ++it) {
      const bool covers = f.start <= it->start && it->end <= f.end;
      if (it->data_class > f.data_class || (it->data_class == f.data_class && !covers)) {
        replace = false;
      }
    }
    if (!replace) continue;
    into.insert(into.erase(first, last), std::move(f));
  }
}

}  // namespace

// A text whose dropped characters stood between word characters ("with<ZWSP>4111…") is scanned
// a second time with them as spaces, and the findings of both scans are merged.
std::vector<Finding> Scanner::Impl::ScanSpacedToo(std::string_view text,
                                                  std::vector<Finding> findings) const {
  NormalizedText spaced;
  if (!spaced.Assign(text, /*dropped_as_space=*/true)) return findings;
  std::vector<Finding> more = ScanText(spaced.text());
  for (Finding& f : more) MapBack(spaced, f);
  MergeFindings(findings, more);
  return findings;
}

std::vector<Finding> Scanner::Scan(std::string_view text) const {
  // The all-ASCII text (the common case) is scanned as it is: no copy, no allocation.
  if (HasNonAscii(text)) {
    NormalizedText normalized;
    if (normalized.Assign(text)) {
      std::vector<Finding> findings = impl_->ScanText(normalized.text());
      for (Finding& f : findings) MapBack(normalized, f);
      if (normalized.dropped_after_word()) return impl_->ScanSpacedToo(text, std::move(findings));
      return findings;
    }
  }
  return impl_->ScanText(text);
}

Classification Scanner::Classify(std::span<const std::string_view> texts) const {
  const auto folds = [](std::string_view t) { return HasNonAscii(t); };
  if (std::none_of(texts.begin(), texts.end(), folds)) return impl_->ClassifyTexts(texts);
  // Texts with characters to fold are scanned as their folded copies, exactly as Scan does.
  std::vector<NormalizedText> normalized(texts.size());
  std::vector<bool> folded(texts.size(), false);
  std::vector<std::string_view> views(texts.begin(), texts.end());
  for (std::size_t i = 0; i < texts.size(); ++i) {
    if (folds(texts[i]) && normalized[i].Assign(texts[i])) {
      folded[i] = true;
      views[i] = normalized[i].text();
    }
  }
  Classification result = impl_->ClassifyTexts(views);
  for (Finding& f : result.findings) {
    if (folded[f.text_index]) MapBack(normalized[f.text_index], f);
  }
  for (std::size_t i = 0; i < texts.size(); ++i) {
    if (!folded[i] || !normalized[i].dropped_after_word()) continue;
    // Rare: the text is scanned again (ScanSpacedToo) and its findings replaced.
    auto first = std::find_if(result.findings.begin(), result.findings.end(),
                              [&](const Finding& f) { return f.text_index >= i; });
    auto last = std::find_if(first, result.findings.end(),
                             [&](const Finding& f) { return f.text_index > i; });
    std::vector<Finding> own(std::make_move_iterator(first), std::make_move_iterator(last));
    own = impl_->ScanSpacedToo(texts[i], std::move(own));
    for (Finding& f : own) {
      f.text_index = i;
      result.data_class = std::max(result.data_class, f.data_class);
    }
    auto at = result.findings.erase(first, last);
    result.findings.insert(at, std::make_move_iterator(own.begin()),
                           std::make_move_iterator(own.end()));
  }
  return result;
}

int Scanner::ClassOf(std::string_view type) const {
  for (const TypeInfo& t : impl_->types) {
    if (t.name == type) return t.data_class;
  }
  return type == "scan_error" ? kClassRestricted : DefaultClassFor(type);
}

}  // namespace hybridgate::sensitivity
