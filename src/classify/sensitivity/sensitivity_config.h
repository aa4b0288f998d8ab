// Configuration of the sensitivity scanner: which detectors run, which data class each finding
// type implies, and the user's own detectors (regexes and word lists). Parsed from YAML at startup.
#pragma once

#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace YAML {
class Node;
}

namespace hybridgate::sensitivity {

inline constexpr int kDefaultCustomClass = 3;

// A user regex. Compiled with Hyperscan when it can be; patterns Hyperscan rejects (look-around,
// back-references) fall back to RE2. Write `(?i)` for case-insensitive matching.
struct CustomRegex {
  std::string name;  // becomes the finding type; [a-z0-9_]+, must not shadow a built-in type
  std::string pattern;
  int data_class = kDefaultCustomClass;
};

// A case-insensitive word list matched on word boundaries; spaces inside an entry match any run
// of whitespace ("Acme Corp" finds "ACME   corp").
struct CustomDictionary {
  std::string name;
  std::vector<std::string> words;
  int data_class = kDefaultCustomClass;
};

struct SensitivityConfig {
  std::map<std::string, int, std::less<>> class_overrides;  // finding type -> class 1..5
  std::vector<std::string> disabled;  // built-in detector types that do not run
  std::vector<std::string> enabled;   // when non-empty, only these built-ins run
  double entropy_threshold = 3.0;     // bits per byte for `secret` values
  int floor_class = 1;                // Classify() never reports less than this
  std::vector<CustomRegex> custom_regexes;
  std::vector<CustomDictionary> dictionaries;
};

// The built-in finding types, in a fixed order.
std::span<const std::string_view> BuiltinTypes();
bool IsBuiltinType(std::string_view type);
// The class a built-in type maps to when the config does not override it (3 for unknown types).
int DefaultClassFor(std::string_view type);

// Checks ranges, names and that every custom regex compiles. Scanner::Create calls it too, so a
// config built in code gets the same errors.
Status ValidateSensitivityConfig(const SensitivityConfig& config);

// Parses the mapping under the `sensitivity:` key (a node that itself holds `sensitivity:` is
// accepted too). Errors name the file, the 1-based line and the key. Unknown keys are errors,
// since a typo in a data-protection config must not silently weaken it.
Result<SensitivityConfig> ParseSensitivityConfig(const YAML::Node& node, std::string_view file);

}  // namespace hybridgate::sensitivity
