#include "config/config.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <boost/url/parse.hpp>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "common/duration.h"

namespace hybridgate::config {
namespace {

// Walks one YAML mapping, remembering which keys were read so unknown ones (typos) are errors.
class MapReader {
 public:
  MapReader(const YAML::Node& node, std::string path, std::string_view file)
      : node_(node), path_(std::move(path)), file_(file) {}

  Error Err(const YAML::Node& at, std::string_view key, std::string_view msg) const {
    const auto mark = at.Mark();
    const std::string where =
        mark.is_null() ? std::string(file_) : fmt::format("{}:{}", file_, mark.line + 1);
    const std::string full = path_.empty() ? std::string(key) : fmt::format("{}.{}", path_, key);
    return MakeError(ErrorCode::kInvalidRequest, fmt::format("{}: '{}': {}", where, full, msg),
                     full);
  }

  const YAML::Node Get(const char* key) {
    seen_.insert(key);
    return node_[key];
  }

  Status Str(const char* key, std::string& out, bool required = false) {
    const YAML::Node n = Get(key);
    if (!n) return required ? Fail(Err(node_, key, "is required")) : Status{};
    if (!n.IsScalar()) return Fail(Err(n, key, "must be a string"));
    out = n.Scalar();
    return {};
  }

  Status Int(const char* key, int64_t& out, int64_t min = 0) {
    const YAML::Node n = Get(key);
    if (!n) return {};
    int64_t v;
    if (!n.IsScalar() || !YAML::convert<int64_t>::decode(n, v)) {
      return Fail(Err(n, key, fmt::format("must be an integer, got '{}'", Scalar(n))));
    }
    if (v < min) return Fail(Err(n, key, fmt::format("must be at least {}", min)));
    out = v;
    return {};
  }

  Status Num(const char* key, double& out) {
    const YAML::Node n = Get(key);
    if (!n) return {};
    double v;
    if (!n.IsScalar() || !YAML::convert<double>::decode(n, v) || !std::isfinite(v) || v < 0) {
      return Fail(Err(n, key, fmt::format("must be a non-negative number, got '{}'", Scalar(n))));
    }
    out = v;
    return {};
  }

  Status Bool(const char* key, bool& out) {
    const YAML::Node n = Get(key);
    if (!n) return {};
    if (!n.IsScalar() || !YAML::convert<bool>::decode(n, out)) {
      return Fail(Err(n, key, fmt::format("must be true or false, got '{}'", Scalar(n))));
    }
    return {};
  }

  // Call first: a typo ("modles") is reported as itself, not as the key it hides.
  Status OnlyKeys(std::initializer_list<std::string_view> keys) const {
    if (!node_.IsMap()) return {};
    for (const auto& kv : node_) {
      const std::string k = kv.first.Scalar();
      bool known = false;
      for (std::string_view key : keys) known = known || key == k;
      if (!known) return Fail(Err(kv.first, k, "unknown key"));
    }
    return {};
  }

  // Call last: any key not read is a typo or an unsupported option.
  Status NoUnknownKeys() const {
    for (const auto& kv : node_) {
      const std::string k = kv.first.Scalar();
      if (!seen_.count(k)) return Fail(Err(kv.first, k, "unknown key"));
    }
    return {};
  }

  const std::string& path() const { return path_; }
  std::string_view file() const { return file_; }

 private:
  static std::string Scalar(const YAML::Node& n) {
    return n.IsScalar() ? n.Scalar() : "<not a scalar>";
  }

  const YAML::Node& node_;
  std::string path_;
  std::string_view file_;
  std::set<std::string> seen_;
};

Status ParseServer(const YAML::Node& n, std::string_view file, ServerConfig& s) {
  MapReader r(n, "server", file);
  int64_t workers = s.workers;
  HG_TRY(r.Int("workers", workers));
  s.workers = static_cast<int>(workers);
  HG_TRY(r.Int("max_body_bytes", s.max_body_bytes, 1));
  HG_TRY(r.Int("max_header_bytes", s.max_header_bytes, 1024));
  HG_TRY(r.Int("max_connections", s.max_connections, 1));
  HG_TRY(r.Int("header_timeout_ms", s.header_timeout_ms, 1));
  HG_TRY(r.Int("read_timeout_ms", s.read_timeout_ms, 1));
  HG_TRY(r.Int("idle_timeout_ms", s.idle_timeout_ms, 1));
  HG_TRY(r.Int("write_timeout_ms", s.write_timeout_ms, 1));
  HG_TRY(r.Int("shutdown_grace_ms", s.shutdown_grace_ms, 0));
  HG_TRY(r.Int("health_interval_ms", s.health_interval_ms, 100));
  HG_TRY(r.Bool("watch_config", s.watch_config));
  return r.NoUnknownKeys();
}

Status ParseModel(const YAML::Node& n, const std::string& path, std::string_view file,
                  ModelConfig& m) {
  MapReader r(n, path, file);
  if (!n.IsMap()) return Fail(r.Err(n, "", "must be a mapping like {name: gpt-4o}"));
  HG_TRY(r.Str("name", m.name, true));
  HG_TRY(r.Str("id", m.id));
  if (m.id.empty()) m.id = m.name;
  HG_TRY(r.Num("input_per_mtok", m.input_per_mtok));
  HG_TRY(r.Num("output_per_mtok", m.output_per_mtok));
  double cached = -1;
  HG_TRY(r.Num("cached_input_per_mtok", cached));
  m.cached_input_per_mtok = cached;
  HG_TRY(r.Int("timeout_ms", m.timeout_ms, 1));
  HG_TRY(r.Int("context_window", m.context_window, 1));
  if (r.Get("outputs_trainable")) {
    HG_TRY(r.Bool("outputs_trainable", m.outputs_trainable));
    m.outputs_trainable_why =
        fmt::format("outputs_trainable: {} in the config", m.outputs_trainable);
  }
  HG_TRY(r.Str("licence", m.licence.id));
  const KnownLicence* known = FindLicence(m.licence.id);
  if (known != nullptr) m.licence.terms = known->terms;
  if (const YAML::Node t = r.Get("licence_terms")) {
    if (m.licence.id.empty()) {
      return Fail(r.Err(t, "licence_terms", "name the licence these are the terms of (licence:)"));
    }
    MapReader tr(t, r.path() + ".licence_terms", r.file());
    if (!t.IsMap()) {
      return Fail(r.Err(t, "licence_terms",
                        "must be a mapping like {commercial_use: false, redistribution: true, "
                        "mau_limit: 0, outputs_trainable: true}"));
    }
    HG_TRY(tr.Bool("commercial_use", m.licence.terms.commercial_use));
    HG_TRY(tr.Bool("redistribution", m.licence.terms.redistribution));
    HG_TRY(tr.Int("mau_limit", m.licence.terms.mau_limit, 0));
    HG_TRY(tr.Bool("outputs_trainable", m.licence.terms.outputs_trainable));
    HG_TRY(tr.NoUnknownKeys());
    m.licence.terms_given = true;
  } else if (!m.licence.id.empty() && known == nullptr) {
    return Fail(r.Err(n["licence"], "licence",
                      fmt::format("unknown licence '{}' (known: {}); give its terms in "
                                  "licence_terms",
                                  m.licence.id, KnownLicenceIds())));
  }
  return r.NoUnknownKeys();
}

// A model without `outputs_trainable:` gets its provider's default (kOutputTrainingTerms).
void DefaultOutputsTrainable(const ProviderConfig& p, ModelConfig& m) {
  if (!m.outputs_trainable_why.empty()) return;
  if (const OutputTrainingTerms* t = OutputTrainingTermsOf(p)) {
    m.outputs_trainable = false;
    m.outputs_trainable_why =
        fmt::format("{}'s terms forbid it ({}; checked {})", t->vendor, t->source, t->checked);
    return;
  }
  if (!m.licence.id.empty()) {
    m.outputs_trainable = m.licence.terms.outputs_trainable;
    m.outputs_trainable_why = fmt::format("its licence, {}, {} it", m.licence.id,
                                          m.outputs_trainable ? "allows" : "forbids");
    return;
  }
  m.outputs_trainable = true;
  m.outputs_trainable_why = "the default for a provider whose terms are not known to forbid it";
}

Status ResolveApiKey(MapReader& r, const YAML::Node& n, ProviderConfig& p) {
  if (!p.api_key_env.empty() && !p.api_key_file.empty()) {
    return Fail(r.Err(n, "api_key_env", "set api_key_env or api_key_file, not both"));
  }
  if (!p.api_key_env.empty()) {
    const char* v = std::getenv(p.api_key_env.c_str());
    if (v == nullptr || *v == '\0') {
      p.disabled_reason =
          fmt::format("set the environment variable {} to enable it", p.api_key_env);
    } else {
      p.api_key = v;
    }
  } else if (!p.api_key_file.empty()) {
    std::ifstream in(p.api_key_file);
    if (!in) return Fail(r.Err(n, "api_key_file", fmt::format("cannot read '{}'", p.api_key_file)));
    std::getline(in, p.api_key);
    while (!p.api_key.empty() && std::isspace(static_cast<unsigned char>(p.api_key.back()))) {
      p.api_key.pop_back();
    }
    if (p.api_key.empty()) {
      return Fail(r.Err(n, "api_key_file", fmt::format("'{}' is empty", p.api_key_file)));
    }
  }
  return {};
}

// The embedded engine: in-process, so always self-hosted and allowed every data class.
Status ParseLocal(MapReader& r, const YAML::Node& n, ProviderConfig& p) {
  for (const char* key : {"base_url", "api_key_env", "api_key_file", "headers", "tls",
                          "connect_timeout_ms", "responses_api"}) {
    if (r.Get(key)) return Fail(r.Err(n[key], key, "does not apply to a provider of type 'local'"));
  }
  p.zone = Zone::kSelfHosted;
  std::string zone = "self_hosted";
  HG_TRY(r.Str("zone", zone));
  if (zone != "self_hosted") {
    return Fail(r.Err(n["zone"], "zone", "the embedded engine is always self_hosted"));
  }
  int64_t max_class = 5;
  HG_TRY(r.Int("max_data_class", max_class, 1));
  if (max_class > 5) return Fail(r.Err(n["max_data_class"], "max_data_class", "must be 1 to 5"));
  p.max_data_class = static_cast<int>(max_class);
  HG_TRY(r.Int("timeout_ms", p.timeout_ms, 1));
  LocalEngineConfig& e = p.local;
  if (const YAML::Node en = r.Get("engine")) {
    MapReader er(en, r.path() + ".engine", r.file());
    if (!en.IsMap()) return Fail(er.Err(en, "", "must be a mapping"));
    HG_TRY(
        er.OnlyKeys({"model", "models_dir", "slots", "context", "threads", "batch", "max_queue"}));
    HG_TRY(er.Str("model", e.model));
    HG_TRY(er.Str("models_dir", e.models_dir));
    HG_TRY(er.Int("slots", e.slots, 1));
    HG_TRY(er.Int("context", e.context, 16));
    HG_TRY(er.Int("threads", e.threads, 1));
    HG_TRY(er.Int("batch", e.batch, 1));
    HG_TRY(er.Int("max_queue", e.max_queue, 0));
    if (e.slots > 256) return Fail(er.Err(en["slots"], "slots", "must be 1 to 256"));
    if (e.threads > 256) return Fail(er.Err(en["threads"], "threads", "must be 1 to 256"));
    HG_TRY(er.NoUnknownKeys());
  }
  return {};
}

Status ParseProviderBody(MapReader& r, const YAML::Node& n, ProviderConfig& p) {
  HG_TRY(r.Str("name", p.name, true));
  HG_TRY(r.Str("type", p.type, true));
  if (p.type != "openai" && p.type != "anthropic" && p.type != "gemini" && p.type != "local") {
    return Fail(
        r.Err(n["type"], "type",
              fmt::format("unknown provider type '{}' (known: openai, anthropic, gemini, local)",
                          p.type)));
  }
  if (p.type == "local") return ParseLocal(r, n, p);
  if (r.Get("engine")) {
    return Fail(r.Err(n["engine"], "engine", "only a provider of type 'local' has an engine"));
  }
  // The closed APIs have one public address each; an OpenAI-compatible server has none.
  HG_TRY(r.Str("base_url", p.base_url, p.type == "openai"));
  if (p.base_url.empty()) {
    p.base_url = p.type == "anthropic" ? "https://api.anthropic.com/v1"
                                       : "https://generativelanguage.googleapis.com/v1beta";
  }
  auto url = boost::urls::parse_uri(p.base_url);
  if (!url || (url->scheme() != "http" && url->scheme() != "https") || url->host().empty()) {
    return Fail(r.Err(n["base_url"], "base_url",
                      fmt::format("'{}' is not an http:// or https:// URL", p.base_url)));
  }
  std::string zone = "external";
  HG_TRY(r.Str("zone", zone));
  if (zone == "self_hosted")
    p.zone = Zone::kSelfHosted;
  else if (zone == "external")
    p.zone = Zone::kExternal;
  else
    return Fail(r.Err(n["zone"], "zone", "must be self_hosted or external"));
  int64_t max_class = p.zone == Zone::kSelfHosted ? 5 : 2;
  HG_TRY(r.Int("max_data_class", max_class, 1));
  if (max_class > 5) return Fail(r.Err(n["max_data_class"], "max_data_class", "must be 1 to 5"));
  p.max_data_class = static_cast<int>(max_class);
  HG_TRY(r.Str("api_key_env", p.api_key_env));
  HG_TRY(r.Str("api_key_file", p.api_key_file));
  HG_TRY(r.Int("timeout_ms", p.timeout_ms, 1));
  HG_TRY(r.Int("connect_timeout_ms", p.connect_timeout_ms, 1));
  if (const YAML::Node h = r.Get("headers")) {
    if (!h.IsMap()) return Fail(r.Err(h, "headers", "must be a mapping of header: value"));
    for (const auto& kv : h) p.headers.emplace_back(kv.first.Scalar(), kv.second.Scalar());
  }
  if (r.Get("responses_api") && p.type != "openai") {
    return Fail(r.Err(n["responses_api"], "responses_api",
                      fmt::format("only a provider of type 'openai' speaks OpenAI's Responses API "
                                  "(this one is '{}')",
                                  p.type)));
  }
  HG_TRY(r.Bool("responses_api", p.responses_api));
  if (const YAML::Node t = r.Get("tls")) {
    MapReader tr(t, r.path() + ".tls", r.file());
    HG_TRY(tr.Bool("verify", p.tls.verify));
    HG_TRY(tr.Str("ca_file", p.tls.ca_file));
    HG_TRY(tr.NoUnknownKeys());
  }
  return ResolveApiKey(r, n, p);
}

Status ParseProvider(const YAML::Node& n, size_t index, std::string_view file, ProviderConfig& p) {
  MapReader r(n, fmt::format("providers[{}]", index), file);
  if (!n.IsMap()) return Fail(r.Err(n, "", "must be a mapping"));
  HG_TRY(r.OnlyKeys({"name", "type", "base_url", "zone", "max_data_class", "api_key_env",
                     "api_key_file", "timeout_ms", "connect_timeout_ms", "headers", "tls", "models",
                     "engine", "responses_api"}));
  HG_TRY(ParseProviderBody(r, n, p));
  const YAML::Node models = r.Get("models");
  if (!models || !models.IsSequence() || models.size() == 0) {
    return Fail(r.Err(models ? models : n, "models", "must list at least one model"));
  }
  for (size_t i = 0; i < models.size(); ++i) {
    HG_TRY(ParseModel(models[i], fmt::format("{}.models[{}]", r.path(), i), file,
                      p.models.emplace_back()));
    DefaultOutputsTrainable(p, p.models.back());
  }
  return r.NoUnknownKeys();
}

Status ParseResidency(const YAML::Node& n, std::string_view file, ResidencyConfig& out) {
  MapReader r(n, "residency", file);
  HG_TRY(r.OnlyKeys({"actions", "fallback_model", "content_classes"}));
  HG_TRY(r.Str("fallback_model", out.fallback_model));
  if (const YAML::Node cc = r.Get("content_classes")) {
    if (!cc.IsMap()) {
      return Fail(
          r.Err(cc, "content_classes", "must map image|audio|file|binary|tokens to a class 1-5"));
    }
    static constexpr std::string_view kKinds[] = {"image", "audio", "file", "binary", "tokens"};
    for (const auto& kv : cc) {
      const std::string kind = kv.first.Scalar();
      const auto* it = std::find(std::begin(kKinds), std::end(kKinds), kind);
      if (it == std::end(kKinds)) {
        return Fail(r.Err(kv.first, "content_classes." + kind,
                          "unknown content kind (image | audio | file | binary | tokens)"));
      }
      int cls = 0;
      if (!YAML::convert<int>::decode(kv.second, cls) || cls < 1 || cls > 5) {
        return Fail(r.Err(kv.second, "content_classes." + kind, "data class must be 1 to 5"));
      }
      out.content_classes[it - std::begin(kKinds)] = cls;
    }
  }
  if (const YAML::Node a = r.Get("actions")) {
    if (!a.IsMap())
      return Fail(r.Err(a, "actions", "must map a data class (1-5) to route|block|redact"));
    for (const auto& kv : a) {
      int cls = 0;
      if (!YAML::convert<int>::decode(kv.first, cls) || cls < 1 || cls > 5) {
        return Fail(r.Err(kv.first, "actions." + kv.first.Scalar(), "data class must be 1 to 5"));
      }
      const std::string action = kv.second.Scalar();
      if (action == "route") {
        out.actions[cls] = ResidencyAction::kRoute;
      } else if (action == "block") {
        out.actions[cls] = ResidencyAction::kBlock;
      } else if (action == "redact") {
        out.actions[cls] = ResidencyAction::kRedact;
      } else {
        return Fail(r.Err(kv.second, "actions." + kv.first.Scalar(),
                          fmt::format("unknown action '{}' (route | block | redact)", action)));
      }
    }
  }
  return {};
}

Status ParseEvals(const YAML::Node& node, std::string_view file,
                  std::vector<ScheduledEvalConfig>& out) {
  MapReader top(node, "", file);
  if (!node.IsSequence()) return Fail(top.Err(node, "evals", "must be a list of suites to run"));
  for (size_t i = 0; i < node.size(); ++i) {
    const std::string at = fmt::format("evals[{}]", i);
    const YAML::Node item = node[i];
    MapReader er(item, at, file);
    if (!item.IsMap()) return Fail(top.Err(item, at, "must be a mapping"));
    ScheduledEvalConfig& e = out.emplace_back();
    HG_TRY(er.Str("name", e.name, true));
    HG_TRY(er.Str("suite", e.suite, true));
    HG_TRY(er.Str("judge", e.judge));
    HG_TRY(er.Str("embedding", e.embedding));
    HG_TRY(er.Str("key_env", e.key_env));
    HG_TRY(er.Str("baseline", e.baseline));
    HG_TRY(er.Bool("run_at_start", e.run_at_start));
    HG_TRY(er.Num("max_drop", e.max_drop));
    HG_TRY(er.Int("concurrency", e.concurrency, 1));
    const YAML::Node models = er.Get("models");
    if (!models || !models.IsSequence() || models.size() == 0) {
      return Fail(er.Err(models ? models : item, "models", "must list at least one model"));
    }
    for (const YAML::Node& m : models) {
      if (!m.IsScalar() || m.Scalar().empty()) {
        return Fail(er.Err(m, "models", "each model must be a name"));
      }
      if (std::ranges::find(e.models, m.Scalar()) != e.models.end()) {
        return Fail(er.Err(m, "models", fmt::format("'{}' is listed twice", m.Scalar())));
      }
      e.models.push_back(m.Scalar());
    }
    std::string every;
    HG_TRY(er.Str("every", every, true));
    auto ms = ParseDurationMs(every);
    constexpr int64_t kYearMs = 366LL * 86'400'000;
    if (!ms || *ms < 1000 || *ms > kYearMs) {
      return Fail(
          er.Err(item["every"], "every",
                 fmt::format("'{}' is not a duration from 1s to 366d (30m, 24h, 7d)", every)));
    }
    e.every_ms = *ms;
    HG_TRY(er.NoUnknownKeys());
    const bool plain = std::ranges::all_of(e.name, [](unsigned char ch) {
      return std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.';
    });
    if (e.name.empty() || e.name.size() > 48 || !plain) {
      return Fail(
          er.Err(item["name"], "name",
                 "must be 1 to 48 letters, digits, '-', '_' or '.' (it is a metric label)"));
    }
    for (size_t j = 0; j + 1 < out.size(); ++j) {
      if (out[j].name == e.name) {
        return Fail(er.Err(item["name"], "name", fmt::format("duplicate eval '{}'", e.name)));
      }
    }
    if (e.max_drop > 1) return Fail(er.Err(item["max_drop"], "max_drop", "must be 0 to 1"));
    if (e.concurrency > 64) {
      return Fail(er.Err(item["concurrency"], "concurrency", "must be 1 to 64"));
    }
  }
  return {};
}

Status ParseLicencePolicy(const YAML::Node& n, std::string_view file, LicencePolicy& out) {
  MapReader r(n, "licence_policy", file);
  if (!n.IsMap()) return Fail(r.Err(n, "licence_policy", "must be a mapping"));
  HG_TRY(r.Bool("commercial", out.commercial));
  HG_TRY(r.Int("monthly_active_users", out.monthly_active_users, 0));
  HG_TRY(r.Bool("redistribute_weights", out.redistribute_weights));
  HG_TRY(r.Bool("require_licence", out.require_licence));
  if (const YAML::Node d = r.Get("deny")) {
    if (!d.IsSequence()) return Fail(r.Err(d, "deny", "must list licence ids"));
    for (const YAML::Node& id : d) {
      if (!id.IsScalar()) return Fail(r.Err(id, "deny", "each entry must be a licence id"));
      out.deny.push_back(id.Scalar());
    }
  }
  return r.NoUnknownKeys();
}

// Each `deny` entry names a catalog licence or one a model of this config declares: a typo
// would otherwise deny nothing, silently.
Status CheckDeny(const YAML::Node& policy, std::string_view file, const Config& c) {
  for (size_t i = 0; i < c.licence_policy.deny.size(); ++i) {
    const std::string& d = c.licence_policy.deny[i];
    bool known = false;
    for (const KnownLicence& l : kLicences) known = known || SameLicenceId(l.id, d);
    for (const ProviderConfig& p : c.providers) {
      for (const ModelConfig& m : p.models) known = known || SameLicenceId(m.licence.id, d);
    }
    if (!known) {
      MapReader r(policy, "licence_policy", file);
      return Fail(r.Err(policy["deny"][i], "deny",
                        fmt::format("'{}' is no known licence (known: {}) and no model names it", d,
                                    KnownLicenceIds())));
    }
  }
  return {};
}

// Every model against the licence policy: the first that breaks it is the error, at its line.
Status CheckLicences(const YAML::Node& providers, std::string_view file, const Config& c) {
  for (size_t i = 0; i < c.providers.size(); ++i) {
    const ProviderConfig& p = c.providers[i];
    for (size_t j = 0; j < p.models.size(); ++j) {
      const std::string why = LicenceViolation(c.licence_policy, p.models[j].licence);
      if (why.empty()) continue;
      const YAML::Node model = providers[i]["models"][j];
      MapReader r(model, fmt::format("providers[{}].models[{}]", i, j), file);
      return Fail(r.Err(model["licence"] ? model["licence"] : model, "licence",
                        fmt::format("model '{}/{}': {}", p.name, p.models[j].name, why)));
    }
  }
  return {};
}

Status ParseRoot(const YAML::Node& root, std::string_view file, Config& c, bool check_licences) {
  MapReader r(root, "", file);
  if (!root.IsMap()) return Fail(r.Err(root, "(root)", "config must be a YAML mapping"));
  HG_TRY(r.OnlyKeys({"listen", "server", "log", "providers", "aliases", "sensitivity", "residency",
                     "ledger", "limits", "routes", "responses", "quality", "background", "evals",
                     "licence_policy", "rollouts"}));
  if (const YAML::Node rt = r.Get("routes")) {
    auto rc = routing::ParseRoutesConfig(rt, file);
    if (!rc) return Fail(std::move(rc.error()));
    c.routes = std::move(*rc);
  }
  if (const YAML::Node res = r.Get("residency")) HG_TRY(ParseResidency(res, file, c.residency));
  if (const YAML::Node l = r.Get("ledger")) {
    auto lc = ledger::ParseLedgerConfig(l, file);
    if (!lc) return Fail(std::move(lc.error()));
    c.ledger = std::move(*lc);
  }
  if (const YAML::Node rs = r.Get("responses")) {
    MapReader rr(rs, "responses", file);
    HG_TRY(rr.Str("backend", c.responses.backend));
    HG_TRY(rr.Str("path", c.responses.path));
    HG_TRY(rr.Str("dsn", c.responses.dsn));
    HG_TRY(rr.Str("dsn_env", c.responses.dsn_env));
    HG_TRY(rr.Int("retention_days", c.responses.retention_days, 1));
    HG_TRY(rr.Int("max_pending", c.responses.max_pending, 1));
    HG_TRY(rr.NoUnknownKeys());
    if (c.responses.backend != "sqlite" && c.responses.backend != "postgres") {
      return Fail(
          rr.Err(rs["backend"], "backend",
                 fmt::format("unknown backend '{}' (sqlite | postgres)", c.responses.backend)));
    }
  }
  if (const YAML::Node ro = r.Get("rollouts")) {
    MapReader rr(ro, "rollouts", file);
    HG_TRY(rr.Str("backend", c.rollouts.backend));
    HG_TRY(rr.Str("path", c.rollouts.path));
    HG_TRY(rr.Str("dsn", c.rollouts.dsn));
    HG_TRY(rr.Str("dsn_env", c.rollouts.dsn_env));
    HG_TRY(rr.Str("redis_url", c.rollouts.redis_url));
    HG_TRY(rr.NoUnknownKeys());
    const std::string& b = c.rollouts.backend;
    if (!b.empty() && b != "sqlite" && b != "postgres" && b != "redis") {
      return Fail(rr.Err(ro["backend"], "backend", "must be sqlite, postgres or redis"));
    }
    if (c.rollouts.path.empty()) return Fail(rr.Err(ro["path"], "path", "must not be empty"));
    // A key of another backend is a mistake, not something to ignore.
    const std::string effective =
        !b.empty() ? b : (c.ledger.backend == "postgres" ? "postgres" : "sqlite");
    for (const auto& [key, backend] : {std::pair{"path", "sqlite"},
                                       {"dsn", "postgres"},
                                       {"dsn_env", "postgres"},
                                       {"redis_url", "redis"}}) {
      if (ro[key] && effective != backend) {
        return Fail(rr.Err(ro[key], key,
                           fmt::format("is for backend {}; this store is {}", backend, effective)));
      }
    }
    if (b == "postgres" && c.rollouts.dsn.empty() && c.rollouts.dsn_env.empty() &&
        c.ledger.backend != "postgres") {
      return Fail(rr.Err(ro["backend"], "backend",
                         "postgres needs dsn or dsn_env (or a ledger on postgres, whose dsn it "
                         "takes)"));
    }
    if (!c.rollouts.redis_url.empty()) {
      if (auto u = limits::ParseRedisUrl(c.rollouts.redis_url); !u) {
        return Fail(rr.Err(ro["redis_url"], "redis_url", u.error().message));
      }
    }
  }
  if (const YAML::Node b = r.Get("background")) {
    MapReader br(b, "background", file);
    HG_TRY(br.Int("max_queue", c.background.max_queue, 0));
    HG_TRY(br.Int("max_concurrency", c.background.max_concurrency, 1));
    HG_TRY(br.NoUnknownKeys());
  }
  if (const YAML::Node q = r.Get("quality")) {
    MapReader qr(q, "quality", file);
    HG_TRY(qr.Str("backend", c.quality.backend));
    HG_TRY(qr.Str("path", c.quality.path));
    HG_TRY(qr.Str("dsn", c.quality.dsn));
    HG_TRY(qr.Str("dsn_env", c.quality.dsn_env));
    HG_TRY(qr.Int("store_text_max_class", c.quality.store_text_max_class, 0));
    HG_TRY(qr.Str("hash_key_env", c.quality.hash_key_env));
    HG_TRY(qr.Int("retention_days", c.quality.retention_days, 1));
    HG_TRY(qr.Int("scores_retention_days", c.quality.scores_retention_days, 1));
    HG_TRY(qr.Int("max_pending", c.quality.max_pending, 1));
    HG_TRY(qr.Bool("feedback", c.quality.feedback));
    HG_TRY(qr.NoUnknownKeys());
    if (!c.quality.backend.empty() && c.quality.backend != "sqlite" &&
        c.quality.backend != "postgres") {
      return Fail(
          qr.Err(q["backend"], "backend",
                 fmt::format("unknown backend '{}' (sqlite | postgres)", c.quality.backend)));
    }
    if (!q["scores_retention_days"]) {
      c.quality.scores_retention_days =
          std::max(c.quality.scores_retention_days, c.quality.retention_days);
    } else if (c.quality.scores_retention_days < c.quality.retention_days) {
      return Fail(qr.Err(q["scores_retention_days"], "scores_retention_days",
                         fmt::format("must be at least retention_days ({}): a row keeps its "
                                     "scores longer than its texts",
                                     c.quality.retention_days)));
    }
    if (c.quality.store_text_max_class > 5) {
      return Fail(qr.Err(q["store_text_max_class"], "store_text_max_class", "must be 0 to 5"));
    }
  }
  if (const YAML::Node e = r.Get("evals")) HG_TRY(ParseEvals(e, file, c.evals));
  if (const YAML::Node lp = r.Get("licence_policy")) {
    HG_TRY(ParseLicencePolicy(lp, file, c.licence_policy));
  }
  if (const YAML::Node l = r.Get("limits")) {
    auto lc = limits::ParseLimitsConfig(l, file);
    if (!lc) return Fail(std::move(lc.error()));
    c.limits = std::move(*lc);
  }
  if (const YAML::Node s = r.Get("sensitivity")) {
    auto sc = sensitivity::ParseSensitivityConfig(s, file);
    if (!sc) return Fail(std::move(sc.error()));
    c.sensitivity = std::move(*sc);
  }
  HG_TRY(r.Str("listen", c.server.listen));
  if (auto l = ParseListen(c.server.listen); !l) {
    return Fail(r.Err(root["listen"], "listen", l.error().message));
  }
  if (const YAML::Node s = r.Get("server")) HG_TRY(ParseServer(s, file, c.server));
  if (const YAML::Node l = r.Get("log")) {
    MapReader lr(l, "log", file);
    HG_TRY(lr.Str("level", c.log.level));
    HG_TRY(lr.NoUnknownKeys());
    static const std::set<std::string> kLevels = {"trace", "debug", "info", "warn", "error", "off"};
    if (!kLevels.count(c.log.level)) {
      return Fail(lr.Err(l["level"], "level", "must be trace, debug, info, warn, error or off"));
    }
  }
  const YAML::Node providers = r.Get("providers");
  if (!providers || !providers.IsSequence() || providers.size() == 0) {
    return Fail(
        r.Err(providers ? providers : root, "providers", "must list at least one provider"));
  }
  std::set<std::string> names;
  for (size_t i = 0; i < providers.size(); ++i) {
    ProviderConfig& p = c.providers.emplace_back();
    HG_TRY(ParseProvider(providers[i], i, file, p));
    if (!names.insert(p.name).second) {
      return Fail(r.Err(providers[i]["name"], fmt::format("providers[{}].name", i),
                        fmt::format("duplicate provider name '{}'", p.name)));
    }
  }
  if (const YAML::Node a = r.Get("aliases")) {
    if (!a.IsMap()) return Fail(r.Err(a, "aliases", "must be a mapping of alias: model"));
    for (const auto& kv : a) c.aliases.emplace_back(kv.first.Scalar(), kv.second.Scalar());
  }
  if (const YAML::Node lp = root["licence_policy"]) HG_TRY(CheckDeny(lp, file, c));
  if (check_licences) HG_TRY(CheckLicences(providers, file, c));
  for (const routing::Route& route : c.routes.routes) {
    if (route.rollout && route.rollout->gates.feedback_drop_max && !c.quality.feedback) {
      const YAML::Node g = root["routes"][route.name]["rollout"]["gates"]["feedback_drop_max"];
      return Fail(r.Err(g, "routes." + route.name + ".rollout.gates.feedback_drop_max",
                        "needs quality.feedback: true (the gateway then remembers who made each "
                        "request, so that POST /v1/feedback can rate it)"));
    }
  }
  return r.NoUnknownKeys();
}

}  // namespace

std::string_view ZoneName(Zone z) { return z == Zone::kSelfHosted ? "self_hosted" : "external"; }

const OutputTrainingTerms* OutputTrainingTermsOf(const ProviderConfig& provider) {
  std::string host;
  if (auto url = boost::urls::parse_uri(provider.base_url)) {
    host = url->host();
    std::transform(host.begin(), host.end(), host.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  }
  for (const OutputTrainingTerms& t : kOutputTrainingTerms) {
    if (!t.provider_type.empty() && t.provider_type == provider.type) return &t;
    if (!host.empty() && t.host == host) return &t;
  }
  return nullptr;
}

Result<std::pair<std::string, uint16_t>> ParseListen(std::string_view listen) {
  std::string_view host;
  std::string_view port;
  if (!listen.empty() && listen.front() == '[') {
    const size_t close = listen.find(']');
    if (close == std::string_view::npos || close + 1 >= listen.size() || listen[close + 1] != ':') {
      return Fail(MakeError(ErrorCode::kInvalidRequest, "expected [ipv6]:port"));
    }
    host = listen.substr(1, close - 1);
    port = listen.substr(close + 2);
  } else {
    const size_t colon = listen.rfind(':');
    if (colon == std::string_view::npos) {
      return Fail(MakeError(ErrorCode::kInvalidRequest,
                            fmt::format("'{}' is not host:port (e.g. 127.0.0.1:8080)", listen)));
    }
    host = listen.substr(0, colon);
    port = listen.substr(colon + 1);
  }
  int p = 0;
  for (char ch : port) {
    if (ch < '0' || ch > '9' || (p = p * 10 + (ch - '0')) > 65535) {
      return Fail(MakeError(ErrorCode::kInvalidRequest, fmt::format("bad port '{}'", port)));
    }
  }
  if (port.empty() || host.empty()) {
    return Fail(MakeError(ErrorCode::kInvalidRequest,
                          fmt::format("'{}' is not host:port (e.g. 127.0.0.1:8080)", listen)));
  }
  return std::pair{std::string(host), static_cast<uint16_t>(p)};
}

Result<Config> ParseConfig(std::string_view yaml, std::string_view file, bool check_licences) {
  Config c;
  c.source = std::string(file);
  try {
    const YAML::Node root = YAML::Load(std::string(yaml));
    if (auto s = ParseRoot(root, file, c, check_licences); !s) return Fail(s.error());
  } catch (const YAML::Exception& e) {
    return Fail(MakeError(ErrorCode::kInvalidRequest,
                          fmt::format("{}:{}:{}: YAML syntax error: {}", file, e.mark.line + 1,
                                      e.mark.column + 1, e.msg)));
  }
  return c;
}

Result<Config> LoadConfig(const std::string& path, bool check_licences) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Fail(
        MakeError(ErrorCode::kInvalidRequest, fmt::format("{}: cannot open config file", path)));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseConfig(ss.str(), path, check_licences);
}

}  // namespace hybridgate::config
