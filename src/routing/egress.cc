#include "routing/egress.h"

#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <vector>

#include "classify/body_strings.h"
#include "classify/sensitivity/scanner.h"

namespace hybridgate::routing {
namespace {

std::string TypesOf(const sensitivity::Classification& c, int above) {
  std::vector<std::string_view> types;
  for (const auto& f : c.findings) {
    if (f.data_class <= above) continue;
    if (std::find(types.begin(), types.end(), f.type) == types.end()) types.push_back(f.type);
  }
  return types.empty() ? std::string("x-hybridgate-data-class header or key floor")
                       : fmt::format("{}", fmt::join(types, ", "));
}

Error Refused(const config::ProviderConfig& pc, int limit, int found, std::string_view types) {
  return MakeError(
      ErrorCode::kPolicyBlocked,
      fmt::format("request blocked by data residency policy: provider '{}' ({}, max data class "
                  "{}) may not receive class {} data ({})",
                  pc.name, config::ZoneName(pc.zone), limit, found, types));
}

}  // namespace

Status EgressGate::Check(const Deployment& d, std::string_view body) const {
  const config::ProviderConfig& pc = d.provider->config();
  const int limit = std::min(pc.max_data_class, key_max_class);
  if (data_class <= 0) return Fail(Refused(pc, limit, sensitivity::kMaxClass, "not classified"));
  if (data_class > limit) {
    const sensitivity::Classification none;
    return Fail(Refused(pc, limit, data_class, TypesOf(findings ? *findings : none, limit)));
  }
  if (limit >= sensitivity::kMaxClass || body.empty()) return {};
  if (!scanner || !residency) {
    return Fail(Refused(pc, limit, sensitivity::kMaxClass, "no scanner to check the body with"));
  }
  // What leaves is judged as it is: the encoded body, every string in it.
  thread_local classify::BodyStrings strings;
  if (!classify::CollectBodyStrings(body, strings)) {
    // Not JSON (a provider that sends another format): scanned as one text.
    strings.clear();
    strings.storage.assign(body);
    strings.texts.emplace_back(strings.storage);
  }
  const sensitivity::Classification c = classify::ClassifyStrings(*scanner, *residency, strings);
  if (c.data_class > limit) return Fail(Refused(pc, limit, c.data_class, TypesOf(c, limit)));
  return {};
}

}  // namespace hybridgate::routing
