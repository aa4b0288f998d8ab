#include "limits/keys.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace hybridgate::limits {
namespace {

std::string FreshDb(const std::string& name) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::filesystem::remove(path);
  return path;
}

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(KeyStore, CreateLookupRevoke) {
  auto store = KeyStore::Open(FreshDb("keys_basic.db"));
  ASSERT_TRUE(store) << store.error().message;
  KeySpec spec;
  spec.team = "research";
  spec.name = "notebook";
  spec.budget = Budget{100, BudgetWindow::kMonth};
  spec.rpm = 60;
  spec.tpm = 10000;
  spec.models = {"gpt-4o", "llama-3"};
  spec.max_data_class = 3;
  auto created = (*store)->Create(spec);
  ASSERT_TRUE(created) << created.error().message;
  EXPECT_TRUE(created->secret.starts_with("hg-"));
  EXPECT_EQ(created->secret.size(), 35u);
  EXPECT_TRUE(created->info.id.starts_with("key_"));

  auto found = (*store)->Lookup(created->secret);
  ASSERT_TRUE(found) << found.error().message;
  const KeyInfo& k = **found;
  EXPECT_EQ(k.id, created->info.id);
  EXPECT_EQ(k.team, "research");
  EXPECT_EQ(k.name, "notebook");
  ASSERT_TRUE(k.budget);
  EXPECT_DOUBLE_EQ(k.budget->usd, 100);
  EXPECT_EQ(k.budget->window, BudgetWindow::kMonth);
  EXPECT_EQ(k.rpm, 60);
  EXPECT_EQ(k.tpm, 10000);
  EXPECT_EQ(k.models, (std::vector<std::string>{"gpt-4o", "llama-3"}));
  EXPECT_EQ(k.max_data_class, 3);
  EXPECT_TRUE(k.AllowsModel("llama-3"));
  EXPECT_FALSE(CheckModelAllowed(k, "claude").has_value());
  EXPECT_EQ(CheckDataClass(k, 4).error().code, ErrorCode::kPolicyBlocked);
  EXPECT_TRUE(CheckDataClass(k, 3).has_value());

  // A wrong secret of the right shape, and a malformed one.
  std::string wrong = created->secret;
  wrong.back() = wrong.back() == 'A' ? 'B' : 'A';
  EXPECT_EQ((*store)->Lookup(wrong).error().code, ErrorCode::kUnauthenticated);
  // `wrong` shares the per-thread digest memo's slot with the real secret: alternating them must
  // neither admit the wrong one nor evict the real one into failure.
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE((*store)->Lookup(created->secret));
    EXPECT_FALSE((*store)->Lookup(wrong));
  }
  EXPECT_EQ((*store)->Lookup("sk-openai").error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ((*store)->Lookup("").error().code, ErrorCode::kUnauthenticated);

  ASSERT_TRUE((*store)->Revoke(k.id));
  auto revoked = (*store)->Lookup(created->secret);
  ASSERT_FALSE(revoked);
  EXPECT_EQ(revoked.error().code, ErrorCode::kUnauthenticated);
  EXPECT_NE(revoked.error().message.find("revoked"), std::string::npos);
  EXPECT_EQ((*store)->Revoke("key_nope").error().code, ErrorCode::kNotFound);

  auto active = (*store)->List(false);
  ASSERT_TRUE(active);
  EXPECT_TRUE(active->empty());
  auto all = (*store)->List(true);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 1u);
  EXPECT_TRUE((*all)[0].revoked);
}

TEST(KeyStore, OnlyTheHashIsStored) {
  const std::string path = FreshDb("keys_hash.db");
  std::string secret, hash;
  {
    auto store = KeyStore::Open(path);
    ASSERT_TRUE(store);
    auto created = (*store)->Create(KeySpec{.team = "t"});
    ASSERT_TRUE(created);
    secret = created->secret;
    hash = HashSecret(secret);
  }
  std::string bytes;
  for (const auto& entry : std::filesystem::directory_iterator(::testing::TempDir())) {
    if (entry.path().filename().string().starts_with("keys_hash.db")) {
      bytes += ReadBytes(entry.path().string());
    }
  }
  ASSERT_FALSE(bytes.empty());
  EXPECT_EQ(bytes.find(secret), std::string::npos);
  EXPECT_EQ(bytes.find(secret.substr(3)), std::string::npos);
  EXPECT_NE(bytes.find(hash), std::string::npos);
}

TEST(KeyStore, SecretsAreUnique) {
  auto store = KeyStore::Open(FreshDb("keys_unique.db"));
  ASSERT_TRUE(store);
  std::set<std::string> secrets, ids;
  for (int i = 0; i < 50; ++i) {
    auto c = (*store)->Create(KeySpec{.team = "t"});
    ASSERT_TRUE(c);
    secrets.insert(c->secret);
    ids.insert(c->info.id);
  }
  EXPECT_EQ(secrets.size(), 50u);
  EXPECT_EQ(ids.size(), 50u);
  EXPECT_EQ((*store)->size(), 50u);
}

TEST(KeyStore, AnotherProcessSeesKeysAfterReload) {
  const std::string path = FreshDb("keys_shared.db");
  auto gateway = KeyStore::Open(path);
  auto cli = KeyStore::Open(path);
  ASSERT_TRUE(gateway && cli);
  auto created = (*cli)->Create(KeySpec{.team = "ops"});
  ASSERT_TRUE(created);
  EXPECT_FALSE((*gateway)->Lookup(created->secret));  // not yet: the snapshot is older
  ASSERT_TRUE((*gateway)->Reload());
  EXPECT_TRUE((*gateway)->Lookup(created->secret));

  ASSERT_TRUE((*cli)->SetTeamBudget("ops", Budget{50, BudgetWindow::kDay}));
  ASSERT_TRUE((*gateway)->Reload());
  auto k = (*gateway)->Lookup(created->secret);
  ASSERT_TRUE(k);
  ASSERT_TRUE((*k)->team_budget);
  EXPECT_DOUBLE_EQ((*k)->team_budget->usd, 50);
  EXPECT_EQ((*k)->team_budget->window, BudgetWindow::kDay);

  ASSERT_TRUE((*cli)->Revoke(created->info.id));
  EXPECT_TRUE((*gateway)->Lookup(created->secret));
  ASSERT_TRUE((*gateway)->Reload());
  EXPECT_FALSE((*gateway)->Lookup(created->secret));
}

TEST(KeyStore, RejectsBadSpecs) {
  auto store = KeyStore::Open(FreshDb("keys_bad.db"));
  ASSERT_TRUE(store);
  EXPECT_EQ((*store)->Create(KeySpec{}).error().code, ErrorCode::kInvalidRequest);
  EXPECT_FALSE((*store)->Create(KeySpec{.team = "t", .rpm = -1}));
  EXPECT_FALSE((*store)->Create(KeySpec{.team = "t", .max_data_class = 7}));
  EXPECT_FALSE((*store)->Create(KeySpec{.team = "t", .max_data_class = 2, .min_data_class = 3}));
  EXPECT_FALSE(KeyStore::Open("/nonexistent-dir/x/keys.db"));
}

TEST(KeyStore, ConcurrentLookupsDuringReloads) {
  auto store = KeyStore::Open(FreshDb("keys_concurrent.db"));
  ASSERT_TRUE(store);
  std::vector<std::string> secrets;
  for (int i = 0; i < 20; ++i) secrets.push_back((*store)->Create(KeySpec{.team = "t"})->secret);
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0}, lookups{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&, t] {
      for (int i = 0; !stop.load() || i < 2000; ++i) {
        auto k = (*store)->Lookup(secrets[(i + t) % secrets.size()]);
        if (!k || (*k)->team != "t") failures.fetch_add(1);
        lookups.fetch_add(1);
        if (i > 200000) break;
      }
    });
  }
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE((*store)->Reload());
    ASSERT_TRUE((*store)->Create(KeySpec{.team = "other"}));
  }
  stop = true;
  for (auto& r : readers) r.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GE(lookups.load(), 8000);
}

TEST(Secrets, MatchIsExact) {
  EXPECT_TRUE(SecretMatches("admin-secret", "admin-secret"));
  EXPECT_FALSE(SecretMatches("admin-secreT", "admin-secret"));
  EXPECT_FALSE(SecretMatches("", ""));
  EXPECT_EQ(HashSecret("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace hybridgate::limits
