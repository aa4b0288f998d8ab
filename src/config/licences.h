// Model licences as facts a config's `licence_policy:` is checked against: each model may name
// its licence (`licence: apache-2.0`) and override or supply its terms (`licence_terms:`). The
// catalog below holds the common open-weight and closed licences, each with the date its terms
// were read; it is a summary to act on, not legal advice — the `source` names the clause.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hybridgate::config {

struct LicenceTerms {
  bool commercial_use = true;
  bool redistribution = true;     // the weights may be passed on (with the notices it requires)
  int64_t mau_limit = 0;          // 0: none; else monthly active users above which it does not hold
  bool outputs_trainable = true;  // outputs may train other models
};

struct KnownLicence {
  std::string_view id;
  std::string_view name;
  LicenceTerms terms;
  std::string_view checked;  // YYYY-MM-DD
  std::string_view source;   // the clauses behind the terms, in one line
};

inline constexpr KnownLicence kLicences[] = {
    {"apache-2.0",
     "Apache License 2.0",
     {true, true, 0, true},
     "2026-12-07",
     "s.2-4: perpetual commercial use and redistribution with the licence and NOTICE kept"},
    {"mit",
     "MIT License",
     {true, true, 0, true},
     "2026-12-07",
     "use, copy, modify, sell, with the copyright notice kept"},
    {"llama-community",
     "Llama 3.1/3.2/3.3 Community License",
     {true, true, 700'000'000, true},
     "2026-12-07",
     "s.2: over 700M monthly active users on the version's release date needs a licence from "
     "Meta; s.1.b: redistribution with \"Built with Llama\"; outputs may improve other models "
     "(3.1 on; Llama 2 and 3 forbade it)"},
    {"qwen",
     "Tongyi Qianwen License",
     {true, true, 100'000'000, true},
     "2026-12-07",
     "s.4: over 100M monthly active users needs a licence from Alibaba Cloud"},
    {"gemma",
     "Gemma Terms of Use",
     {true, true, 0, true},
     "2026-12-07",
     "s.3: redistribution with the terms and the prohibited use policy passed on; models trained "
     "on Gemma outputs are Model Derivatives under the same terms"},
    {"mistral-research",
     "Mistral AI Research License",
     {false, false, 0, false},
     "2026-12-07",
     "research and non-commercial use only; commercial use needs a licence from Mistral AI"},
    {"cc-by-nc-4.0",
     "Creative Commons Attribution-NonCommercial 4.0",
     {false, true, 0, true},
     "2026-12-07",
     "s.2.a.1: licensed for NonCommercial purposes only"},
    {"proprietary",
     "Proprietary (an API's terms of service)",
     {true, false, 0, false},
     "2026-12-07",
     "no weights to redistribute; the big closed APIs' terms forbid training competing models "
     "on their outputs (config.h, kOutputTrainingTerms)"},
};

const KnownLicence* FindLicence(std::string_view id);
// Licence ids compare without regard to case ("CC-BY-NC-4.0" is SPDX's spelling).
bool SameLicenceId(std::string_view a, std::string_view b);
// "apache-2.0, mit, …" for messages.
std::string KnownLicenceIds();

// What the company does with models, which every model's licence must allow. Off unless set.
struct LicencePolicy {
  bool commercial = false;            // models serve a commercial purpose
  int64_t monthly_active_users = 0;   // the company's MAU; 0: not declared
  bool redistribute_weights = false;  // weights are passed on to others
  bool require_licence = false;       // every model must name its licence
  std::vector<std::string> deny;      // licence ids refused outright
};

// A model's licence as the config gives it: the catalog's terms, overridden by `licence_terms`.
struct ModelLicence {
  std::string id;  // "" when the model names none
  LicenceTerms terms;
  bool terms_given = false;  // licence_terms: in the config
};

// Why `licence` breaks `policy` ("licence_policy.commercial: true, but … forbids commercial
// use"), naming the clause; "" when it does not.
std::string LicenceViolation(const LicencePolicy& policy, const ModelLicence& licence);

}  // namespace hybridgate::config
