#include "config/licences.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace hybridgate::config {

const KnownLicence* FindLicence(std::string_view id) {
  for (const KnownLicence& l : kLicences) {
    if (l.id == id) return &l;
  }
  return nullptr;
}

bool SameLicenceId(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string KnownLicenceIds() {
  std::string out;
  for (const KnownLicence& l : kLicences) {
    if (!out.empty()) out += ", ";
    out += l.id;
  }
  return out;
}

std::string LicenceViolation(const LicencePolicy& policy, const ModelLicence& licence) {
  if (licence.id.empty()) {
    return policy.require_licence
               ? "licence_policy.require_licence: true, but the model names no licence"
               : "";
  }
  const KnownLicence* known = FindLicence(licence.id);
  const std::string what = known != nullptr && !licence.terms_given
                               ? fmt::format("{} ({}; read {}: {})", licence.id, known->name,
                                             known->checked, known->source)
                               : fmt::format("{} (its licence_terms in the config)", licence.id);
  if (std::ranges::any_of(policy.deny,
                          [&](const std::string& d) { return SameLicenceId(d, licence.id); })) {
    return fmt::format("licence_policy.deny lists {}", licence.id);
  }
  if (policy.commercial && !licence.terms.commercial_use) {
    return fmt::format("licence_policy.commercial: true, but {} forbids commercial use", what);
  }
  if (policy.redistribute_weights && !licence.terms.redistribution) {
    return fmt::format("licence_policy.redistribute_weights: true, but {} forbids redistribution",
                       what);
  }
  if (policy.monthly_active_users > 0 && licence.terms.mau_limit > 0 &&
      policy.monthly_active_users > licence.terms.mau_limit) {
    return fmt::format(
        "licence_policy.monthly_active_users: {}, above the {} monthly active users {} allows",
        policy.monthly_active_users, licence.terms.mau_limit, what);
  }
  return "";
}

}  // namespace hybridgate::config
