#include "limits/cli.h"

#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>

#include "common/cli_testing.h"
#include "limits/keys.h"

namespace hybridgate::limits {
namespace {

using RunResult = cli_testing::CliRun;

RunResult RunKeys(const std::string& command_line) {
  return cli_testing::Run([](CLI::App& app, int& code) { AddKeysCommand(app, code); },
                          command_line);
}

std::string FreshDb(const std::string& name) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::filesystem::remove(path);
  return path;
}

TEST(KeysCli, CreateListRevoke) {
  const std::string db = FreshDb("cli_keys.db");
  RunResult r = RunKeys("keys create --db " + db +
                        " --team research --name bot --budget 100usd/month --rpm 60 --tpm 5000 "
                        "--models gpt-4o,llama-3 --max-data-class 3");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string secret = r.out.substr(0, r.out.find('\n'));
  ASSERT_TRUE(secret.starts_with("hg-")) << r.out;
  EXPECT_NE(r.err.find("shown once"), std::string::npos);

  auto store = KeyStore::Open(db);
  ASSERT_TRUE(store);
  auto key = (*store)->Lookup(secret);
  ASSERT_TRUE(key);
  EXPECT_EQ((*key)->rpm, 60);
  EXPECT_EQ((*key)->models.size(), 2u);
  ASSERT_TRUE((*key)->budget);
  EXPECT_DOUBLE_EQ((*key)->budget->usd, 100);

  r = RunKeys("keys list --db " + db);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find((*key)->id), std::string::npos);
  EXPECT_NE(r.out.find("100usd/month"), std::string::npos);
  EXPECT_NE(r.out.find("gpt-4o,llama-3"), std::string::npos);
  EXPECT_EQ(r.out.find(secret), std::string::npos);
  EXPECT_EQ(r.out.find(secret.substr(3, 8)), std::string::npos);

  r = RunKeys("keys team --db " + db + " --team research --budget 500usd/month");
  ASSERT_EQ(r.exit_code, 0) << r.err;

  r = RunKeys("keys revoke --db " + db + " " + (*key)->id);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE((*store)->Reload());
  EXPECT_FALSE((*store)->Lookup(secret));
  r = RunKeys("keys list --db " + db);
  EXPECT_EQ(r.out.find((*key)->id), std::string::npos);
  r = RunKeys("keys list --all --db " + db);
  EXPECT_NE(r.out.find("revoked"), std::string::npos);
  EXPECT_NE(r.out.find("team research: budget 500usd/month"), std::string::npos);
}

TEST(KeysCli, ConfigFileNamesTheDatabase) {
  const std::string dir = ::testing::TempDir() + "/cli_cfg";
  std::filesystem::create_directories(dir);
  std::filesystem::remove(dir + "/k.db");
  std::ofstream(dir + "/gw.yaml") << "listen: 0.0.0.0:8080\nlimits:\n  keys_db: k.db\n";
  RunResult r = RunKeys("keys create --team t --config " + dir + "/gw.yaml");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::filesystem::exists(dir + "/k.db"));

  std::ofstream(dir + "/bad.yaml") << "limits:\n  keys_dbb: k.db\n";
  r = RunKeys("keys list --config " + dir + "/bad.yaml");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("bad.yaml:2: 'limits.keys_dbb': unknown key"), std::string::npos) << r.err;
}

TEST(KeysCli, BadInputExitsNonZero) {
  const std::string db = FreshDb("cli_bad.db");
  RunResult r = RunKeys("keys create --db " + db + " --team t --budget 100eur/month");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("bad budget '100eur/month'"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());

  r = RunKeys("keys create --team t");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--db or --config"), std::string::npos) << r.err;

  r = RunKeys("keys create --db " + db + " --team t --rpm -3");
  EXPECT_EQ(r.exit_code, 100);  // CLI11 rejects it during parsing

  r = RunKeys("keys revoke --db " + db + " key_000000000000");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no key with id"), std::string::npos);

  r = RunKeys("keys create --db " + db + " --team t --min-data-class 4 --max-data-class 2");
  EXPECT_EQ(r.exit_code, 2);
}

}  // namespace
}  // namespace hybridgate::limits
