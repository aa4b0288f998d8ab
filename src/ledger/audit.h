// `hybridgate audit`: where the requests' data went, from the ledger's residency facts. Per data
// class, zone and provider it counts the requests and the residency action taken, and it checks
// every upstream attempt of every row: a row whose data class is above the max_data_class that
// the attempted provider had at the time is a violation, listed by seq and request id. A row
// whose residency action is `redact` is exempt: what left carried placeholders, not the findings.
// An attempt whose result is policy_blocked was refused by the egress gate before anything was
// sent (routing/egress.h): it is counted as refused, not as egress.
// Rows written before the ledger recorded residency facts (schema version 1) cannot be checked;
// they are counted as such.
//
// The egress trail (Row::egress) is one entry per upstream attempt, in order, joined by ';':
//   <provider>:<zone>:<max_data_class>:<result>
// e.g. "openai:external:2:upstream_unavailable;local:self_hosted:5:ok". The provider name is
// percent-encoded where it holds '%', ':' or ';' (%25, %3A, %3B), so the entry always splits
// into exactly four fields; zone is self_hosted or external, result is "ok", "escalated",
// "cancelled" or the error's code name.
//
// Pure functions over rows, any thread.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/row.h"

namespace hybridgate::ledger {

struct EgressHop {
  std::string provider;
  std::string zone;            // "self_hosted" | "external" | "" when unknown
  int64_t max_data_class = 0;  // the provider's at the time; 0 when unknown
  std::string result;

  friend bool operator==(const EgressHop&, const EgressHop&) = default;
};

std::string FormatEgress(std::span<const EgressHop> hops);
// Entries that do not split into four fields are kept whole as the provider, with the rest
// unknown, so that nothing in a tampered or hand-written trail is silently dropped.
std::vector<EgressHop> ParseEgress(std::string_view text);

// Finding types, distinct and sorted, joined by ','.
std::string JoinFindingTypes(std::vector<std::string> types);

struct ResidencyGroup {
  int64_t data_class = 0;
  std::string zone;      // the answering provider's; "(none)" when no provider answered
  std::string provider;  // "(none)" likewise
  int64_t max_data_class = 0;
  int64_t requests = 0;
  // By residency action; `other` holds rows without one (written before schema version 2).
  int64_t none = 0, route = 0, redact = 0, block = 0, other = 0;
};

struct Violation {
  int64_t seq = 0;
  std::string id;
  int64_t time_ms = 0;
  int64_t data_class = 0;
  int attempt = 0;  // 1-based index in the egress trail
  EgressHop hop;
};

struct AuditReport {
  int64_t since_ms = 0;
  int64_t requests = 0;
  int64_t upstream_attempts = 0;       // egress entries checked (attempts that left)
  int64_t refused_at_gate = 0;         // attempts the egress gate refused: nothing was sent
  int64_t unchecked = 0;               // rows without residency facts (schema version 1)
  std::vector<ResidencyGroup> groups;  // by data class, zone, provider, max_data_class
  std::vector<Violation> violations;   // in row order
};

// Builds an AuditReport from rows fed one at a time.
class AuditBuilder {
 public:
  explicit AuditBuilder(int64_t since_ms) { report_.since_ms = since_ms; }
  void Add(const Row& row);
  AuditReport Finish();

 private:
  AuditReport report_;
};

AuditReport Audit(std::span<const Row> rows, int64_t since_ms = 0);

// The table ends with one plain sentence: "no violations: ..." or "1 VIOLATION: ..." / "N
// VIOLATIONS: ..." followed by one line per violation.
std::string RenderAuditTable(const AuditReport& report);
std::string RenderAuditJson(const AuditReport& report);

}  // namespace hybridgate::ledger
