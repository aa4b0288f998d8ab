// The dashboard in Debian's Chromium (tests/browser/dashboard.mjs, through playwright-core) after
// known traffic through the real binary: self-hosted and external answers, fallbacks, streams,
// redacted and blocked requests. What the Overview and Data-protection pages show equals
// `hybridgate report --format json` and `hybridgate audit --format json` over the same ledger;
// without the admin key the pages and the data API answer 401; no console errors. Screenshots
// of each page go to dashboard_ui_output/ beside the test binary.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "tests/support/fake_upstream.h"
#include "tests/support/gateway_process.h"
#include "tests/support/scratch.h"

namespace hybridgate::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr char kAdminKey[] = "dashboard-admin-key-5f1c";

std::string Chat(const std::string& model, const std::string& text, bool stream = false) {
  json::object body{{"model", model},
                    {"messages", json::array{json::object{{"role", "user"}, {"content", text}}}}};
  if (stream) body["stream"] = true;
  return json::serialize(body);
}

std::string SourceDir() {
  const char* s = std::getenv("HYBRIDGATE_SOURCE_DIR");
  return s ? s : ".";
}

double Num(const json::value& v) { return v.is_double() ? v.as_double() : v.to_number<double>(); }

TEST(DashboardUi, PagesShowWhatTheCliReportsAndNeedTheAdminKey) {
  Scratch s("hg-dashboard");
  // Self-hosted: fails a prompt holding "FAIL" (so it falls back to the external tier), streams
  // when asked. External: priced, so that cost is not zero.
  FakeUpstream local([](const Recorded& r) {
    if (r.body.find("FAIL") != std::string::npos) return Action{.status = 503, .body = "{}"};
    if (r.body.find(R"("stream":true)") != std::string::npos) {
      return Action{.content_type = "text/event-stream",
                    .chunks = ChatStreamChunks({"one ", "two"}, "llama")};
    }
    return Action{.body = ChatCompletionJson("local answer", "llama", 40, 10)};
  });
  FakeUpstream cloud([](const Recorded&) {
    return Action{.body = ChatCompletionJson("cloud", "gpt-4o", 1200, 300)};
  });
  setenv("HG_DASHBOARD_ADMIN_KEY", kAdminKey, 1);
  const std::string config =
      "providers:\n"
      "  - {name: local, type: openai, base_url: '" +
      local.base_url() +
      "', zone: self_hosted, models: [{name: llama}]}\n"
      "  - {name: cloud, type: openai, base_url: '" +
      cloud.base_url() +
      "', zone: external, max_data_class: 2, models: [{name: gpt-4o, input_per_mtok: 2.5, "
      "output_per_mtok: 10}]}\n"
      "routes:\n"
      "  chat:\n"
      "    tiers:\n"
      "      - {name: local, deployments: [llama]}\n"
      "      - {name: frontier, deployments: [gpt-4o]}\n"
      "residency: {actions: {3: redact, 4: block, 5: block}}\n"
      "ledger: {path: '" +
      s.Path("ledger.db") +
      "', flush_interval_ms: 20}\n"
      "limits: {auth_required: true, keys_db: '" +
      s.Path("keys.db") + "', admin_key_env: HG_DASHBOARD_ADMIN_KEY}\n";
  std::ofstream(s.Path("gw.yaml")) << config;
  GatewayProcess gw(config);
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient c(gw.port());
  const std::map<std::string, std::string> admin = {
      {"authorization", std::string("Bearer ") + kAdminKey}};
  auto create_key = [&](const std::string& spec) {
    auto r = c.Request("POST", "/admin/keys", spec, admin);
    EXPECT_EQ(r.status, 201) << r.body;
    return "Bearer " + std::string(json::parse(r.body).at("key").as_string());
  };
  const std::string alpha = create_key(R"({"team":"blue","name":"alpha","budget":"5usd/day"})");
  const std::string tight = create_key(R"({"team":"red","name":"tight","rpm":1})");
  int sent = 0;
  auto send_as = [&](const std::string& key, const std::string& body) {
    ++sent;
    return c.Request("POST", "/v1/chat/completions", body, {{"authorization", key}});
  };
  auto send = [&](const std::string& body) { return send_as(alpha, body); };
  // The tight key's second request in the minute is refused; a request without a key too.
  EXPECT_EQ(send_as(tight, Chat("chat", "hello there")).status, 200);
  EXPECT_EQ(send_as(tight, Chat("chat", "hello again")).status, 429);
  EXPECT_EQ(send_as("", Chat("chat", "who am I")).status, 401);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(send(Chat("chat", "hello there")).status, 200);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(send(Chat("gpt-4o", "a question for the frontier")).status, 200);
  for (int i = 0; i < 2; ++i) {
    auto r = send(Chat("chat", "FAIL then fall back"));
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.headers["x-hybridgate-provider"], "cloud");
  }
  for (int i = 0; i < 2; ++i) {
    auto r = send(Chat("chat", "stream please", true));
    EXPECT_EQ(r.status, 200) << r.body;
  }
  // Personal data to the external model: redacted on the way out.
  for (int i = 0; i < 2; ++i) {
    auto r = send(Chat("gpt-4o", "write to jane.doe@example.com about the invoice"));
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.headers.count("x-hybridgate-redacted"), 1u) << r.body;
  }
  // A card number to the external model: blocked.
  auto blocked = send(Chat("gpt-4o", "charge card 4111 1111 1111 1111 now"));
  EXPECT_EQ(blocked.status, 403) << blocked.body;
  for (const Recorded& r : cloud.requests("")) {
    EXPECT_EQ(r.body.find("jane.doe@example.com"), std::string::npos);
    EXPECT_EQ(r.body.find("4111 1111"), std::string::npos);
  }

  // The CLI's view of the same ledger, once every row is written.
  const std::string cli = "'" + BinaryPath() + "' ";
  json::value report;
  ASSERT_TRUE(FakeUpstream::WaitFor(
      [&] {
        int status = 0;
        const std::string out = Shell(cli + "report --config '" + s.Path("gw.yaml") +
                                          "' --since 24h --by tier --format json 2>/dev/null",
                                      &status);
        if (status != 0) return false;
        report = json::parse(out);
        return report.at("total").at("requests").as_int64() == sent;
      },
      10s))
      << "the ledger never held " << sent << " rows";
  int status = 0;
  const json::value audit = json::parse(
      Shell(cli + "audit --config '" + s.Path("gw.yaml") + "' --since 24h --format json", &status));
  EXPECT_EQ(status, 0);

  // The browser.
  const std::filesystem::path out = std::filesystem::absolute("dashboard_ui_output");
  std::filesystem::remove_all(out);
  std::filesystem::create_directories(out);
  const std::string node = "cd '" + SourceDir() + "/tests/browser' && HG_URL=http://127.0.0.1:" +
                           std::to_string(gw.port()) + " HG_ADMIN_KEY=" + kAdminKey + " HG_OUT='" +
                           out.string() + "' timeout 120 node dashboard.mjs 2>&1";
  const std::string log = Shell(node, &status);
  ASSERT_EQ(status, 0) << log;
  std::ifstream in(out / "shown.json");
  const json::value shown = json::parse(std::string(std::istreambuf_iterator<char>(in), {}));
  std::printf("dashboard screenshots: %s\n", out.string().c_str());

  const auto& st = shown.at("statuses");
  EXPECT_EQ(st.at("ui_without_key"), 401);
  EXPECT_EQ(st.at("login_form_shown"), 1);
  EXPECT_EQ(st.at("api_without_key"), 401);
  EXPECT_EQ(st.at("wrong_key"), 401);
  EXPECT_EQ(st.at("wrong_key_note"), "That is not the admin key.");
  EXPECT_EQ(std::string(st.at("after_login").as_string()),
            "http://127.0.0.1:" + std::to_string(gw.port()) + "/ui/");
  EXPECT_EQ(st.at("key_in_storage"), false);
  EXPECT_EQ(st.at("focused_after_tabs"), "Data protection");
  EXPECT_LE(st.at("phone_overflow").as_int64(), 0);
  EXPECT_EQ(st.at("after_logout"), 401);
  EXPECT_EQ(st.at("copied_cookie_before_logout"), 200);
  EXPECT_EQ(st.at("copied_cookie_after_logout"), 401);
  EXPECT_EQ(shown.at("console_errors").as_array().size(), 0u) << shown.at("console_errors");
  // Signed out, the only console lines are the 401s themselves.
  for (const auto& line : shown.at("signed_out_console").as_array()) {
    EXPECT_NE(std::string(line.as_string()).find("status of 401"), std::string::npos) << line;
  }

  // Overview = report.
  const auto& ov = shown.at("pages").at("overview");
  const auto& m = ov.at("metrics");
  const auto& total = report.at("total");
  EXPECT_EQ(Num(m.at("requests").at("value")), Num(total.at("requests")));
  EXPECT_EQ(Num(m.at("total_tokens").at("value")), Num(total.at("total_tokens")));
  EXPECT_NEAR(Num(m.at("cost_usd").at("value")), Num(total.at("cost_usd")), 1e-12);
  EXPECT_GT(Num(m.at("cost_usd").at("value")), 0);
  EXPECT_NEAR(Num(m.at("usd_per_mtok").at("value")), Num(total.at("usd_per_mtok")), 1e-9);
  EXPECT_EQ(Num(m.at("p50_latency_ms").at("value")), Num(total.at("p50_latency_ms")));
  EXPECT_EQ(Num(m.at("p95_latency_ms").at("value")), Num(total.at("p95_latency_ms")));
  EXPECT_EQ(Num(m.at("errors").at("value")), Num(total.at("errors")));
  EXPECT_EQ(Num(m.at("fallbacks").at("value")), Num(total.at("fallbacks")));
  EXPECT_EQ(Num(m.at("fallbacks").at("value")), 2);
  EXPECT_EQ(Num(m.at("escalations").at("value")), Num(total.at("escalations")));
  EXPECT_NEAR(Num(m.at("spend_today").at("value")), Num(total.at("cost_usd")), 1e-12);
  EXPECT_EQ(std::string(m.at("requests").at("text").as_string()), std::to_string(sent));
  std::map<std::string, const json::value*> tiers;
  for (const auto& g : report.at("groups").as_array())
    tiers[std::string(g.at("name").as_string())] = &g;
  const auto& by_tier = ov.at("tables").at("by-tier").as_array();
  EXPECT_EQ(by_tier.size(), tiers.size());
  for (const auto& row : by_tier) {
    const std::string name(row.at("name").as_string());
    ASSERT_TRUE(tiers.count(name)) << name;
    EXPECT_EQ(Num(row.at("requests")), Num(tiers[name]->at("requests"))) << name;
    EXPECT_NEAR(Num(row.at("cost_usd")), Num(tiers[name]->at("cost_usd")), 1e-12) << name;
    EXPECT_EQ(Num(row.at("total_tokens")), Num(tiers[name]->at("total_tokens"))) << name;
  }
  EXPECT_EQ(ov.at("charts"), 2);

  // Data protection = audit.
  const auto& pr = shown.at("pages").at("protection");
  std::map<int64_t, std::array<int64_t, 5>> want;  // requests, none, route, redact, block
  for (const auto& g : audit.at("groups").as_array()) {
    auto& w = want[g.at("data_class").as_int64()];
    w[0] += g.at("requests").as_int64();
    const auto& a = g.at("actions");
    w[1] += a.at("none").as_int64();
    w[2] += a.at("route").as_int64();
    w[3] += a.at("redact").as_int64();
    w[4] += a.at("block").as_int64();
  }
  std::array<int64_t, 5> sums{};
  for (const auto& [k, w] : want) {
    for (size_t i = 0; i < w.size(); ++i) sums[i] += w[i];
  }
  const auto& pm = pr.at("metrics");
  EXPECT_EQ(Num(pm.at("protection_requests").at("value")), sums[0]);
  EXPECT_EQ(Num(pm.at("action_none").at("value")), sums[1]);
  EXPECT_EQ(Num(pm.at("action_route").at("value")), sums[2]);
  EXPECT_EQ(Num(pm.at("action_redact").at("value")), sums[3]);
  EXPECT_EQ(Num(pm.at("action_block").at("value")), sums[4]);
  EXPECT_EQ(sums[3], 2);  // the two e-mails
  EXPECT_EQ(sums[4], 1);  // the card
  const auto& classes = pr.at("tables").at("by-class").as_array();
  EXPECT_EQ(classes.size(), want.size());
  for (const auto& row : classes) {
    const auto k = static_cast<int64_t>(Num(row.at("data_class")));
    EXPECT_EQ(Num(row.at("requests")), want[k][0]) << k;
    EXPECT_EQ(Num(row.at("redact")), want[k][3]) << k;
    EXPECT_EQ(Num(row.at("block")), want[k][4]) << k;
  }
  EXPECT_EQ(Num(pm.at("violations").at("value")), audit.at("violations").as_array().size());
  EXPECT_EQ(Num(pm.at("class3_external").at("value")), 0);
  EXPECT_TRUE(std::string(pr.at("verdict").as_string())
                  .starts_with("0 class ≥ 3 requests reached an external provider in this window"))
      << pr.at("verdict");
  // Finding types are named; the values never reach the page.
  std::set<std::string> types;
  for (const auto& f : pr.at("tables").at("findings").as_array())
    types.insert(std::string(f.at("type").as_string()));
  EXPECT_TRUE(types.count("email")) << shown;
  EXPECT_EQ(json::serialize(shown).find("jane.doe"), std::string::npos);
  // Keys & budgets = report --by key; the budget's spend is today's; the refusals are counted.
  int status_keys = 0;
  const json::value by_key = json::parse(
      Shell(cli + "report --config '" + s.Path("gw.yaml") + "' --since 24h --by key --format json",
            &status_keys));
  EXPECT_EQ(status_keys, 0);
  std::map<std::string, const json::value*> want_keys;
  for (const auto& g : by_key.at("groups").as_array()) {
    want_keys[std::string(g.at("name").as_string())] = &g;
  }
  const auto& kp = shown.at("pages").at("keys");
  const auto& key_rows = kp.at("tables").at("keys").as_array();
  EXPECT_EQ(key_rows.size(), want_keys.size()) << kp;  // alpha, tight and "(none)"
  for (const auto& row : key_rows) {
    const std::string name(row.at("key").as_string());
    ASSERT_TRUE(want_keys.count(name)) << name;
    EXPECT_EQ(Num(row.at("requests")), Num(want_keys[name]->at("requests"))) << name;
    EXPECT_NEAR(Num(row.at("cost_usd")), Num(want_keys[name]->at("cost_usd")), 1e-12) << name;
    if (name == "alpha") {
      EXPECT_NEAR(Num(row.at("spent_usd")), Num(want_keys[name]->at("cost_usd")), 1e-12);
      EXPECT_EQ(row.at("team"), "blue");
    }
    if (name == "tight") {
      EXPECT_EQ(Num(row.at("rate_limited")), 1);
    }
  }
  const auto& km = kp.at("metrics");
  EXPECT_EQ(Num(km.at("rejected_rate_limited").at("value")), 1);
  EXPECT_EQ(Num(km.at("rejected_unauthenticated").at("value")), 1);
  EXPECT_EQ(kp.at("tables").at("teams").as_array().size(), 2u);
  EXPECT_EQ(json::serialize(shown).find(alpha.substr(7)), std::string::npos)
      << "a key's secret reached a page";

  for (const char* png :
       {"login.png", "overview.png", "protection.png", "keys.png", "overview-phone.png"}) {
    EXPECT_GT(std::filesystem::file_size(out / png), 10'000u) << png;
  }

  // The data API by script: Bearer works, a bad window is a 400 naming the forms, POST is 405.
  auto api = c.Request("GET", "/admin/api/overview?window=7d", "", admin);
  EXPECT_EQ(api.status, 200) << api.body;
  EXPECT_EQ(json::parse(api.body).at("totals").at("requests").as_int64(), sent);
  EXPECT_EQ(json::parse(api.body).at("totals").at("streamed_requests").as_int64(), 2);
  EXPECT_EQ(json::parse(api.body).at("computed_from"), "memory");
  // Beyond the 30 days held in memory the ledger's SQL answers, with the same numbers.
  auto long_window = c.Request("GET", "/admin/api/overview?window=60d", "",
                               {{"authorization", std::string("Bearer ") + kAdminKey}});
  ASSERT_EQ(long_window.status, 200) << long_window.body;
  const json::value from_sql = json::parse(long_window.body);
  EXPECT_EQ(from_sql.at("computed_from"), "ledger");
  EXPECT_EQ(from_sql.at("totals").at("requests").as_int64(), sent);
  EXPECT_NEAR(Num(from_sql.at("totals").at("cost_usd")), Num(total.at("cost_usd")), 1e-12);
  EXPECT_EQ(from_sql.at("totals").at("p95_latency_ms"), total.at("p95_latency_ms"));
  auto bad = c.Request("GET", "/admin/api/overview?window=forever", "",
                       {{"authorization", std::string("Bearer ") + kAdminKey}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("15m, 24h, 7d or 30d"), std::string::npos) << bad.body;
  auto post = c.Request("POST", "/admin/api/overview", "{}",
                        {{"authorization", std::string("Bearer ") + kAdminKey}});
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(post.headers["allow"], "GET");
  // The scheme is case-insensitive.
  EXPECT_EQ(c.Request("GET", "/admin/api/protection", "",
                      {{"authorization", std::string("bearer ") + kAdminKey}})
                .status,
            200);
  auto forged =
      c.Request("GET", "/admin/api/overview", "", {{"cookie", "hg_ui_session=99999999999.00"}});
  EXPECT_EQ(forged.status, 401);
  EXPECT_EQ(gw.Stop(), 0) << gw.Log();
}

}  // namespace
}  // namespace hybridgate::testing
