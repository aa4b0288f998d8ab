#include "limits/limits_config.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <charconv>
#include <filesystem>

#include "common/percent.h"

namespace hybridgate::limits {
namespace {

class Reader {
 public:
  explicit Reader(std::string_view file) : file_(file) {}

  Error At(const YAML::Node& node, std::string_view key, std::string_view message) const {
    const auto mark = node.Mark();
    const std::string where =
        mark.is_null() ? std::string(file_) : fmt::format("{}:{}", file_, mark.line + 1);
    const std::string full = fmt::format("limits.{}", key);
    return MakeError(ErrorCode::kInvalidRequest, fmt::format("{}: '{}': {}", where, full, message),
                     full);
  }

  // yaml-cpp reports bad conversions by throwing; they are caught here.
  Status Bool(const YAML::Node& n, std::string_view key, bool& out) const {
    try {
      if (n.IsScalar()) {
        out = n.as<bool>();
        return {};
      }
    } catch (const YAML::Exception&) {
    }
    return Fail(At(n, key, "expected true or false"));
  }
  Status Int(const YAML::Node& n, std::string_view key, int64_t min, int64_t max,
             int64_t& out) const {
    int64_t v = 0;
    try {
      if (!n.IsScalar()) return Fail(At(n, key, "expected an integer"));
      v = n.as<int64_t>();
    } catch (const YAML::Exception&) {
      return Fail(At(n, key, "expected an integer"));
    }
    if (v < min || v > max) return Fail(At(n, key, fmt::format("must be {}..{}", min, max)));
    out = v;
    return {};
  }
  Status Str(const YAML::Node& n, std::string_view key, std::string& out) const {
    if (!n.IsScalar()) return Fail(At(n, key, "expected a string"));
    out = n.Scalar();
    return {};
  }

 private:
  std::string file_;
};

Status ParseEntry(const Reader& r, const std::string& key, const YAML::Node& v, LimitsConfig& c) {
  if (key == "auth_required") return r.Bool(v, key, c.auth_required);
  if (key == "admin_key_env") return r.Str(v, key, c.admin_key_env);
  if (key == "keys_db") {
    HG_TRY(r.Str(v, key, c.keys_db));
    if (c.keys_db.empty()) return Fail(r.At(v, key, "must not be empty"));
    return {};
  }
  if (key == "backend") {
    HG_TRY(r.Str(v, key, c.backend));
    if (c.backend != "memory" && c.backend != "redis") {
      return Fail(r.At(v, key, fmt::format("unknown backend '{}' (memory | redis)", c.backend)));
    }
    return {};
  }
  if (key == "redis_url") {
    HG_TRY(r.Str(v, key, c.redis_url));
    if (auto a = ParseRedisUrl(c.redis_url); !a) return Fail(r.At(v, key, a.error().message));
    return {};
  }
  if (key == "timeout_ms") return r.Int(v, key, 1, 60'000, c.timeout_ms);
  if (key == "on_redis_error") {
    std::string s;
    HG_TRY(r.Str(v, key, s));
    if (s != "open" && s != "closed") {
      return Fail(r.At(v, key, fmt::format("unknown value '{}' (open | closed)", s)));
    }
    c.fail_open = s == "open";
    return {};
  }
  return Fail(r.At(v, key,
                   "unknown key (expected auth_required, admin_key_env, keys_db, backend, "
                   "redis_url, timeout_ms, on_redis_error)"));
}

}  // namespace

namespace {

// The URL as errors show it: the password replaced by ****.
std::string WithoutPassword(std::string_view url) {
  const size_t at = url.rfind('@');
  const size_t start = url.find("://");
  if (start == std::string_view::npos) return std::string(url);
  if (at == std::string_view::npos || at < start) {
    // No '@': "host:port", or credentials written without their host ("redis://:secret").
    const size_t colon = url.find(':', start + 3);
    return colon == std::string_view::npos ? std::string(url)
                                           : fmt::format("{}:****", url.substr(0, colon));
  }
  const std::string_view cred = url.substr(start + 3, at - start - 3);
  const size_t colon = cred.find(':');
  const std::string_view user = colon == std::string_view::npos ? "" : cred.substr(0, colon);
  return fmt::format("{}{}:****{}", url.substr(0, start + 3), user, url.substr(at));
}

}  // namespace

Result<RedisAddress> ParseRedisUrl(std::string_view url) {
  auto bad = [&](std::string_view why) {
    return Fail(MakeError(ErrorCode::kInvalidRequest,
                          fmt::format("bad redis URL '{}': {} (expected "
                                      "redis://[[user]:password@]host[:port][/db])",
                                      WithoutPassword(url), why)));
  };
  constexpr std::string_view kScheme = "redis://";
  if (!url.starts_with(kScheme)) return bad("scheme must be redis://");
  std::string_view rest = url.substr(kScheme.size());
  RedisAddress a;
  if (const size_t at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view cred = rest.substr(0, at);
    rest = rest.substr(at + 1);
    if (const size_t colon = cred.find(':'); colon != std::string_view::npos) {
      // RFC 3986 userinfo: a password holding '@', ':' or '/' is written percent-encoded.
      a.user = PercentDecode(cred.substr(0, colon));
      a.password = PercentDecode(cred.substr(colon + 1));
    } else {
      a.password = PercentDecode(cred);
    }
  }
  std::string_view hostport = rest;
  if (const size_t slash = rest.find('/'); slash != std::string_view::npos) {
    hostport = rest.substr(0, slash);
    std::string_view db = rest.substr(slash + 1);
    if (!db.empty()) {
      auto [p, ec] = std::from_chars(db.data(), db.data() + db.size(), a.db);
      if (ec != std::errc() || p != db.data() + db.size() || a.db < 0) return bad("bad db number");
    }
  }
  std::string_view host = hostport;
  if (hostport.starts_with('[')) {  // [::1]:6379
    const size_t close = hostport.find(']');
    if (close == std::string_view::npos) return bad("unterminated [");
    host = hostport.substr(1, close - 1);
    hostport = hostport.substr(close + 1);
    if (!hostport.empty() && hostport[0] != ':') return bad("junk after ]");
  } else if (const size_t colon = hostport.rfind(':'); colon != std::string_view::npos) {
    host = hostport.substr(0, colon);
    hostport = hostport.substr(colon);
  } else {
    hostport = {};
  }
  if (host.empty()) return bad("missing host");
  a.host = host;
  if (!hostport.empty()) {  // ":port"
    std::string_view port = hostport.substr(1);
    unsigned v = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
    if (ec != std::errc() || p != port.data() + port.size() || v == 0 || v > 65535) {
      return bad("bad port");
    }
    a.port = static_cast<uint16_t>(v);
  }
  return a;
}

Result<LimitsConfig> ParseLimitsConfig(const YAML::Node& node, std::string_view file) {
  Reader r(file);
  YAML::Node map = node;
  if (map.IsMap() && map["limits"]) map = map["limits"];
  LimitsConfig c;
  if (!map || map.IsNull()) return c;
  if (!map.IsMap()) return Fail(r.At(map, "(section)", "expected a mapping"));
  for (const auto& kv : map) {
    if (!kv.first.IsScalar()) return Fail(r.At(kv.first, "(key)", "expected a string key"));
    if (Status s = ParseEntry(r, kv.first.Scalar(), kv.second, c); !s) return Fail(s.error());
  }
  return c;
}

std::string ResolveKeysDb(const LimitsConfig& config, std::string_view config_file) {
  std::filesystem::path db(config.keys_db);
  if (db.is_absolute() || config_file.empty()) return db.string();
  return (std::filesystem::path(config_file).parent_path() / db).string();
}

}  // namespace hybridgate::limits
