#include "background/runner.h"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <exception>

namespace hybridgate::background {

namespace asio = boost::asio;

Runner::~Runner() {
  // Only after Close, with nothing running (the worker's loop has stopped or drained).
  stats_.queued.fetch_sub(static_cast<int64_t>(queue_.size()), std::memory_order_relaxed);
}

bool Runner::Submit(std::unique_ptr<Job> job) {
  stats_.submitted.fetch_add(1, std::memory_order_relaxed);
  if (closed_ || static_cast<int64_t>(queue_.size()) >= limits_.max_queue) {
    stats_.shed.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  outstanding_.fetch_add(1, std::memory_order_acq_rel);
  if (static_cast<int64_t>(running_.size()) < limits_.max_concurrency) {
    Start(std::move(job));
  } else {
    queue_.push_back(std::move(job));
    stats_.queued.fetch_add(1, std::memory_order_relaxed);
  }
  return true;
}

void Runner::Start(std::unique_ptr<Job> job) {
  running_.push_back(Running{std::move(job), {}});
  const auto it = std::prev(running_.end());
  stats_.running.fetch_add(1, std::memory_order_relaxed);
  // The job's frame refers to the list entry, which stays put until Finished erases it.
  asio::co_spawn(executor_, it->job->Run(it->cancel), [this, it](std::exception_ptr e) {
    if (e) {
      stats_.failed.fetch_add(1, std::memory_order_relaxed);
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        spdlog::error("a background job failed: {}", ex.what());
      } catch (...) {
        spdlog::error("a background job failed with an unknown exception");
      }
    }
    Finished(it);
  });
}

void Runner::Finished(std::list<Running>::iterator it) {
  running_.erase(it);
  stats_.running.fetch_sub(1, std::memory_order_relaxed);
  stats_.completed.fetch_add(1, std::memory_order_relaxed);
  if (!closed_ && !queue_.empty()) {
    std::unique_ptr<Job> next = std::move(queue_.front());
    queue_.pop_front();
    stats_.queued.fetch_sub(1, std::memory_order_relaxed);
    Start(std::move(next));
  }
  outstanding_.fetch_sub(1, std::memory_order_acq_rel);
}

void Runner::Close() {
  closed_ = true;
  const auto dropped = static_cast<int64_t>(queue_.size());
  queue_.clear();
  stats_.queued.fetch_sub(dropped, std::memory_order_relaxed);
  stats_.dropped.fetch_add(static_cast<uint64_t>(dropped), std::memory_order_relaxed);
  outstanding_.fetch_sub(dropped, std::memory_order_acq_rel);
  for (Running& r : running_) r.job->Closing();
}

void Runner::Cancel() {
  for (Running& r : running_) r.cancel.Cancel();
}

}  // namespace hybridgate::background
