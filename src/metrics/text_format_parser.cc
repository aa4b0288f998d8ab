#include "metrics/text_format_parser.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <regex>
#include <set>
#include <utility>

namespace hybridgate::metrics::testing {
namespace {

const std::regex kMetricName("[a-zA-Z_:][a-zA-Z0-9_:]*");
const std::regex kLabelName("[a-zA-Z_][a-zA-Z0-9_]*");
// What Go's strconv.ParseFloat accepts in practice from client libraries.
const std::regex kFloat(
    R"([+-]?(([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?|[Ii]nf|[Ii]nfinity)|NaN)");

Error Bad(size_t line_no, std::string_view line, std::string_view why) {
  return MakeError(ErrorCode::kInvalidRequest, "line " + std::to_string(line_no) + ": " +
                                                   std::string(why) + ": " + std::string(line));
}

Result<double> ParseFloat(std::string_view s) {
  if (!std::regex_match(s.begin(), s.end(), kFloat)) {
    return Fail(MakeError(ErrorCode::kInvalidRequest, "bad float"));
  }
  if (s == "NaN") return std::numeric_limits<double>::quiet_NaN();
  if (s.find_first_of("Ii") != std::string_view::npos) {
    return s[0] == '-' ? -HUGE_VAL : HUGE_VAL;
  }
  if (s[0] == '+') s.remove_prefix(1);
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) {
    return Fail(MakeError(ErrorCode::kInvalidRequest, "bad float"));
  }
  return v;
}

// Parses `{a="x",b="y"}` starting at s[pos] == '{'; leaves pos after '}'.
Result<LabelMap> ParseLabels(std::string_view s, size_t& pos) {
  auto fail = [](const char* why) { return Fail(MakeError(ErrorCode::kInvalidRequest, why)); };
  LabelMap labels;
  ++pos;
  while (true) {
    if (pos >= s.size()) return fail("unterminated label set");
    if (s[pos] == '}') break;
    size_t eq = s.find('=', pos);
    if (eq == std::string_view::npos) return fail("label without '='");
    std::string name(s.substr(pos, eq - pos));
    if (!std::regex_match(name, kLabelName) || name.starts_with("__")) return fail("label name");
    if (eq + 1 >= s.size() || s[eq + 1] != '"') return fail("label value not quoted");
    std::string value;
    size_t i = eq + 2;
    for (;; ++i) {
      if (i >= s.size()) return fail("unterminated label value");
      if (s[i] == '"') break;
      if (s[i] == '\\') {
        if (++i >= s.size()) return fail("dangling backslash");
        if (s[i] == 'n') {
          value += '\n';
        } else if (s[i] == '\\' || s[i] == '"') {
          value += s[i];
        } else {
          return fail("bad escape in label value");
        }
      } else {
        value += s[i];
      }
    }
    if (!labels.emplace(std::move(name), std::move(value)).second) return fail("duplicate label");
    pos = i + 1;
    if (pos < s.size() && s[pos] == ',')
      ++pos;
    else if (pos >= s.size() || s[pos] != '}')
      return fail("expected ',' or '}'");
  }
  ++pos;
  return labels;
}

Result<std::string> UnescapeHelp(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\') {
      out += s[i];
      continue;
    }
    if (++i >= s.size() || (s[i] != '\\' && s[i] != 'n')) {
      return Fail(MakeError(ErrorCode::kInvalidRequest, "bad escape in HELP"));
    }
    out += s[i] == 'n' ? '\n' : '\\';
  }
  return out;
}

// The family a sample belongs to, given its declared type.
bool BelongsTo(const std::string& sample, const std::string& family, const std::string& type) {
  if (sample == family) return type != "histogram";
  if (type != "histogram" && type != "summary") return false;
  for (std::string_view suffix : {"_sum", "_count", "_bucket"}) {
    if (suffix == "_bucket" && type != "histogram") continue;
    if (sample == family + std::string(suffix)) return true;
  }
  return false;
}

Status CheckHistogram(const std::string& name, const FamilyText& f) {
  auto fail = [&](const std::string& why) {
    return Fail(MakeError(ErrorCode::kInvalidRequest, name + ": " + why));
  };
  struct Series {
    std::vector<std::pair<double, double>> buckets;  // (le, cumulative count)
    double count = NAN, sum = NAN;
  };
  std::map<LabelMap, Series> series;
  for (const Sample& s : f.samples) {
    LabelMap key = s.labels;
    if (s.name == name + "_bucket") {
      auto le = key.find("le");
      if (le == key.end()) return fail("bucket without le");
      auto bound = ParseFloat(le->second);
      if (!bound) return fail("bad le " + le->second);
      key.erase(le);
      series[key].buckets.emplace_back(*bound, s.value);
    } else if (s.name == name + "_count") {
      series[key].count = s.value;
    } else if (s.name == name + "_sum") {
      series[key].sum = s.value;
    }
  }
  for (const auto& [labels, s] : series) {
    if (s.buckets.empty() || std::isnan(s.count) || std::isnan(s.sum)) {
      return fail("series without buckets, _count or _sum");
    }
    for (size_t i = 1; i < s.buckets.size(); ++i) {
      if (!(s.buckets[i].first > s.buckets[i - 1].first)) return fail("le not increasing");
      if (s.buckets[i].second < s.buckets[i - 1].second) return fail("buckets not cumulative");
    }
    if (s.buckets.back().first != HUGE_VAL) return fail("last bucket is not le=\"+Inf\"");
    if (s.buckets.back().second != s.count) return fail("+Inf bucket != _count");
  }
  return {};
}

}  // namespace

double Exposition::Value(std::string_view name, const LabelMap& labels) const {
  for (const auto& [family, f] : families) {
    for (const Sample& s : f.samples) {
      if (s.name == name && s.labels == labels) return s.value;
    }
  }
  return std::numeric_limits<double>::quiet_NaN();
}

Result<Exposition> ParseTextFormat(std::string_view text) {
  Exposition out;
  if (!text.empty() && text.back() != '\n') {
    return Fail(MakeError(ErrorCode::kInvalidRequest, "missing final newline"));
  }
  std::string current;           // family whose samples are being read
  std::set<std::string> closed;  // families already left behind
  std::set<std::pair<std::string, LabelMap>> seen;
  size_t line_no = 0;
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find('\n', start);
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_no;
    if (line.empty()) continue;
    auto enter = [&](const std::string& family) -> Status {
      if (family == current) return {};
      if (closed.contains(family)) return Fail(Bad(line_no, line, "family is not contiguous"));
      if (!current.empty()) closed.insert(current);
      current = family;
      return {};
    };
    if (line[0] == '#') {
      std::string_view rest = line.substr(1);
      if (!rest.starts_with(" HELP ") && !rest.starts_with(" TYPE ")) continue;  // comment
      const bool help = rest.starts_with(" HELP ");
      rest.remove_prefix(6);
      size_t sp = rest.find(' ');
      std::string name(rest.substr(0, sp));
      std::string_view arg = sp == std::string_view::npos ? "" : rest.substr(sp + 1);
      if (!std::regex_match(name, kMetricName)) return Fail(Bad(line_no, line, "metric name"));
      if (auto st = enter(name); !st) return Fail(st.error());
      FamilyText& f = out.families[name];
      if (help) {
        if (!f.help.empty()) return Fail(Bad(line_no, line, "second HELP"));
        auto h = UnescapeHelp(arg);
        if (!h) return Fail(Bad(line_no, line, h.error().message));
        f.help = *h;
      } else {
        static const std::set<std::string, std::less<>> kTypes = {"counter", "gauge", "histogram",
                                                                  "summary", "untyped"};
        if (!f.type.empty()) return Fail(Bad(line_no, line, "second TYPE"));
        if (!f.samples.empty()) return Fail(Bad(line_no, line, "TYPE after samples"));
        if (!kTypes.contains(arg)) return Fail(Bad(line_no, line, "unknown type"));
        f.type = arg;
      }
      continue;
    }
    Sample s;
    size_t pos = 0;
    while (pos < line.size() && line[pos] != '{' && line[pos] != ' ') ++pos;
    s.name = line.substr(0, pos);
    if (!std::regex_match(s.name, kMetricName)) return Fail(Bad(line_no, line, "metric name"));
    if (pos < line.size() && line[pos] == '{') {
      auto labels = ParseLabels(line, pos);
      if (!labels) return Fail(Bad(line_no, line, labels.error().message));
      s.labels = std::move(*labels);
    }
    if (pos >= line.size() || line[pos] != ' ') return Fail(Bad(line_no, line, "no value"));
    std::string_view rest = line.substr(pos + 1);
    std::string_view value = rest.substr(0, rest.find(' '));
    auto v = ParseFloat(value);
    if (!v) return Fail(Bad(line_no, line, "value"));
    s.value = *v;
    if (value.size() < rest.size()) {  // optional timestamp: an int64
      std::string_view ts = rest.substr(value.size() + 1);
      int64_t t = 0;
      auto [p, ec] = std::from_chars(ts.data(), ts.data() + ts.size(), t);
      if (ec != std::errc() || p != ts.data() + ts.size()) {
        return Fail(Bad(line_no, line, "timestamp"));
      }
    }
    if (current.empty() || !BelongsTo(s.name, current, out.families[current].type)) {
      return Fail(Bad(line_no, line, "sample outside its TYPE-declared family"));
    }
    if (!seen.emplace(s.name, s.labels).second) return Fail(Bad(line_no, line, "duplicate"));
    out.families[current].samples.push_back(std::move(s));
  }
  for (const auto& [name, f] : out.families) {
    if (f.type.empty()) return Fail(MakeError(ErrorCode::kInvalidRequest, name + ": no TYPE"));
    if (f.type == "histogram") {
      if (auto st = CheckHistogram(name, f); !st) return Fail(st.error());
    }
    if (f.type == "counter") {
      for (const Sample& s : f.samples) {
        if (s.value < 0 || std::isnan(s.value)) {
          return Fail(MakeError(ErrorCode::kInvalidRequest, name + ": negative counter"));
        }
      }
    }
  }
  return out;
}

}  // namespace hybridgate::metrics::testing
