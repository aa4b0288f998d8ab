#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "classify/sensitivity/sensitivity_config.h"

namespace hybridgate::sensitivity {
namespace {

Result<SensitivityConfig> Parse(const char* yaml) {
  return ParseSensitivityConfig(YAML::Load(yaml), "gateway.yaml");
}

TEST(ConfigTest, ParsesFullShape) {
  auto config = Parse(R"(
sensitivity:
  classes: {email: 3, credit_card: 4, project_codename: 5}
  disabled: [ipv4]
  entropy_threshold: 3.5
  floor: 2
  custom:
    - {name: project_codename, regex: "\\bPROJECT-(ALPHA|OMEGA)\\b", class: 4}
    - {name: customer, words: [Acme Corp, Globex]}
)");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->class_overrides.at("email"), 3);
  EXPECT_EQ(config->class_overrides.at("project_codename"), 5);
  EXPECT_EQ(config->disabled, std::vector<std::string>{"ipv4"});
  EXPECT_DOUBLE_EQ(config->entropy_threshold, 3.5);
  EXPECT_EQ(config->floor_class, 2);
  ASSERT_EQ(config->custom_regexes.size(), 1u);
  EXPECT_EQ(config->custom_regexes[0].pattern, R"(\bPROJECT-(ALPHA|OMEGA)\b)");
  EXPECT_EQ(config->custom_regexes[0].data_class, 4);
  ASSERT_EQ(config->dictionaries.size(), 1u);
  EXPECT_EQ(config->dictionaries[0].words, (std::vector<std::string>{"Acme Corp", "Globex"}));
  EXPECT_EQ(config->dictionaries[0].data_class, 3);
}

TEST(ConfigTest, EmptyIsDefaults) {
  for (const char* yaml : {"sensitivity:", "sensitivity: {}", "~"}) {
    auto config = Parse(yaml);
    ASSERT_TRUE(config) << yaml << ": " << config.error().message;
    EXPECT_TRUE(config->custom_regexes.empty());
    EXPECT_EQ(config->floor_class, 1);
  }
}

TEST(ConfigTest, AcceptsTheSectionItself) {
  auto config = Parse("disabled: [ipv6]");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->disabled, std::vector<std::string>{"ipv6"});
}

TEST(ConfigTest, DefaultClasses) {
  for (const char* t : {"email", "phone", "ipv4", "ipv6", "date_of_birth"}) {
    EXPECT_EQ(DefaultClassFor(t), 3) << t;
  }
  for (const char* t : {"credit_card", "iban", "us_ssn", "api_key", "private_key", "jwt", "secret",
                        "medical_record_number", "icd10"}) {
    EXPECT_EQ(DefaultClassFor(t), 4) << t;
  }
}

struct ErrorCase {
  const char* yaml;
  const char* want_in_message;  // file:line and key
};

TEST(ConfigTest, ErrorsNameFileLineAndKey) {
  const ErrorCase cases[] = {
      {"sensitivity:\n  clases: {email: 3}\n", "gateway.yaml:2: clases: unknown key"},
      {"sensitivity:\n  classes:\n    email: 7\n", "gateway.yaml:3: classes.email: data class"},
      {"sensitivity:\n  classes:\n    emial: 3\n", "gateway.yaml:3: classes.emial: unknown"},
      {"sensitivity:\n  classes:\n    email: high\n", "gateway.yaml:3: classes.email: expected"},
      {"sensitivity:\n  disabled: [ipv5]\n", "gateway.yaml:2: disabled: unknown detector 'ipv5'"},
      {"sensitivity:\n  entropy_threshold: 12\n", "gateway.yaml:2: entropy_threshold"},
      {"sensitivity:\n  custom:\n    - {name: x, regex: \"(unclosed\"}\n",
       "gateway.yaml:3: custom[0].regex: custom detector 'x': invalid regex"},
      {"sensitivity:\n  custom:\n    - {name: Bad Name, words: [a]}\n",
       "gateway.yaml:3: custom[0].name"},
      {"sensitivity:\n  custom:\n    - {name: x, regex: a, words: [a]}\n",
       "gateway.yaml:3: custom[0]: exactly one"},
      {"sensitivity:\n  custom:\n    - {name: x, regex: a, colour: red}\n",
       "gateway.yaml:3: custom[0].colour: unknown key"},
      {"sensitivity:\n  custom:\n    - {name: email, words: [a]}\n", "already taken"},
      {"sensitivity:\n  custom:\n    - {name: x, regex: \"a*\"}\n", "matches the empty string"},
  };
  for (const ErrorCase& c : cases) {
    auto config = Parse(c.yaml);
    ASSERT_FALSE(config) << c.yaml;
    EXPECT_NE(config.error().message.find(c.want_in_message), std::string::npos)
        << "got: " << config.error().message << "\nwant: " << c.want_in_message;
    EXPECT_EQ(config.error().code, ErrorCode::kInvalidRequest);
  }
}

TEST(ConfigTest, ValidateCatchesInCodeMistakes) {
  SensitivityConfig config;
  config.floor_class = 0;
  EXPECT_FALSE(ValidateSensitivityConfig(config));
  config = {};
  config.dictionaries.push_back({"customer", {}, 3});
  EXPECT_FALSE(ValidateSensitivityConfig(config));
  config = {};
  config.custom_regexes.push_back({"a", "x", 3});
  config.dictionaries.push_back({"a", {"y"}, 3});
  EXPECT_FALSE(ValidateSensitivityConfig(config));
}

}  // namespace
}  // namespace hybridgate::sensitivity
