#include "classify/sensitivity/sensitivity_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <optional>
#include <set>

#include "classify/sensitivity/patterns.h"

namespace hybridgate::sensitivity {
namespace {

constexpr std::array<std::string_view, kBuiltinDetectorCount> kBuiltinTypes = {
    "email",
    "phone",
    "credit_card",
    "iban",
    "us_ssn",
    "ipv4",
    "ipv6",
    "api_key",
    "private_key",
    "jwt",
    "secret",
    "date_of_birth",
    "medical_record_number",
    "icd10"};

Error ConfigError(std::string message, std::string param = {}) {
  return MakeError(ErrorCode::kInvalidRequest, std::move(message), std::move(param));
}

bool ValidName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

bool ValidClass(int c) { return c >= 1 && c <= 5; }

// Error text: "file:line: key: message".
class YamlReader {
 public:
  explicit YamlReader(std::string_view file) : file_(file) {}

  Error At(const YAML::Node& node, std::string_view key, std::string_view message) const {
    std::string text = file_;
    if (node.IsDefined() && node.Mark().line >= 0) {
      text += ':';
      text += std::to_string(node.Mark().line + 1);
    }
    text.append(": ").append(key).append(": ").append(message);
    return ConfigError(std::move(text), std::string(key));
  }

  // yaml-cpp reports bad conversions by throwing; they are caught here, at the call site.
  Result<int> Int(const YAML::Node& node, std::string_view key) const {
    try {
      if (node.IsScalar()) return node.as<int>();
    } catch (const YAML::Exception&) {
    }
    return Fail(At(node, key, "expected an integer"));
  }
  Result<double> Double(const YAML::Node& node, std::string_view key) const {
    try {
      if (node.IsScalar()) return node.as<double>();
    } catch (const YAML::Exception&) {
    }
    return Fail(At(node, key, "expected a number"));
  }
  Result<std::string> String(const YAML::Node& node, std::string_view key) const {
    if (!node.IsScalar()) return Fail(At(node, key, "expected a string"));
    return node.Scalar();
  }
  Result<std::vector<std::string>> StringList(const YAML::Node& node, std::string_view key) const {
    if (!node.IsSequence()) return Fail(At(node, key, "expected a list of strings"));
    std::vector<std::string> out;
    for (std::size_t i = 0; i < node.size(); ++i) {
      Result<std::string> s = String(node[i], std::string(key) + "[" + std::to_string(i) + "]");
      if (!s) return Fail(s.error());
      out.push_back(std::move(*s));
    }
    return out;
  }

 private:
  std::string file_;
};

Result<int> ParseClass(const YamlReader& r, const YAML::Node& node, const std::string& key) {
  Result<int> c = r.Int(node, key);
  if (!c) return c;
  if (!ValidClass(*c)) return Fail(r.At(node, key, "data class must be 1..5"));
  return c;
}

Status ParseCustom(const YamlReader& r, const YAML::Node& list, SensitivityConfig& config) {
  if (!list.IsSequence()) return Fail(r.At(list, "custom", "expected a list of detectors"));
  for (std::size_t i = 0; i < list.size(); ++i) {
    const YAML::Node& entry = list[i];
    std::string key = "custom[" + std::to_string(i) + "]";
    if (!entry.IsMap()) return Fail(r.At(entry, key, "expected a mapping"));
    std::string name;
    int data_class = kDefaultCustomClass;
    std::optional<std::string> regex;
    std::optional<std::vector<std::string>> words;
    for (const auto& kv : entry) {
      std::string field = kv.first.as<std::string>();
      std::string field_key = key + "." + field;
      if (field == "name") {
        Result<std::string> s = r.String(kv.second, field_key);
        if (!s) return Fail(s.error());
        name = *s;
      } else if (field == "regex") {
        Result<std::string> s = r.String(kv.second, field_key);
        if (!s) return Fail(s.error());
        regex = *s;
      } else if (field == "words") {
        auto w = r.StringList(kv.second, field_key);
        if (!w) return Fail(w.error());
        words = std::move(*w);
      } else if (field == "class") {
        Result<int> c = ParseClass(r, kv.second, field_key);
        if (!c) return Fail(c.error());
        data_class = *c;
      } else {
        return Fail(r.At(kv.first, field_key, "unknown key (expected name, regex, words, class)"));
      }
    }
    if (!ValidName(name)) {
      return Fail(r.At(entry, key + ".name", "required, [a-z0-9_]+ (it names the finding type)"));
    }
    if (regex.has_value() == words.has_value()) {
      return Fail(r.At(entry, key, "exactly one of 'regex' or 'words' is required"));
    }
    if (regex) {
      Result<RegexBackend> backend = ChooseRegexBackend(name, *regex);
      if (!backend) return Fail(r.At(entry, key + ".regex", backend.error().message));
      config.custom_regexes.push_back(CustomRegex{name, *regex, data_class});
    } else {
      config.dictionaries.push_back(CustomDictionary{name, std::move(*words), data_class});
    }
  }
  return {};
}

Status ParseTypeList(const YamlReader& r, const YAML::Node& node, const std::string& key,
                     std::vector<std::string>& out) {
  auto list = r.StringList(node, key);
  if (!list) return Fail(list.error());
  for (const std::string& type : *list) {
    if (!IsBuiltinType(type)) return Fail(r.At(node, key, "unknown detector '" + type + "'"));
  }
  out = std::move(*list);
  return {};
}

}  // namespace

std::span<const std::string_view> BuiltinTypes() { return kBuiltinTypes; }

bool IsBuiltinType(std::string_view type) {
  return std::find(kBuiltinTypes.begin(), kBuiltinTypes.end(), type) != kBuiltinTypes.end();
}

int DefaultClassFor(std::string_view type) {
  static constexpr std::string_view kRegulated[] = {
      "credit_card",           "iban", "us_ssn", "api_key", "private_key", "jwt", "secret",
      "medical_record_number", "icd10"};
  for (std::string_view t : kRegulated) {
    if (t == type) return 4;
  }
  return 3;  // email, phone, ipv4, ipv6, date_of_birth, and unknown types
}

Status ValidateSensitivityConfig(const SensitivityConfig& config) {
  std::set<std::string, std::less<>> custom_names;
  auto check_custom = [&](const std::string& name, int data_class) -> Status {
    if (!ValidName(name)) {
      return Fail(ConfigError("custom detector name '" + name + "' must be [a-z0-9_]+", name));
    }
    if (IsBuiltinType(name) || !custom_names.insert(name).second) {
      return Fail(ConfigError("custom detector name '" + name + "' is already taken", name));
    }
    if (!ValidClass(data_class)) {
      return Fail(ConfigError("custom detector '" + name + "': class must be 1..5", name));
    }
    return {};
  };
  for (const CustomRegex& c : config.custom_regexes) {
    if (Status s = check_custom(c.name, c.data_class); !s) return s;
    if (Result<RegexBackend> b = ChooseRegexBackend(c.name, c.pattern); !b) return Fail(b.error());
  }
  for (const CustomDictionary& d : config.dictionaries) {
    if (Status s = check_custom(d.name, d.data_class); !s) return s;
    if (d.words.empty()) {
      return Fail(ConfigError("custom detector '" + d.name + "': empty word list", d.name));
    }
  }
  for (const auto& [type, c] : config.class_overrides) {
    if (!IsBuiltinType(type) && !custom_names.contains(type)) {
      return Fail(ConfigError("classes: unknown finding type '" + type + "'", type));
    }
    if (!ValidClass(c)) return Fail(ConfigError("classes: " + type + " must be 1..5", type));
  }
  for (const auto* list : {&config.enabled, &config.disabled}) {
    for (const std::string& type : *list) {
      if (!IsBuiltinType(type)) return Fail(ConfigError("unknown detector '" + type + "'", type));
    }
  }
  if (!(config.entropy_threshold >= 0.0 && config.entropy_threshold <= 8.0)) {
    return Fail(ConfigError("entropy_threshold must be within 0..8 bits", "entropy_threshold"));
  }
  if (!ValidClass(config.floor_class)) {
    return Fail(ConfigError("floor must be 1..5", "floor"));
  }
  return {};
}

Result<SensitivityConfig> ParseSensitivityConfig(const YAML::Node& input, std::string_view file) {
  YamlReader r(file);
  YAML::Node node = input;
  if (node.IsMap() && node["sensitivity"]) node = node["sensitivity"];
  SensitivityConfig config;
  if (!node.IsDefined() || node.IsNull()) return config;
  std::vector<std::pair<std::string, YAML::Node>> class_keys;  // checked once customs are known
  if (!node.IsMap()) return Fail(r.At(node, "sensitivity", "expected a mapping"));
  try {
    for (const auto& kv : node) {
      const std::string key = kv.first.as<std::string>();
      const YAML::Node& value = kv.second;
      if (key == "classes") {
        if (!value.IsMap()) return Fail(r.At(value, key, "expected a mapping type: class"));
        for (const auto& entry : value) {
          std::string type = entry.first.as<std::string>();
          class_keys.emplace_back(type, entry.first);
          Result<int> c = ParseClass(r, entry.second, key + "." + type);
          if (!c) return Fail(c.error());
          config.class_overrides[type] = *c;
        }
      } else if (key == "disabled" || key == "enabled") {
        auto& out = key == "disabled" ? config.disabled : config.enabled;
        if (Status s = ParseTypeList(r, value, key, out); !s) return Fail(s.error());
      } else if (key == "entropy_threshold") {
        Result<double> d = r.Double(value, key);
        if (!d) return Fail(d.error());
        if (!(*d >= 0.0 && *d <= 8.0)) return Fail(r.At(value, key, "must be within 0..8 bits"));
        config.entropy_threshold = *d;
      } else if (key == "floor") {
        Result<int> c = ParseClass(r, value, key);
        if (!c) return Fail(c.error());
        config.floor_class = *c;
      } else if (key == "custom") {
        if (Status s = ParseCustom(r, value, config); !s) return Fail(s.error());
      } else {
        return Fail(r.At(kv.first, key,
                         "unknown key (expected classes, disabled, enabled, entropy_threshold, "
                         "floor, custom)"));
      }
    }
  } catch (const YAML::Exception& e) {
    return Fail(ConfigError(std::string(file) + ": " + e.what()));
  }
  // Not a structured binding: clang 14 (the fuzz build) cannot capture one in a lambda.
  for (const auto& class_key : class_keys) {
    const std::string& type = class_key.first;
    const YAML::Node& key_node = class_key.second;
    bool custom = std::any_of(config.custom_regexes.begin(), config.custom_regexes.end(),
                              [&](const CustomRegex& c) { return c.name == type; }) ||
                  std::any_of(config.dictionaries.begin(), config.dictionaries.end(),
                              [&](const CustomDictionary& d) { return d.name == type; });
    if (!IsBuiltinType(type) && !custom) {
      return Fail(r.At(key_node, "classes." + type, "unknown finding type"));
    }
  }
  // Cross-field checks (class overrides naming custom detectors, duplicate names). The YAML
  // position is lost here, so point at the section.
  if (Status s = ValidateSensitivityConfig(config); !s) {
    Error e = s.error();
    e.message = std::string(file) + ":" + std::to_string(node.Mark().line + 1) + ": " + e.message;
    return Fail(std::move(e));
  }
  return config;
}

}  // namespace hybridgate::sensitivity
