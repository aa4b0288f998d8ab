#include "quality/comparators/json_schema/validator.h"

#include <fmt/format.h>
#include <re2/re2.h>

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <cmath>
#include <map>
#include <memory>

namespace hybridgate::quality {
namespace {

namespace json = boost::json;

constexpr int kMaxRefDepth = 64;
constexpr int64_t kMaxSteps = 200'000;

struct Ctx {
  const json::value& root;
  std::map<std::string, std::unique_ptr<re2::RE2>, std::less<>> regexes;
  int ref_depth = 0;
  int64_t steps = 0;
  int quiet = 0;  // inside anyOf / oneOf / not / if: failures are tried, not reported
  bool exhausted = false;
  std::string violation;
  std::string unchecked;  // a keyword that could not be checked (a pattern RE2 rejects)
};

// Records the first keyword that could not be applied; the subtree then constrains nothing.
void Unchecked(Ctx& ctx, std::string why) {
  if (ctx.unchecked.empty()) ctx.unchecked = std::move(why);
}

bool Fail(Ctx& ctx, const std::string& path, std::string_view keyword) {
  if (ctx.quiet == 0 && ctx.violation.empty()) {
    ctx.violation = fmt::format("{}: {}", path.empty() ? "#" : path, keyword);
  }
  return false;
}

bool IsNumber(const json::value& v) { return v.is_int64() || v.is_uint64() || v.is_double(); }
double Number(const json::value& v) {
  return v.is_int64()    ? static_cast<double>(v.as_int64())
         : v.is_uint64() ? static_cast<double>(v.as_uint64())
                         : v.as_double();
}

// JSON equality: numbers by value (1 equals 1.0), objects regardless of member order.
bool Equal(const json::value& a, const json::value& b) {
  if (IsNumber(a) && IsNumber(b)) {
    if (a.is_double() || b.is_double()) return Number(a) == Number(b);
    if (a.is_int64() && b.is_int64()) return a.as_int64() == b.as_int64();
    if (a.is_uint64() && b.is_uint64()) return a.as_uint64() == b.as_uint64();
    const json::value& i = a.is_int64() ? a : b;
    const json::value& u = a.is_int64() ? b : a;
    return i.as_int64() >= 0 && static_cast<uint64_t>(i.as_int64()) == u.as_uint64();
  }
  if (a.kind() != b.kind()) return false;
  if (a.is_array()) {
    const json::array& x = a.as_array();
    const json::array& y = b.as_array();
    if (x.size() != y.size()) return false;
    for (size_t i = 0; i < x.size(); ++i) {
      if (!Equal(x[i], y[i])) return false;
    }
    return true;
  }
  if (a.is_object()) {
    const json::object& x = a.as_object();
    const json::object& y = b.as_object();
    if (x.size() != y.size()) return false;
    for (const auto& kv : x) {
      const json::value* other = y.if_contains(kv.key());
      if (!other || !Equal(kv.value(), *other)) return false;
    }
    return true;
  }
  return a == b;
}

bool HasType(const json::value& v, std::string_view type) {
  if (type == "object") return v.is_object();
  if (type == "array") return v.is_array();
  if (type == "string") return v.is_string();
  if (type == "number") return IsNumber(v);
  if (type == "integer") {
    return v.is_int64() || v.is_uint64() ||
           (v.is_double() && std::isfinite(v.as_double()) &&
            v.as_double() == std::floor(v.as_double()));
  }
  if (type == "boolean") return v.is_bool();
  if (type == "null") return v.is_null();
  return true;  // an unknown type name constrains nothing
}

size_t CodePoints(std::string_view s) {
  size_t n = 0;
  for (const char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

// The RE2 for `pattern` (ECMA 262 and RE2 agree on what schemas use), null when RE2 rejects it:
// the keyword then constrains nothing.
const re2::RE2* Regex(Ctx& ctx, std::string_view pattern) {
  auto it = ctx.regexes.find(pattern);
  if (it == ctx.regexes.end()) {
    re2::RE2::Options options;
    options.set_log_errors(false);
    auto re = std::make_unique<re2::RE2>(pattern, options);
    it = ctx.regexes.emplace(std::string(pattern), re->ok() ? std::move(re) : nullptr).first;
  }
  return it->second.get();
}

// "#/a/b~1c" within the schema; null for anything else (remote, an anchor).
const json::value* Resolve(const json::value& root, std::string_view ref) {
  if (ref == "#") return &root;
  if (!ref.starts_with("#/")) return nullptr;
  const json::value* at = &root;
  ref.remove_prefix(2);
  while (at) {
    const size_t slash = std::min(ref.find('/'), ref.size());
    std::string token;
    for (size_t i = 0; i < slash; ++i) {
      if (ref[i] == '~' && i + 1 < slash && (ref[i + 1] == '0' || ref[i + 1] == '1')) {
        token += ref[++i] == '0' ? '~' : '/';
      } else if (ref[i] == '%' && i + 2 < slash && std::isxdigit(ref[i + 1]) &&
                 std::isxdigit(ref[i + 2])) {
        token += static_cast<char>(std::stoi(std::string(ref.substr(i + 1, 2)), nullptr, 16));
        i += 2;
      } else {
        token += ref[i];
      }
    }
    if (at->is_object()) {
      at = at->as_object().if_contains(token);
    } else if (at->is_array()) {
      char* end = nullptr;
      const unsigned long i = std::strtoul(token.c_str(), &end, 10);
      at = !token.empty() && *end == '\0' && i < at->as_array().size() ? &at->as_array()[i]
                                                                       : nullptr;
    } else {
      at = nullptr;
    }
    if (slash >= ref.size()) break;
    ref.remove_prefix(slash + 1);
  }
  return at;
}

bool Valid(Ctx& ctx, const json::value& schema, const json::value& doc, const std::string& path);

// Whether `doc` conforms without reporting where it does not (a branch that may fail).
bool Try(Ctx& ctx, const json::value& schema, const json::value& doc, const std::string& path) {
  ++ctx.quiet;
  const bool ok = Valid(ctx, schema, doc, path);
  --ctx.quiet;
  return ok;
}

std::string Child(const std::string& path, std::string_view key) {
  std::string out = path.empty() ? "#" : path;
  out += '/';
  for (const char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

bool NumberKeywords(Ctx& ctx, const json::object& s, const json::value& doc,
                    const std::string& path) {
  const double x = Number(doc);
  bool ok = true;
  if (const auto* m = s.if_contains("minimum"); m && IsNumber(*m)) {
    const auto* ex = s.if_contains("exclusiveMinimum");
    const bool exclusive = ex && ex->is_bool() && ex->as_bool();
    if (exclusive ? x <= Number(*m) : x < Number(*m)) ok = Fail(ctx, path, "minimum");
  }
  if (const auto* m = s.if_contains("maximum"); m && IsNumber(*m)) {
    const auto* ex = s.if_contains("exclusiveMaximum");
    const bool exclusive = ex && ex->is_bool() && ex->as_bool();
    if (exclusive ? x >= Number(*m) : x > Number(*m)) ok = Fail(ctx, path, "maximum");
  }
  if (const auto* m = s.if_contains("exclusiveMinimum"); m && IsNumber(*m) && x <= Number(*m)) {
    ok = Fail(ctx, path, "exclusiveMinimum");
  }
  if (const auto* m = s.if_contains("exclusiveMaximum"); m && IsNumber(*m) && x >= Number(*m)) {
    ok = Fail(ctx, path, "exclusiveMaximum");
  }
  if (const auto* m = s.if_contains("multipleOf"); m && !(IsNumber(*m) && Number(*m) > 0)) {
    Unchecked(ctx, "the schema's multipleOf is not a number above 0");
  } else if (m) {
    const double q = x / Number(*m);
    if (!std::isfinite(q) || std::fabs(q - std::round(q)) > 1e-9 * std::max(1.0, std::fabs(q))) {
      ok = Fail(ctx, path, "multipleOf");
    }
  }
  return ok;
}

bool StringKeywords(Ctx& ctx, const json::object& s, const json::value& doc,
                    const std::string& path) {
  const std::string_view text = doc.as_string();
  bool ok = true;
  const auto* min = s.if_contains("minLength");
  const auto* max = s.if_contains("maxLength");
  if ((min && IsNumber(*min)) || (max && IsNumber(*max))) {
    const double n = static_cast<double>(CodePoints(text));
    if (min && IsNumber(*min) && n < Number(*min)) ok = Fail(ctx, path, "minLength");
    if (max && IsNumber(*max) && n > Number(*max)) ok = Fail(ctx, path, "maxLength");
  }
  if (const auto* p = s.if_contains("pattern"); p && p->is_string()) {
    const re2::RE2* re = Regex(ctx, p->as_string());
    if (!re) {
      Unchecked(ctx,
                fmt::format("the schema's pattern /{}/ cannot be checked (no backreferences or "
                            "lookaround)",
                            std::string_view(p->as_string()).substr(0, 80)));
    }
    if (re && !re2::RE2::PartialMatch(text, *re)) ok = Fail(ctx, path, "pattern");
  }
  return ok;
}

bool ArrayKeywords(Ctx& ctx, const json::object& s, const json::value& doc,
                   const std::string& path) {
  const json::array& a = doc.as_array();
  bool ok = true;
  size_t positional = 0;  // items checked by position (prefixItems, or items as an array)
  const json::value* tuple = s.if_contains("prefixItems");
  const json::value* items = s.if_contains("items");
  if (!tuple && items && items->is_array()) tuple = items;
  if (tuple && tuple->is_array()) {
    positional = std::min(tuple->as_array().size(), a.size());
    for (size_t i = 0; i < positional; ++i) {
      ok &= Valid(ctx, tuple->as_array()[i], a[i], Child(path, std::to_string(i)));
    }
  }
  // What follows the positional items: items (with prefixItems) or additionalItems.
  const json::value* rest = nullptr;
  if (tuple && tuple == items) {
    rest = s.if_contains("additionalItems");  // only beside items as an array
  } else if (items && !items->is_array()) {
    rest = items;
  }
  if (rest && (rest->is_object() || rest->is_bool())) {
    for (size_t i = positional; i < a.size(); ++i) {
      ok &= Valid(ctx, *rest, a[i], Child(path, std::to_string(i)));
    }
  }
  if (const auto* m = s.if_contains("minItems"); m && IsNumber(*m) && a.size() < Number(*m)) {
    ok = Fail(ctx, path, "minItems");
  }
  if (const auto* m = s.if_contains("maxItems"); m && IsNumber(*m) && a.size() > Number(*m)) {
    ok = Fail(ctx, path, "maxItems");
  }
  if (const auto* u = s.if_contains("uniqueItems"); u && u->is_bool() && u->as_bool()) {
    for (size_t i = 0; i < a.size() && ok; ++i) {
      for (size_t j = i + 1; j < a.size(); ++j) {
        if (++ctx.steps > kMaxSteps) return ctx.exhausted = true, false;
        if (Equal(a[i], a[j])) {
          ok = Fail(ctx, path, "uniqueItems");
          break;
        }
      }
    }
  }
  if (const auto* c = s.if_contains("contains")) {
    bool any = false;
    for (const json::value& item : a) any = any || Try(ctx, *c, item, path);
    if (!any) ok = Fail(ctx, path, "contains");
  }
  return ok;
}

bool ObjectKeywords(Ctx& ctx, const json::object& s, const json::value& doc,
                    const std::string& path) {
  const json::object& o = doc.as_object();
  bool ok = true;
  const json::object* properties = nullptr;
  if (const auto* p = s.if_contains("properties"); p && p->is_object())
    properties = &p->as_object();
  const json::object* patterns = nullptr;
  if (const auto* p = s.if_contains("patternProperties"); p && p->is_object()) {
    patterns = &p->as_object();
  }
  const json::value* additional = s.if_contains("additionalProperties");
  for (const auto& kv : o) {
    const std::string at = Child(path, kv.key());
    bool matched = false;
    if (properties) {
      if (const json::value* sub = properties->if_contains(kv.key())) {
        matched = true;
        ok &= Valid(ctx, *sub, kv.value(), at);
      }
    }
    if (patterns) {
      for (const auto& p : *patterns) {
        const re2::RE2* re = Regex(ctx, p.key());
        if (re && re2::RE2::PartialMatch(std::string_view(kv.key()), *re)) {
          matched = true;
          ok &= Valid(ctx, p.value(), kv.value(), at);
        }
      }
    }
    if (!matched && additional) {
      if (additional->is_bool() && !additional->as_bool()) {
        ok = Fail(ctx, at, "additionalProperties");
      } else if (additional->is_object()) {
        ok &= Valid(ctx, *additional, kv.value(), at);
      }
    }
    if (const auto* names = s.if_contains("propertyNames")) {
      ok &= Valid(ctx, *names, json::value(kv.key()), at);
    }
  }
  if (const auto* r = s.if_contains("required"); r && r->is_array()) {
    for (const json::value& name : r->as_array()) {
      if (name.is_string() && !o.contains(name.as_string())) {
        ok = Fail(ctx, Child(path, name.as_string()), "required");
      }
    }
  }
  if (const auto* m = s.if_contains("minProperties"); m && IsNumber(*m) && o.size() < Number(*m)) {
    ok = Fail(ctx, path, "minProperties");
  }
  if (const auto* m = s.if_contains("maxProperties"); m && IsNumber(*m) && o.size() > Number(*m)) {
    ok = Fail(ctx, path, "maxProperties");
  }
  if (const auto* d = s.if_contains("dependencies"); d && d->is_object()) {
    for (const auto& dep : d->as_object()) {
      if (!o.contains(dep.key())) continue;
      if (dep.value().is_array()) {
        for (const json::value& name : dep.value().as_array()) {
          if (name.is_string() && !o.contains(name.as_string())) {
            ok = Fail(ctx, path, "dependencies");
          }
        }
      } else {
        ok &= Valid(ctx, dep.value(), doc, path);
      }
    }
  }
  return ok;
}

bool Valid(Ctx& ctx, const json::value& schema, const json::value& doc, const std::string& path) {
  if (ctx.exhausted || ++ctx.steps > kMaxSteps) {
    ctx.exhausted = true;
    return false;
  }
  if (schema.is_bool()) return schema.as_bool() || Fail(ctx, path, "false");
  if (!schema.is_object()) return true;
  const json::object& s = schema.as_object();
  if (const auto* ref = s.if_contains("$ref"); ref && ref->is_string()) {
    const json::value* target = Resolve(ctx.root, ref->as_string());
    if (!target) {  // remote or an anchor: not checked, and said so
      Unchecked(ctx, fmt::format("the schema's $ref {} cannot be resolved here (only JSON "
                                 "pointers within the schema are)",
                                 std::string_view(ref->as_string()).substr(0, 80)));
      return true;
    }
    if (ctx.ref_depth >= kMaxRefDepth) {
      ctx.exhausted = true;
      return false;
    }
    ++ctx.ref_depth;
    const bool ok = Valid(ctx, *target, doc, path);
    --ctx.ref_depth;
    return ok;  // draft 4 to 7: a $ref's siblings are ignored
  }
  bool ok = true;
  if (const auto* type = s.if_contains("type")) {
    bool any = false;
    auto known = [&](const json::value& t) {
      static constexpr std::string_view kTypes[] = {"object",  "array",   "string", "number",
                                                    "integer", "boolean", "null"};
      if (t.is_string() &&
          std::ranges::find(kTypes, std::string_view(t.as_string())) != std::end(kTypes)) {
        return true;
      }
      Unchecked(ctx, fmt::format("the schema's type {} is not a JSON Schema type",
                                 json::serialize(t).substr(0, 80)));
      return false;
    };
    if (type->is_string()) {
      any = !known(*type) || HasType(doc, type->as_string());
    } else if (type->is_array()) {
      for (const json::value& t : type->as_array()) {
        any = any || !known(t) || HasType(doc, t.as_string());
      }
    } else {
      any = !known(*type);
    }
    if (!any) ok = Fail(ctx, path, "type");
  }
  if (const auto* e = s.if_contains("enum"); e && e->is_array()) {
    bool any = false;
    for (const json::value& v : e->as_array()) any = any || Equal(v, doc);
    if (!any) ok = Fail(ctx, path, "enum");
  }
  if (const auto* c = s.if_contains("const"); c && !Equal(*c, doc)) ok = Fail(ctx, path, "const");
  if (IsNumber(doc)) ok &= NumberKeywords(ctx, s, doc, path);
  if (doc.is_string()) ok &= StringKeywords(ctx, s, doc, path);
  if (doc.is_array()) ok &= ArrayKeywords(ctx, s, doc, path);
  if (doc.is_object()) ok &= ObjectKeywords(ctx, s, doc, path);
  if (const auto* all = s.if_contains("allOf"); all && all->is_array()) {
    for (const json::value& sub : all->as_array()) ok &= Valid(ctx, sub, doc, path);
  }
  if (const auto* any = s.if_contains("anyOf"); any && any->is_array()) {
    bool one = false;
    for (const json::value& sub : any->as_array()) one = one || Try(ctx, sub, doc, path);
    if (!one) ok = Fail(ctx, path, "anyOf");
  }
  if (const auto* one = s.if_contains("oneOf"); one && one->is_array()) {
    int n = 0;
    for (const json::value& sub : one->as_array()) n += Try(ctx, sub, doc, path);
    if (n != 1) ok = Fail(ctx, path, "oneOf");
  }
  if (const auto* n = s.if_contains("not"); n && Try(ctx, *n, doc, path)) {
    ok = Fail(ctx, path, "not");
  }
  if (const auto* cond = s.if_contains("if")) {
    const bool holds = Try(ctx, *cond, doc, path);
    if (const auto* branch = s.if_contains(holds ? "then" : "else")) {
      ok &= Valid(ctx, *branch, doc, path);
    }
  }
  return ok && !ctx.exhausted;
}

}  // namespace

SchemaCheck CheckSchema(const json::value& schema, const json::value& document) {
  Ctx ctx{schema};
  const bool ok = Valid(ctx, schema, document, "");
  if (ctx.exhausted) {
    return {SchemaCheck::Result::kUnusable, "the schema is too costly to check"};
  }
  if (ok && !ctx.unchecked.empty()) return {SchemaCheck::Result::kUnusable, ctx.unchecked};
  if (ok) return {};
  return {SchemaCheck::Result::kViolates, ctx.violation.empty() ? "#: schema" : ctx.violation};
}

}  // namespace hybridgate::quality
