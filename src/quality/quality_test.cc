#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include <cstdio>
#include <string>

#include "common/clock.h"
#include "ledger/testing/pg_cluster.h"
#include "quality/comparison.h"
#include "quality/store.h"

namespace hybridgate::quality {
namespace {

Comparison Make(int data_class, const std::string& primary, const std::string& shadow) {
  Comparison c;
  c.request_id = "hg-1";
  c.time_ms = 1'700'000'000'000;
  c.route = "support";
  c.data_class = data_class;
  c.primary = {.deployment = "cloud/gpt-4o",
               .ok = true,
               .text = primary,
               .finish_reason = "stop",
               .latency_ms = 120,
               .input_tokens = 10,
               .output_tokens = 5,
               .cost_usd = 0.001};
  c.shadow = {.deployment = "local/llama",
              .ok = true,
              .text = shadow,
              .finish_reason = "stop",
              .latency_ms = 80,
              .input_tokens = 10,
              .output_tokens = 6,
              .cost_usd = 0.0001};
  return c;
}

TEST(Comparators, ReadOpenAiAnswerTakesTheFirstChoice) {
  AnswerFacts a;
  ReadOpenAiAnswer(
      R"({"choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"length"}]})",
      a);
  EXPECT_EQ(a.text, "hi");
  EXPECT_EQ(a.finish_reason, "length");
}

TEST(TextHasher, IsHmacSha256UnderTheKeyAndRandomWithoutOne) {
  // RFC 4231, test case 1: key 0x0b x 20, data "Hi There".
  EXPECT_EQ(TextHasher(std::string(20, '\x0b')).Hex("Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  // A 9-digit SSN's hash is not its SHA-256 (which every candidate's hash would find).
  EXPECT_NE(TextHasher("k").Hex("078051120"), Sha256Hex("078051120"));
  EXPECT_EQ(TextHasher("k").Hex("078051120"), TextHasher("k").Hex("078051120"));
  EXPECT_NE(TextHasher("").Hex("078051120"), TextHasher("").Hex("078051120"));
  EXPECT_EQ(TextHasher("k").Hex(""), "");  // nothing withheld
  EXPECT_FALSE(Withheld("", TextHasher("k").Hex("")));
  EXPECT_TRUE(Withheld("", TextHasher("k").Hex("x")));
  EXPECT_FALSE(Withheld("", Sha256Hex("")));  // an older row's hash of nothing
}

TEST(ComparisonStore, AHashKeyVariableThatIsNotSetIsAnError) {
  auto store = ComparisonStore::Open(
      {.path = ::testing::TempDir() + "/hg_unused.db", .hash_key_env = "HG_NOT_SET_ANYWHERE"});
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().message,
            "quality.hash_key_env: the variable HG_NOT_SET_ANYWHERE is not set");
}

void RoundTrip(const StoreConfig& config, const std::string& source) {
  {
    auto store = ComparisonStore::Open(config);
    ASSERT_TRUE(store) << store.error().message;
    Comparison low = Make(1, "the same", "the same");
    low.scores.push_back({"exact", 1.0, "same text"});
    Comparison high = Make(4, "card 4111 1111 1111 1111", "card 4111111111111111");
    high.request_id = "hg-2";
    high.time_ms += 1;
    high.scores.push_back({"exact", 0.0, "different text"});
    EXPECT_TRUE((*store)->Save(low));
    EXPECT_TRUE((*store)->Save(high));
  }  // destruction writes what was queued
  auto rows = ComparisonStore::Load(source, 0);
  ASSERT_TRUE(rows) << rows.error().message;
  ASSERT_EQ(rows->size(), 2u);
  const Comparison& low = (*rows)[0].comparison;
  EXPECT_EQ(low.request_id, "hg-1");
  EXPECT_EQ(low.primary.text, "the same");
  EXPECT_EQ(low.shadow.deployment, "local/llama");
  EXPECT_EQ(low.shadow.output_tokens, 6);
  EXPECT_DOUBLE_EQ(low.primary.cost_usd, 0.001);
  ASSERT_EQ(low.scores.size(), 1u);
  EXPECT_EQ(low.scores[0].value, 1.0);
  // Above store_text_max_class: no text, only its hash and the scores.
  const StoredComparison& high = (*rows)[1];
  EXPECT_EQ(high.comparison.data_class, 4);
  EXPECT_EQ(high.comparison.primary.text, "");
  EXPECT_EQ(high.comparison.shadow.text, "");
  EXPECT_EQ(high.primary_sha256.size(), 64u);
  EXPECT_NE(high.primary_sha256, high.shadow_sha256);
  ASSERT_EQ(high.comparison.scores.size(), 1u);
  EXPECT_EQ(high.comparison.scores[0].value, 0.0);
}

TEST(ComparisonStore, SqliteKeepsTextsOnlyUpToTheirClass) {
  const std::string path = ::testing::TempDir() + "/hg_quality_store.db";
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  RoundTrip({.path = path}, path);
}

TEST(ComparisonStore, PostgresToo) {
  ledger::testing::PgCluster pg;
  ASSERT_TRUE(pg.started()) << pg.error();
  RoundTrip({.backend = "postgres", .dsn = pg.dsn()}, pg.dsn());
}

// What was asked is kept under the answers' rule: text up to store_text_max_class, else hashes.
void KeepsTheRequestLikeTheAnswers(const StoreConfig& config, const std::string& source) {
  {
    auto store = ComparisonStore::Open(config);
    ASSERT_TRUE(store) << store.error().message;
    Comparison low = Make(1, "a", "b");
    low.question = "what is 2+2?";
    low.request_json = R"({"model":"m","messages":[{"role":"user","content":"what is 2+2?"}]})";
    Comparison high = low;
    high.request_id = "hg-2";
    high.time_ms += 1;
    high.data_class = 3;
    high.question = "my card is 4111 1111 1111 1111";
    high.request_json = R"({"messages":[{"role":"user","content":"my card is 4111..."}]})";
    EXPECT_TRUE((*store)->Save(low));
    EXPECT_TRUE((*store)->Save(high));
  }
  auto rows = ComparisonStore::Load(source, 0);
  ASSERT_TRUE(rows) << rows.error().message;
  ASSERT_EQ(rows->size(), 2u);
  const StoredComparison& low = (*rows)[0];
  EXPECT_EQ(low.comparison.question, "what is 2+2?");
  EXPECT_EQ(low.comparison.request_json,
            R"({"model":"m","messages":[{"role":"user","content":"what is 2+2?"}]})");
  const TextHasher hasher(config.hash_key);
  EXPECT_EQ(low.question_sha256, hasher.Hex("what is 2+2?"));
  EXPECT_EQ(low.request_sha256, hasher.Hex(low.comparison.request_json));
  EXPECT_FALSE(Withheld(low.comparison.request_json, low.request_sha256));
  const StoredComparison& high = (*rows)[1];
  EXPECT_EQ(high.comparison.question, "");
  EXPECT_EQ(high.comparison.request_json, "");
  EXPECT_EQ(high.question_sha256, hasher.Hex("my card is 4111 1111 1111 1111"));
  EXPECT_NE(high.question_sha256, Sha256Hex("my card is 4111 1111 1111 1111"));
  EXPECT_EQ(high.request_sha256.size(), 64u);
  EXPECT_TRUE(Withheld(high.comparison.request_json, high.request_sha256));
  EXPECT_TRUE(Withheld(high.comparison.question, high.question_sha256));
}

TEST(ComparisonStore, KeepsTheRequestLikeTheAnswersSqlite) {
  const std::string path = ::testing::TempDir() + "/hg_quality_request.db";
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  KeepsTheRequestLikeTheAnswers({.path = path, .hash_key = "a test key"}, path);
}

TEST(ComparisonStore, KeepsTheRequestLikeTheAnswersPostgres) {
  ledger::testing::PgCluster pg;
  ASSERT_TRUE(pg.started()) << pg.error();
  KeepsTheRequestLikeTheAnswers({.backend = "postgres", .dsn = pg.dsn(), .hash_key = "a test key"},
                                pg.dsn());
}

// Past retention_days a row keeps its hashes and scores but not its texts; past
// scores_retention_days it goes.
void TextsExpireBeforeScores(const StoreConfig& config, const std::string& source) {
  const int64_t day = 86'400'000, now = UnixMs();
  const auto at = [&](const char* id, int64_t time_ms) {
    Comparison c = Make(1, "primary says", "shadow says");
    c.request_id = id;
    c.time_ms = time_ms;
    c.question = "what?";
    c.request_json = R"({"messages":[]})";
    c.scores.push_back({"exact", 0.25, "different text"});
    return c;
  };
  for (const auto& [id, age] : {std::pair{"hg-old", 40}, {"hg-ancient", 400}, {"hg-new", 1}}) {
    auto store = ComparisonStore::Open(config);
    ASSERT_TRUE(store) << store.error().message;
    EXPECT_TRUE((*store)->Save(at(id, now - age * day)));
  }  // each store purges once, before its first write: the next one purges what this wrote
  auto rows = ComparisonStore::Load(source, 0);
  ASSERT_TRUE(rows) << rows.error().message;
  ASSERT_EQ(rows->size(), 2u) << "the row past scores_retention_days is gone";
  const StoredComparison& old = (*rows)[0];
  EXPECT_EQ(old.comparison.request_id, "hg-old");
  EXPECT_EQ(old.comparison.primary.text, "");
  EXPECT_EQ(old.comparison.shadow.text, "");
  EXPECT_EQ(old.comparison.question, "");
  EXPECT_EQ(old.comparison.request_json, "");
  const TextHasher hasher(config.hash_key);
  EXPECT_EQ(old.primary_sha256, hasher.Hex("primary says"));
  EXPECT_EQ(old.question_sha256, hasher.Hex("what?"));
  ASSERT_EQ(old.comparison.scores.size(), 1u);
  EXPECT_EQ(old.comparison.scores[0].value, 0.25);
  EXPECT_EQ(old.comparison.primary.latency_ms, 120);
  EXPECT_EQ(old.comparison.shadow.output_tokens, 6);
  const StoredComparison& fresh = (*rows)[1];
  EXPECT_EQ(fresh.comparison.request_id, "hg-new");
  EXPECT_EQ(fresh.comparison.primary.text, "primary says");
  EXPECT_EQ(fresh.comparison.question, "what?");
}

TEST(ComparisonStore, TextsExpireBeforeScoresSqlite) {
  const std::string path = ::testing::TempDir() + "/hg_quality_retention.db";
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  TextsExpireBeforeScores(
      {.path = path, .retention_days = 30, .scores_retention_days = 365, .hash_key = "k"}, path);
}

TEST(ComparisonStore, TextsExpireBeforeScoresPostgres) {
  ledger::testing::PgCluster pg;
  ASSERT_TRUE(pg.started()) << pg.error();
  TextsExpireBeforeScores({.backend = "postgres",
                           .dsn = pg.dsn(),
                           .retention_days = 30,
                           .scores_retention_days = 365,
                           .hash_key = "k"},
                          pg.dsn());
}

// Long enough for the rows of 2023 these tests write not to be purged.
constexpr int64_t kForever = 100'000;

// The comparisons table as the first version created it, with one row.
constexpr const char* kFirstSchema =
    "CREATE TABLE comparisons (request_id TEXT NOT NULL, time_ms {int} NOT NULL, route TEXT NOT "
    "NULL, data_class {int} NOT NULL, wants_json {int} NOT NULL, schema TEXT NOT NULL, scores "
    "TEXT NOT NULL, primary_deployment TEXT NOT NULL, primary_ok {int} NOT NULL, "
    "primary_error_code TEXT NOT NULL, primary_text TEXT NOT NULL, primary_sha256 TEXT NOT NULL, "
    "primary_finish_reason TEXT NOT NULL, primary_latency_ms {int} NOT NULL, "
    "primary_input_tokens {int} NOT NULL, primary_output_tokens {int} NOT NULL, "
    "primary_cost_usd {real} NOT NULL, shadow_deployment TEXT NOT NULL, shadow_ok {int} NOT "
    "NULL, shadow_error_code TEXT NOT NULL, shadow_text TEXT NOT NULL, shadow_sha256 TEXT NOT "
    "NULL, shadow_finish_reason TEXT NOT NULL, shadow_latency_ms {int} NOT NULL, "
    "shadow_input_tokens {int} NOT NULL, shadow_output_tokens {int} NOT NULL, shadow_cost_usd "
    "{real} NOT NULL); INSERT INTO comparisons VALUES ('hg-old', 1700000000000, 'support', 1, 0, "
    "'', '[{\"comparator\":\"exact\",\"value\":1}]', 'cloud/gpt-4o', 1, '', 'same', 'x', "
    "'stop', 10, 1, 1, 0.5, 'local/llama', 1, '', 'same', 'y', 'stop', 5, 1, 1, 0.25)";

std::string FirstSchema(bool postgres) {
  std::string sql = kFirstSchema;
  for (auto [from, to] :
       {std::pair<std::string, std::string>{"{int}", postgres ? "BIGINT" : "INTEGER"},
        {"{real}", postgres ? "DOUBLE PRECISION" : "REAL"}}) {
    for (size_t at; (at = sql.find(from)) != std::string::npos;) sql.replace(at, from.size(), to);
  }
  return sql;
}

// An old store loads as it is (read-only: no question, no request), and opening it for writing
// adds the new columns, once, however often it is opened; old and new rows then load together.
void OpensAStoreOfTheFirstVersion(const StoreConfig& config, const std::string& source) {
  auto old = ComparisonStore::Load(source, 0);
  ASSERT_TRUE(old) << old.error().message;
  ASSERT_EQ(old->size(), 1u);
  EXPECT_EQ((*old)[0].comparison.request_id, "hg-old");
  EXPECT_EQ((*old)[0].comparison.shadow.cost_usd, 0.25);
  EXPECT_EQ((*old)[0].comparison.request_json, "");
  EXPECT_EQ((*old)[0].request_sha256, "");
  for (int i = 0; i < 2; ++i) {
    auto store = ComparisonStore::Open(config);
    ASSERT_TRUE(store) << store.error().message;
    Comparison c = Make(1, "new", "new");
    c.request_id = "hg-new-" + std::to_string(i);
    c.question = "q";
    c.request_json = "{}";
    EXPECT_TRUE((*store)->Save(c));
  }
  auto rows = ComparisonStore::Load(source, 0);
  ASSERT_TRUE(rows) << rows.error().message;
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ((*rows)[0].comparison.request_id, "hg-old");
  EXPECT_EQ((*rows)[0].comparison.primary.text, "same");
  EXPECT_EQ((*rows)[0].comparison.question, "");
  EXPECT_EQ((*rows)[0].question_sha256, "");
  EXPECT_EQ((*rows)[1].comparison.question, "q");
  EXPECT_EQ((*rows)[2].comparison.request_json, "{}");
  EXPECT_EQ((*rows)[2].request_sha256, TextHasher(config.hash_key).Hex("{}"));
}

TEST(ComparisonStore, OpensAStoreOfTheFirstVersionSqlite) {
  const std::string path = ::testing::TempDir() + "/hg_quality_v1.db";
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  ASSERT_EQ(sqlite3_exec(db, FirstSchema(false).c_str(), nullptr, nullptr, &err), SQLITE_OK)
      << (err ? err : "");
  sqlite3_close(db);
  OpensAStoreOfTheFirstVersion({.path = path, .retention_days = kForever, .hash_key = "k"}, path);
  // Each column was added once, at the end.
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db,
                               "SELECT group_concat(name, ',') FROM pragma_table_info("
                               "'comparisons') WHERE cid >= 27",
                               -1, &st, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, 0))),
            "question,question_sha256,request_json,request_sha256");
  sqlite3_finalize(st);
  sqlite3_close(db);
}

TEST(ComparisonStore, OpensAStoreOfTheFirstVersionPostgres) {
  ledger::testing::PgCluster pg;
  ASSERT_TRUE(pg.started()) << pg.error();
  PGconn* conn = PQconnectdb(pg.dsn().c_str());
  ASSERT_EQ(PQstatus(conn), CONNECTION_OK) << PQerrorMessage(conn);
  PGresult* r = PQexec(conn, FirstSchema(true).c_str());
  ASSERT_EQ(PQresultStatus(r), PGRES_COMMAND_OK) << PQerrorMessage(conn);
  PQclear(r);
  OpensAStoreOfTheFirstVersion(
      {.backend = "postgres", .dsn = pg.dsn(), .retention_days = kForever, .hash_key = "k"},
      pg.dsn());
  r = PQexec(conn,
             "SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM "
             "information_schema.columns WHERE table_name = 'comparisons' AND ordinal_position "
             "> 27");
  ASSERT_EQ(PQresultStatus(r), PGRES_TUPLES_OK) << PQerrorMessage(conn);
  EXPECT_EQ(std::string(PQgetvalue(r, 0, 0)),
            "question,question_sha256,request_json,request_sha256");
  PQclear(r);
  PQfinish(conn);
}

TEST(ComparisonStore, AFullQueueDropsAndCounts) {
  const std::string path = ::testing::TempDir() + "/hg_quality_full.db";
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  auto store = ComparisonStore::Open({.path = path, .max_pending = 0});
  ASSERT_TRUE(store);
  EXPECT_FALSE((*store)->Save(Make(1, "a", "b")));
  EXPECT_EQ((*store)->dropped(), 1);
}

}  // namespace
}  // namespace hybridgate::quality
