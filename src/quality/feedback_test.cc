#include "quality/feedback.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>

#include "common/clock.h"
#include "ledger/testing/pg_cluster.h"

namespace hybridgate::quality {
namespace {

namespace asio = boost::asio;

struct Bad {
  const char* body;
  const char* param;    // the field the error names
  const char* message;  // part of its message
};

TEST(ParseFeedback, RefusesWhatIsNotFeedbackNamingTheField) {
  const Bad cases[] = {
      {"not json", "", "JSON object"},
      {"[1]", "", "JSON object"},
      {R"({"score":1,"kind":"thumbs"})", "request_id", "required"},
      {R"({"request_id":"","score":1,"kind":"thumbs"})", "request_id", "non-empty"},
      {R"({"request_id":7,"score":1,"kind":"thumbs"})", "request_id", "string"},
      {R"({"request_id":"hg-1","kind":"thumbs"})", "score", "required"},
      {R"({"request_id":"hg-1","score":1.5,"kind":"thumbs"})", "score", "from 0 to 1"},
      {R"({"request_id":"hg-1","score":-0.5,"kind":"thumbs"})", "score", "-1"},
      {R"({"request_id":"hg-1","score":"1","kind":"thumbs"})", "score", "number"},
      {R"({"request_id":"hg-1","score":true,"kind":"thumbs"})", "score", "number"},
      {R"({"request_id":"hg-1","score":1})", "kind", "required"},
      {R"({"request_id":"hg-1","score":1,"kind":"love"})", "kind",
       "thumbs, rating, regenerate, edit, copy, other"},
      {R"({"request_id":"hg-1","score":1,"kind":1})", "kind", "one of"},
      {R"({"request_id":"hg-1","score":1,"kind":"thumbs","comment":5})", "comment", "string"},
      {R"({"request_id":"hg-1","score":1,"kind":"thumbs","stars":5})", "stars", "unknown field"},
      // PostgreSQL's text would keep these cut at the NUL: another request's id, a shorter comment.
      {R"({"request_id":"hg-1\u0000x","score":1,"kind":"thumbs"})", "request_id",
       "control character"},
      {R"({"request_id":"hg-1\nx","score":1,"kind":"thumbs"})", "request_id", "control character"},
      {R"({"request_id":"hg-1","score":1,"kind":"thumbs","comment":"a\u0000b"})", "comment", "NUL"},
  };
  for (const Bad& c : cases) {
    auto r = ParseFeedback(c.body);
    ASSERT_FALSE(r) << c.body;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidRequest) << c.body;
    EXPECT_EQ(r.error().param, c.param) << c.body;
    EXPECT_NE(r.error().message.find(c.message), std::string::npos)
        << c.body << ": " << r.error().message;
  }
  const std::string long_comment(kMaxCommentBytes + 1, 'x');
  auto r = ParseFeedback(R"({"request_id":"hg-1","score":1,"kind":"thumbs","comment":")" +
                         long_comment + "\"}");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().param, "comment");
  EXPECT_NE(r.error().message.find("at most 4096"), std::string::npos) << r.error().message;
  r = ParseFeedback(R"({"request_id":")" + std::string(kMaxRequestIdBytes + 1, 'a') +
                    R"(","score":1,"kind":"thumbs"})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().param, "request_id");
}

TEST(ParseFeedback, AcceptsThumbsScoresAndComments) {
  auto down = ParseFeedback(R"({"request_id":"hg-1","score":-1,"kind":"thumbs"})");
  ASSERT_TRUE(down) << down.error().message;
  EXPECT_EQ(down->score, -1);
  EXPECT_FALSE(down->comment);
  auto graded = ParseFeedback(
      R"({"kind":"rating","score":0.75,"request_id":"hg-2","comment":"close enough"})");
  ASSERT_TRUE(graded) << graded.error().message;
  EXPECT_EQ(graded->request_id, "hg-2");
  EXPECT_EQ(graded->kind, "rating");
  EXPECT_EQ(graded->score, 0.75);
  EXPECT_EQ(graded->comment, "close enough");
  auto null_comment =
      ParseFeedback(R"({"request_id":"hg-3","score":0,"kind":"regenerate","comment":null})");
  ASSERT_TRUE(null_comment);
  EXPECT_FALSE(null_comment->comment);
  EXPECT_EQ(NormalizedScore(-1), 0);
  EXPECT_EQ(NormalizedScore(0.25), 0.25);
}

// A name given twice counts once, its first value, as everywhere else in the gateway: a client
// cannot show one score to a proxy or log in front and store another.
TEST(ParseFeedback, TheFirstOfADuplicatedNameCounts) {
  auto twice = ParseFeedback(
      R"({"request_id":"hg-1","score":1,"kind":"thumbs","score":-1,"request_id":"hg-2",)"
      R"("comment":"kept","comment":"not kept"})");
  ASSERT_TRUE(twice) << twice.error().message;
  EXPECT_EQ(twice->request_id, "hg-1");
  EXPECT_EQ(twice->score, 1);
  EXPECT_EQ(twice->comment, "kept");
  auto bad_first = ParseFeedback(R"({"request_id":"hg-1","score":7,"kind":"thumbs","score":1})");
  ASSERT_FALSE(bad_first);
  EXPECT_EQ(bad_first.error().param, "score");
}

// Rate() run to completion on an event loop of the test's own.
FeedbackStore::Rated RateNow(FeedbackStore& store, const std::string& body, int comment_class,
                             const std::string& key_id, bool any_key) {
  auto input = ParseFeedback(body);
  EXPECT_TRUE(input) << body;
  asio::io_context io;
  FeedbackStore::Rated out;
  asio::co_spawn(io, store.Rate(*input, comment_class, key_id, any_key),
                 [&](std::exception_ptr e, Result<FeedbackStore::Rated> r) {
                   EXPECT_FALSE(e);
                   EXPECT_TRUE(r) << r.error().message;
                   if (r) out = *r;
                 });
  io.run();
  return out;
}

void OwnersAndRatings(const StoreConfig& config, const std::string& source) {
  const int64_t t0 = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count() -
                     60'000;
  {
    auto store = FeedbackStore::Open(config);
    ASSERT_TRUE(store) << store.error().message;
    FeedbackStore& s = **store;
    EXPECT_TRUE(s.Remember(
        {.request_id = "hg-a", .time_ms = t0, .route = "support", .key_id = "key_aaaaaaaaaaaa"}));
    EXPECT_TRUE(s.Remember({.request_id = "hg-b",
                            .time_ms = t0 + 1000,
                            .route = "support",
                            .key_id = "key_bbbbbbbbbbbb",
                            .data_class = 3}));
    // Its own request: stored; another key's, or an unknown one: not found, nothing stored.
    EXPECT_TRUE(RateNow(s, R"({"request_id":"hg-a","score":1,"kind":"thumbs"})", 1,
                        "key_aaaaaaaaaaaa", false)
                    .found);
    EXPECT_FALSE(RateNow(s, R"({"request_id":"hg-b","score":-1,"kind":"thumbs"})", 1,
                         "key_aaaaaaaaaaaa", false)
                     .found);
    EXPECT_FALSE(
        RateNow(s, R"({"request_id":"hg-zzz","score":1,"kind":"thumbs"})", 1, "", true).found);
    // A later rating of the same kind replaces the earlier one.
    EXPECT_TRUE(RateNow(s, R"({"request_id":"hg-a","score":-1,"kind":"thumbs","comment":"wrong"})",
                        1, "key_aaaaaaaaaaaa", false)
                    .comment_kept);
    EXPECT_TRUE(RateNow(s, R"({"request_id":"hg-a","score":0.5,"kind":"rating"})", 1,
                        "key_aaaaaaaaaaaa", false)
                    .found);
    // A class-3 request keeps no comment text; nor does a class-4 comment on a class-1 one.
    const auto b = RateNow(s, R"({"request_id":"hg-b","score":0,"kind":"edit","comment":"meh"})", 1,
                           "key_bbbbbbbbbbbb", false);
    EXPECT_TRUE(b.found);
    EXPECT_FALSE(b.comment_kept);
    EXPECT_FALSE(
        RateNow(s, R"({"request_id":"hg-a","score":1,"kind":"copy","comment":"card"})", 4, "", true)
            .comment_kept);
  }
  auto rows = FeedbackStore::Load(source, 0);
  ASSERT_TRUE(rows) << rows.error().message;
  ASSERT_EQ(rows->size(), 4u);
  std::vector<std::string> got;
  for (const Feedback& f : *rows) {
    got.push_back(f.request_id + "|" + f.kind + "|" + std::to_string(f.score) + "|" + f.comment +
                  "|" + f.route + "|" + f.key_id + "|" + std::to_string(f.request_time_ms - t0) +
                  "|" + (f.comment_sha256.empty() ? "-" : "#"));
  }
  EXPECT_EQ(got, (std::vector<std::string>{
                     "hg-a|copy|1.000000||support|key_aaaaaaaaaaaa|0|#",
                     "hg-a|rating|0.500000||support|key_aaaaaaaaaaaa|0|-",
                     "hg-a|thumbs|-1.000000|wrong|support|key_aaaaaaaaaaaa|0|#",
                     "hg-b|edit|0.000000||support|key_bbbbbbbbbbbb|1000|#",
                 }));
  EXPECT_EQ((*rows)[2].comment_sha256, TextHasher("a test key").Hex("wrong"));
  // --since: ratings of requests that arrived from then on.
  auto later = FeedbackStore::Load(source, t0 + 500);
  ASSERT_TRUE(later);
  ASSERT_EQ(later->size(), 1u);
  EXPECT_EQ(later->front().request_id, "hg-b");
}

// A canary rollout's feedback gate reads the ratings of one arm's requests by their tag.
void ScoresByRolloutTag(const StoreConfig& config) {
  auto store = FeedbackStore::Open(config);
  ASSERT_TRUE(store) << store.error().message;
  FeedbackStore& s = **store;
  const int64_t t0 = UnixMs() - 60'000;
  struct Answered {
    const char* id;
    const char* arm;
    int64_t epoch;
  };
  for (const Answered& a : {Answered{"hg-r1", "candidate", 3}, Answered{"hg-r2", "candidate", 3},
                            Answered{"hg-r3", "incumbent", 3}, Answered{"hg-r5", "incumbent", 2},
                            Answered{"hg-r6", "candidate", 2}, Answered{"hg-r4", "", 0}}) {
    EXPECT_TRUE(s.Remember({.request_id = a.id,
                            .time_ms = t0,
                            .route = "support",
                            .rollout = *a.arm ? "support/llama" : "",
                            .rollout_arm = a.arm,
                            .rollout_epoch = a.epoch}));
  }
  for (const char* body : {R"({"request_id":"hg-r1","score":-1,"kind":"thumbs"})",
                           R"({"request_id":"hg-r1","score":0.5,"kind":"rating"})",
                           R"({"request_id":"hg-r2","score":1,"kind":"thumbs"})",
                           R"({"request_id":"hg-r3","score":0.25,"kind":"rating"})",
                           R"({"request_id":"hg-r5","score":1,"kind":"thumbs"})",
                           R"({"request_id":"hg-r6","score":1,"kind":"thumbs"})",
                           R"({"request_id":"hg-r4","score":1,"kind":"thumbs"})"}) {
    EXPECT_TRUE(RateNow(s, body, 1, "", true).found) << body;
  }
  auto c = s.Scores("support/llama", "candidate", 3);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->n, 2) << "one score per request: the mean of its kinds, a thumbs down as 0";
  EXPECT_DOUBLE_EQ(c->sum, 0.25 + 1);
  EXPECT_DOUBLE_EQ(c->sq_sum, 0.0625 + 1);
  auto i = s.Scores("support/llama", "incumbent", -1);
  ASSERT_TRUE(i);
  EXPECT_EQ(i->n, 2) << "every stage's";
  EXPECT_DOUBLE_EQ(i->sum, 1.25);
  EXPECT_EQ(s.Scores("support/llama", "candidate", 4)->n, 0) << "another stage's";
  EXPECT_EQ(s.Scores("support/other", "candidate", -1)->n, 0) << "another rollout's";
}

TEST(FeedbackStore, SqliteRatesOnlyTheKeysOwnRequests) {
  const std::string path = ::testing::TempDir() + "/hg_feedback_store.db";
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  OwnersAndRatings({.path = path, .hash_key = "a test key"}, path);
  const std::string tagged = ::testing::TempDir() + "/hg_feedback_tags.db";
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((tagged + suffix).c_str());
  ScoresByRolloutTag({.path = tagged, .hash_key = "a test key"});
}

TEST(FeedbackStore, PostgresToo) {
  ledger::testing::PgCluster pg;
  ASSERT_TRUE(pg.started()) << pg.error();
  OwnersAndRatings({.backend = "postgres", .dsn = pg.dsn(), .hash_key = "a test key"}, pg.dsn());
  ScoresByRolloutTag({.backend = "postgres", .dsn = pg.dsn(), .hash_key = "a test key"});
}

// A database that takes statements and never answers (here: a table another session holds
// locked) costs each call at most about a second: a rating fails with 503's error, the rollout
// gate's read fails, and closing the store (a shutdown) is not held.
TEST(FeedbackStore, APostgresThatDoesNotAnswerIsNotWaitedFor) {
  ledger::testing::PgCluster pg;
  ASSERT_TRUE(pg.started()) << pg.error();
  const StoreConfig config{.backend = "postgres", .dsn = pg.dsn(), .hash_key = "a test key"};
  auto store = FeedbackStore::Open(config);
  ASSERT_TRUE(store) << store.error().message;
  auto locker = std::make_unique<ledger::testing::TableLock>(
      pg.dsn(), "feedback_requests, feedback, feedback_rollouts");
  ASSERT_EQ(locker->error(), "");
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE((*store)->Remember({.request_id = "hg-1", .route = "r"}));
  auto scores = (*store)->Scores("r/llama", "candidate", -1);
  ASSERT_FALSE(scores);
  auto input = ParseFeedback(R"({"request_id":"hg-1","score":1,"kind":"thumbs"})");
  ASSERT_TRUE(input);
  asio::io_context io;
  std::optional<Result<FeedbackStore::Rated>> rated;
  asio::co_spawn(io, (*store)->Rate(*input, 1, "", true),
                 [&](std::exception_ptr e, Result<FeedbackStore::Rated> r) {
                   EXPECT_FALSE(e);
                   rated = std::move(r);
                 });
  io.run();
  ASSERT_TRUE(rated);
  ASSERT_FALSE(*rated);
  EXPECT_NE(rated->error().message.find("no answer in 1000 ms"), std::string::npos)
      << rated->error().message;
  store->reset();
  // A few statements of a second each, not the lock's holder's whim.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
  locker.reset();
  // The store works again once the database answers.
  auto again = FeedbackStore::Open(config);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_TRUE((*again)->Scores("r/llama", "candidate", -1));
}

TEST(FeedbackStore, AFullQueueDropsAndCountsAndAStoreWithoutFeedbackLoadsNone) {
  const std::string path = ::testing::TempDir() + "/hg_feedback_full.db";
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  {
    // Nothing written yet: a store without the feedback table reads as no feedback.
    auto comparisons = ComparisonStore::Open({.path = path});
    ASSERT_TRUE(comparisons);
  }
  auto none = FeedbackStore::Load(path, 0);
  ASSERT_TRUE(none) << none.error().message;
  EXPECT_TRUE(none->empty());
  auto store = FeedbackStore::Open({.path = path, .max_pending = 1});
  ASSERT_TRUE(store);
  int kept = 0;
  for (int i = 0; i < 50; ++i) {
    kept += (*store)->Remember({.request_id = "hg-" + std::to_string(i), .route = "r"});
  }
  // The writer may have emptied the queue in between, but never takes more than one at a time.
  EXPECT_EQ(kept + (*store)->dropped(), 50);
  EXPECT_GT((*store)->dropped(), 0);
  EXPECT_FALSE(FeedbackStore::Load(::testing::TempDir() + "/no/such/dir/quality.db", 0));
}

}  // namespace
}  // namespace hybridgate::quality
