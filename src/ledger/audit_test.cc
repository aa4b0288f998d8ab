#include "ledger/audit.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "ledger/test_util.h"

namespace hybridgate::ledger {
namespace {

using testing::MakeRow;

TEST(AuditTest, EgressTrailRoundTripsWhateverTheProviderIsCalled) {
  const std::vector<EgressHop> hops = {
      {"openai", "external", 2, "upstream_unavailable"},
      {"local", "self_hosted", 5, "ok"},
      {"we:ird;name%3A", "external", 3, "policy_blocked"},
  };
  const std::string text = FormatEgress(hops);
  EXPECT_EQ(text,
            "openai:external:2:upstream_unavailable;local:self_hosted:5:ok;"
            "we%3Aird%3Bname%253A:external:3:policy_blocked");
  EXPECT_EQ(ParseEgress(text), hops);
  EXPECT_TRUE(ParseEgress("").empty());
  // A malformed entry is kept whole rather than dropped.
  const std::vector<EgressHop> odd = ParseEgress("garbage;openai:external:x:ok");
  ASSERT_EQ(odd.size(), 2u);
  EXPECT_EQ(odd[0].provider, "garbage");
  EXPECT_EQ(odd[0].max_data_class, 0);
  EXPECT_EQ(odd[1].provider, "openai:external:x:ok");
}

TEST(AuditTest, FindingTypesAreDistinctAndSorted) {
  EXPECT_EQ(JoinFindingTypes({"email", "credit_card", "email", "iban"}), "credit_card,email,iban");
  EXPECT_EQ(JoinFindingTypes({}), "");
}

Row ResidencyRow(int64_t seq, int64_t data_class, std::string provider, std::string zone,
                 int64_t max_class, std::string action, std::string egress) {
  Row r = MakeRow(seq);
  r.seq = seq;
  r.data_class = data_class;
  r.provider = std::move(provider);
  r.provider_zone = std::move(zone);
  r.provider_max_class = max_class;
  r.residency_action = std::move(action);
  r.egress = std::move(egress);
  return r;
}

TEST(AuditTest, CountsPerClassZoneAndProviderAndFindsThePlantedViolation) {
  std::vector<Row> rows = {
      ResidencyRow(1, 1, "openai", "external", 2, "none", "openai:external:2:ok"),
      ResidencyRow(2, 2, "openai", "external", 2, "none", "openai:external:2:ok"),
      ResidencyRow(3, 1, "openai", "external", 2, "none",
                   "openai:external:2:upstream_unavailable;openai:external:2:ok"),
      // Routed to the self-hosted model; the gate refused the external one first.
      ResidencyRow(4, 4, "local", "self_hosted", 5, "route",
                   "openai:external:2:policy_blocked;local:self_hosted:5:ok"),
      ResidencyRow(5, 3, "openai", "external", 2, "redact", "openai:external:2:ok"),
      ResidencyRow(6, 5, "", "", 0, "block", ""),
      // The planted violation: class 4 reached a provider allowed class 2.
      ResidencyRow(7, 4, "openai", "external", 2, "none", "openai:external:2:ok"),
      // Written before the ledger had residency facts.
      ResidencyRow(8, 1, "openai", "", 0, "", ""),
  };
  const AuditReport report = Audit(rows);
  EXPECT_EQ(report.requests, 8);
  EXPECT_EQ(report.unchecked, 1);
  EXPECT_EQ(report.upstream_attempts, 7);  // row 4's refused attempt never left
  EXPECT_EQ(report.refused_at_gate, 1);
  ASSERT_EQ(report.violations.size(), 1u);
  const Violation& v = report.violations[0];
  EXPECT_EQ(v.seq, 7);
  EXPECT_EQ(v.id, rows[6].id);
  EXPECT_EQ(v.data_class, 4);
  EXPECT_EQ(v.attempt, 1);
  EXPECT_EQ(v.hop, (EgressHop{"openai", "external", 2, "ok"}));

  auto group = [&](int64_t cls, std::string_view zone,
                   std::string_view provider) -> ResidencyGroup {
    for (const ResidencyGroup& g : report.groups) {
      if (g.data_class == cls && g.zone == zone && g.provider == provider) return g;
    }
    ADD_FAILURE() << "no group " << cls << "/" << zone << "/" << provider;
    return {};
  };
  EXPECT_EQ(group(1, "external", "openai").requests, 2);  // rows 1 and 3
  EXPECT_EQ(group(1, "external", "openai").none, 2);
  EXPECT_EQ(group(1, "external", "openai").max_data_class, 2);
  EXPECT_EQ(group(1, "(none)", "openai").other, 1);  // row 8: no residency facts
  EXPECT_EQ(group(2, "external", "openai").requests, 1);
  EXPECT_EQ(group(4, "self_hosted", "local").route, 1);
  EXPECT_EQ(group(4, "self_hosted", "local").max_data_class, 5);
  EXPECT_EQ(group(3, "external", "openai").redact, 1);
  EXPECT_EQ(group(5, "(none)", "(none)").block, 1);
  EXPECT_EQ(group(4, "external", "openai").none, 1);
  EXPECT_EQ(report.groups.size(), 7u);
  int64_t total = 0;
  for (const ResidencyGroup& g : report.groups) total += g.requests;
  EXPECT_EQ(total, 8);
  // Ordered by class, then zone and provider.
  for (size_t i = 1; i < report.groups.size(); ++i) {
    EXPECT_LE(report.groups[i - 1].data_class, report.groups[i].data_class);
  }

  const std::string table = RenderAuditTable(report);
  EXPECT_NE(table.find("1 VIOLATION: "), std::string::npos) << table;
  EXPECT_NE(table.find("seq 7 (id " + rows[6].id +
                       ", 2023-11-14 22:13:27 UTC): data class 4 sent to openai (external, "
                       "max_data_class 2), attempt 1: ok"),
            std::string::npos)
      << table;
  const boost::json::value json = boost::json::parse(RenderAuditJson(report));
  EXPECT_EQ(json.at("verdict").as_string(), "violations");
  EXPECT_EQ(json.at("violations").as_array().size(), 1u);
  EXPECT_EQ(json.at("violations").at(0).at("seq").as_int64(), 7);
  EXPECT_EQ(json.at("groups").as_array().size(), report.groups.size());

  rows.erase(rows.begin() + 6);
  const AuditReport clean = Audit(rows);
  EXPECT_TRUE(clean.violations.empty());
  const std::string text = RenderAuditTable(clean);
  EXPECT_NE(text.find("no violations: no request reached a provider whose max_data_class was "
                      "below its data class (6 requests, 6 upstream attempts checked, 1 refused "
                      "at the egress gate; 1 rows predate residency facts and were not checked)"),
            std::string::npos)
      << text;
  EXPECT_EQ(boost::json::parse(RenderAuditJson(clean)).at("verdict").as_string(), "no violations");
}

// Every attempt is checked, not only the one that answered: a fallback that went somewhere it
// should not have counts even though another provider answered in the end.
TEST(AuditTest, AFailedAttemptToTheWrongZoneIsAViolationToo) {
  const Row r = ResidencyRow(1, 3, "local", "self_hosted", 5, "none",
                             "openai:external:2:upstream_timeout;local:self_hosted:5:ok");
  const AuditReport report = Audit({&r, 1});
  ASSERT_EQ(report.violations.size(), 1u);
  EXPECT_EQ(report.violations[0].attempt, 1);
  EXPECT_EQ(report.violations[0].hop.result, "upstream_timeout");
}

// A row without a trail but with an answering provider (hand-written) is checked against the
// provider columns; an unknown ceiling does not pass as allowed.
TEST(AuditTest, RowsWithoutATrailAreCheckedAgainstTheirProvider) {
  const std::vector<Row> rows = {
      ResidencyRow(1, 4, "openai", "external", 2, "none", ""),
      ResidencyRow(2, 1, "openai", "external", 2, "none", ""),
      ResidencyRow(3, 1, "mystery", "external", 0, "none", ""),
  };
  const AuditReport report = Audit(rows);
  ASSERT_EQ(report.violations.size(), 2u);
  EXPECT_EQ(report.violations[0].seq, 1);
  EXPECT_EQ(report.violations[1].seq, 3);
}

}  // namespace
}  // namespace hybridgate::ledger
