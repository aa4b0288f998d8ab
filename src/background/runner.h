// The one owner of work that outlives its request: shadow calls, judge calls, scheduled evals.
// One Runner per server worker runs its jobs as coroutines on that worker's event loop, at most
// `max_concurrency` at once, with at most `max_queue` more waiting; what does not fit is shed —
// destroyed unrun and counted, never blocking the request that offered it. The request path only
// Submits; the client's answer never waits for a job.
//
// Shutdown (and a Runner being replaced) goes Close() -> wait while Outstanding() > 0 -> Cancel():
// Close drops the queue (counted) and takes nothing new, running jobs finish, and Cancel makes
// the still-running ones give up at once (their upstream calls fail, and they record that) so
// they end before the event loop stops. A job therefore always finishes — run, shed or dropped —
// and one that made calls accounts for them.
//
// Threads: Submit, Close and Cancel on the runner's own worker (post there from elsewhere);
// Outstanding() and the Stats counters from any thread.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <deque>
#include <list>
#include <memory>
#include <string_view>

#include "http/client.h"

namespace hybridgate::background {

// One unit of background work. Run() is awaited on the runner's worker; Closing() is called when
// the runner closes with the job running (a long job then starts nothing new and ends what it
// has), and `cancel` fires when the grace period is over with the job still running. A job may
// also be destroyed without ever having run (shed or dropped): it must then have done nothing.
class Job {
 public:
  virtual ~Job() = default;
  virtual boost::asio::awaitable<void> Run(http::CancelToken& cancel) = 0;
  virtual void Closing() {}
};

struct Limits {
  int64_t max_queue = 256;       // jobs waiting, per worker
  int64_t max_concurrency = 16;  // jobs running, per worker
};

// Counters shared by every worker's runner (for /metrics).
struct Stats {
  std::atomic<uint64_t> submitted{0};
  std::atomic<uint64_t> completed{0};
  std::atomic<uint64_t> shed{0};     // the queue was full, or the runner closed
  std::atomic<uint64_t> dropped{0};  // queued when the runner closed
  std::atomic<uint64_t> failed{0};   // Run() threw (logged)
  std::atomic<int64_t> running{0};
  std::atomic<int64_t> queued{0};
};

class Runner {
 public:
  Runner(boost::asio::any_io_executor executor, Limits limits, Stats& stats)
      : executor_(std::move(executor)), limits_(limits), stats_(stats) {}
  ~Runner();
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  // Runs `job` now, or queues it; false (the job destroyed unrun, counted as shed) when the
  // queue is full or the runner is closed.
  bool Submit(std::unique_ptr<Job> job);
  // Takes nothing new and drops what waits; running jobs go on (told: Job::Closing).
  void Close();
  // Tells the running jobs to give up now.
  void Cancel();
  // Jobs running or queued.
  int64_t Outstanding() const { return outstanding_.load(std::memory_order_acquire); }

 private:
  struct Running {
    std::unique_ptr<Job> job;
    http::CancelToken cancel;
  };
  void Start(std::unique_ptr<Job> job);
  void Finished(std::list<Running>::iterator it);

  boost::asio::any_io_executor executor_;
  const Limits limits_;
  Stats& stats_;
  bool closed_ = false;
  std::deque<std::unique_ptr<Job>> queue_;
  std::list<Running> running_;  // stable addresses: a job's token lives here while it runs
  std::atomic<int64_t> outstanding_{0};
};

}  // namespace hybridgate::background
