// User feedback on answers (POST /v1/feedback): a score for a request the gateway answered, with
// a kind and an optional comment, kept beside the comparisons (same SQLite file or PostgreSQL
// database as the ComparisonStore, tables `feedback_requests`, `feedback` and
// `feedback_rollouts`, which joins the requests of a canary rollout to the arm that answered).
//
// Who may rate what: every answered request is remembered with the key that made it (its id,
// never its name, which keys do not have to keep unique) and its route, so a key may rate only
// its own requests, and an unknown id and another key's look the same (404). With auth off every
// request is remembered without a key and anyone may rate it. One rating per request and kind:
// a later one replaces it. A comment is kept only when both it and the request are of data
// class <= `store_text_max_class` (as answer texts are); above, only its SHA-256. Rows older than
// `retention_days` are deleted: an older request can no longer be rated.
//
// One owner: a single thread runs every statement. Remember() never blocks: it queues the row
// (at most `max_pending` wait; more are dropped and counted, and those requests cannot be rated)
// and the thread writes what has queued in one transaction. Rate() is awaited: it runs on that
// thread after everything remembered before it, and resumes the caller on its own executor.
// Destruction writes what was queued.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "quality/store.h"

namespace hybridgate::quality {

// The kinds of feedback, one row each: the word a client sends and what it means.
struct FeedbackKind {
  std::string_view name;
  std::string_view meaning;
};
inline constexpr FeedbackKind kFeedbackKinds[] = {
    {"thumbs", "a thumbs up (1) or down (-1)"},
    {"rating", "a graded score from 0 to 1"},
    {"regenerate", "the user asked for another answer"},
    {"edit", "the user edited the answer"},
    {"copy", "the user copied the answer"},
    {"other", "anything else"},
};
inline constexpr size_t kMaxCommentBytes = 4096;
inline constexpr size_t kMaxRequestIdBytes = 128;

// A POST /v1/feedback body, validated.
struct FeedbackInput {
  std::string request_id;  // x-hybridgate-request-id of the answer
  double score = 0;        // -1, or 0..1 (1: good)
  std::string kind;        // a kFeedbackKinds name
  std::optional<std::string> comment;
};

// Parses and checks a body: {"request_id", "score", "kind", "comment"?}; no other field. Errors
// are kInvalidRequest naming the field (param).
Result<FeedbackInput> ParseFeedback(std::string_view body);

// A score on the report's 0..1 scale: -1 (thumbs down) counts as 0, the rest as given.
inline double NormalizedScore(double score) { return score < 0 ? 0 : score; }

// An answered request that may be rated.
struct RatedRequest {
  std::string request_id;
  int64_t time_ms = 0;  // when it arrived, unix ms
  std::string route;    // as in its ledger row
  std::string key_id;   // "" without a key (auth off)
  int data_class = 1;
  // The canary rollout ("<route>/<candidate>", rollout/) whose arm ("candidate", "incumbent")
  // answered it at stage `rollout_epoch`; "" when it took no part in one.
  std::string rollout, rollout_arm;
  int64_t rollout_epoch = 0;
};

// A rating as stored.
struct Feedback {
  std::string request_id;
  std::string kind;
  double score = 0;     // as sent
  int64_t time_ms = 0;  // when it was given
  std::string comment;  // "" when none, or not kept (then comment_sha256 says there was one)
  std::string comment_sha256;
  // The rated request's (RatedRequest).
  int64_t request_time_ms = 0;
  std::string route;
  std::string key_id;
};

class FeedbackStore {
 public:
  static Result<std::unique_ptr<FeedbackStore>> Open(const StoreConfig& config);
  ~FeedbackStore();
  FeedbackStore(const FeedbackStore&) = delete;
  FeedbackStore& operator=(const FeedbackStore&) = delete;

  // Queues `r`; false (dropped, counted) when max_pending rows wait. Any thread.
  bool Remember(RatedRequest r);
  int64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

  struct Rated {
    bool found = false;         // the request is known and the caller's
    bool comment_kept = false;  // the comment's text was stored (not only its hash)
  };
  // Stores `f` for its request when the request was remembered and made by `key_id` (by anyone
  // when `any_key`); found false otherwise, and nothing stored. A request remembered by another
  // replica (PostgreSQL) may not be written yet: a miss is looked up once more after
  // kRetryMs. `comment_class`: the data class of the comment's text. The references must stay
  // valid until the call returns (string_views, not strings: GCC 12 moves a coroutine's
  // by-value strings wrongly).
  static constexpr int64_t kRetryMs = 300;
  boost::asio::awaitable<Result<Rated>> Rate(const FeedbackInput& f, int comment_class,
                                             std::string_view key_id, bool any_key);
  // Blocks until every row remembered before the call is written (tests, shutdown).
  void Flush();
  // Writes what was remembered and stops the store's thread: nothing it runs posts to an event
  // loop afterwards (a shutdown calls it before the loops go). Later calls are not run.
  void Close();

  // The ratings of the requests `rollout`'s `arm` answered at stage `epoch` (< 0: at any): one
  // score per request, the mean of its ratings of every kind (normalized, NormalizedScore), so
  // that rating one answer six ways counts once. Waits at most kScoresTimeoutMs for the store's
  // thread (call it off the event loops).
  struct ArmScores {
    int64_t n = 0;  // rated requests
    double sum = 0, sq_sum = 0;
  };
  static constexpr int64_t kScoresTimeoutMs = 2000;
  Result<ArmScores> Scores(const std::string& rollout, const std::string& arm, int64_t epoch);

  // Ratings of requests that arrived at or after since_ms, oldest request first, from a store
  // file or database (read-only); none when it has no feedback table yet.
  static Result<std::vector<Feedback>> Load(const std::string& path_or_dsn, int64_t since_ms);

  class Db;

 private:
  FeedbackStore(std::unique_ptr<Db> db, const StoreConfig& config);
  // On the store's thread.
  void WriteRemembered();
  Result<Rated> RateNow(const FeedbackInput& f, int comment_class, const std::string& key_id,
                        bool any_key);
  void PurgeIfDue(int64_t now_ms);

  std::unique_ptr<Db> db_;
  const int text_max_class_;
  const TextHasher hasher_;
  const int64_t retention_ms_;
  const size_t max_pending_;
  std::mutex mu_;
  std::vector<RatedRequest> remembered_;  // guarded by mu_
  bool write_posted_ = false;             // guarded by mu_
  std::atomic<int64_t> dropped_{0};
  int64_t next_purge_ms_ = 0;  // store thread only
  bool closed_ = false;
  boost::asio::thread_pool thread_{1};
};

}  // namespace hybridgate::quality
