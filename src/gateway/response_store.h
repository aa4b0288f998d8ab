// ResponseStore: the Responses API's conversation state (`store: true`, previous_response_id,
// GET/DELETE /v1/responses/{id}, .../input_items), in a SQLite file of its own or in PostgreSQL
// (`responses.backend: postgres`: one store for every replica). Every stored
// answer belongs to the key that made it (another key, or none, gets 404) and keeps the data
// class of its whole conversation, so a continuation is classed at least as high as anything
// said before it. Rows older than `retention_days` are deleted.
//
// One owner: a single thread runs every statement in the order posted. Save is posted without
// waiting; the answer's last byte waits for Committed(), so an answer the client has read is
// stored — visible to its next request, and kept through a kill -9. Reads are awaited too (the
// caller's coroutine resumes on its own executor). At most `max_pending` operations wait at
// once: a request that wants its answer stored takes a Slot before it runs, and is refused with
// 503 when none is free, as are reads.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "common/result.h"
#include "config/config.h"

namespace hybridgate::gateway {

class ResponseStore {
 public:
  struct Row {
    std::string id;
    std::string key_id;  // "" with auth off
    int data_class = 1;
    std::string model;
    // The conversation before this answer's input (a JSON array of items), this answer's input
    // items and its output items; the conversation a continuation replays is all three.
    std::string history = "[]";
    std::string input_items = "[]";
    std::string output_items = "[]";
    std::string response;    // the Response object as the client got it
    int64_t created_at = 0;  // unix seconds
  };

  // Where rows live: SQLite or PostgreSQL. Called on the store's thread only.
  class Backend {
   public:
    virtual ~Backend() = default;
    virtual void Save(const Row& row) = 0;
    // An error when the store could not answer (never "none": a row may exist).
    virtual Result<std::optional<Row>> Get(const std::string& id, const std::string& key_id,
                                           int64_t not_before) = 0;
    virtual Result<bool> Delete(const std::string& id, const std::string& key_id) = 0;
    virtual void Purge(int64_t before) = 0;
  };

  // `path` (SQLite) is resolved already (relative to the config file).
  static Result<std::unique_ptr<ResponseStore>> Open(const config::ResponsesConfig& config,
                                                     const std::string& path);
  ~ResponseStore();
  // Runs what was queued and stops the store's thread: nothing it runs posts to an event loop
  // afterwards (a shutdown calls it before the loops go).
  void Close() { thread_.join(); }
  ResponseStore(const ResponseStore&) = delete;
  ResponseStore& operator=(const ResponseStore&) = delete;

  // A place in the queue for one Save, taken before the request runs; given back unless used.
  class Slot {
   public:
    Slot() = default;
    explicit Slot(ResponseStore* store) : store_(store) {}
    Slot(Slot&& o) noexcept : store_(std::exchange(o.store_, nullptr)) {}
    Slot& operator=(Slot&& o) noexcept {
      Release();
      store_ = std::exchange(o.store_, nullptr);
      return *this;
    }
    ~Slot() { Release(); }
    bool held() const { return store_ != nullptr; }

   private:
    friend class ResponseStore;
    void Release() {
      if (store_) store_->Leave();
      store_ = nullptr;
    }
    ResponseStore* store_ = nullptr;
  };
  // A slot, or an unheld one when `max_pending` operations are queued.
  Slot Reserve() { return Enter() ? Slot(this) : Slot(); }
  // Queues `row` (replacing one of the same id) in `slot`'s place. Thread-safe; never blocks.
  void Save(Row row, Slot& slot);
  // The row `id` of `key_id`, or nullopt when there is none (or it is another key's). The views
  // must stay valid until the call returns (the caller's coroutine waits for it). Views, not
  // strings: GCC 12 moves a coroutine's by-value string parameters wrongly.
  boost::asio::awaitable<Result<std::optional<Row>>> Get(std::string_view id,
                                                         std::string_view key_id);
  // Resumes once every operation queued before the call has run (its row committed).
  boost::asio::awaitable<void> Committed();
  // Deletes the row; false when there was none of `key_id`'s.
  boost::asio::awaitable<Result<bool>> Delete(std::string_view id, std::string_view key_id);

  // The conversation a continuation of `row` replays: history, input and output, one array.
  static std::string Conversation(const Row& row);

  int64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  ResponseStore(std::unique_ptr<Backend> backend, const config::ResponsesConfig& config);
  // On the store's thread.
  void SaveNow(const Row& row);
  Result<std::optional<Row>> GetNow(const std::string& id, const std::string& key_id);
  Result<bool> DeleteNow(const std::string& id, const std::string& key_id);
  void PurgeIfDue();
  bool Enter();  // counts a pending operation; false when full
  void Leave() { pending_.fetch_sub(1, std::memory_order_relaxed); }

  std::unique_ptr<Backend> backend_;
  const int64_t retention_s_;
  const int64_t max_pending_;
  std::atomic<int64_t> pending_{0};
  std::atomic<int64_t> dropped_{0};
  int64_t next_purge_ = 0;  // store thread only
  boost::asio::thread_pool thread_{1};
};

}  // namespace hybridgate::gateway
