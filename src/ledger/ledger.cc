#include "ledger/ledger.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "common/thread.h"
#include "ledger/anchor.h"

namespace hybridgate::ledger {
namespace {

constexpr int kMaxAttempts = 8;          // ~16 s of retries with the backoff below
constexpr int kMaxAttemptsStopping = 3;  // shutdown must not hang on a dead database
constexpr int64_t kFirstBackoffMs = 100;
constexpr int64_t kMaxBackoffMs = 5000;
constexpr int64_t kDropWarningEveryMs = 1000;
constexpr int64_t kAnchorEveryMs = 1000;

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Result<std::unique_ptr<Ledger>> Ledger::Open(const LedgerConfig& config) {
  if (!config.enabled) return std::unique_ptr<Ledger>(new Ledger(config, nullptr, {}));
  if (Status s = ValidateLedgerConfig(config); !s) return Fail(s.error());
  auto sink = OpenSink(config);
  if (!sink) return Fail(sink.error());
  return Open(config, std::move(*sink));
}

Result<std::unique_ptr<Ledger>> Ledger::Open(const LedgerConfig& config,
                                             std::unique_ptr<Sink> sink) {
  if (Status s = ValidateLedgerConfig(config); !s) return Fail(s.error());
  if (!sink) return Fail(MakeError(ErrorCode::kInternal, "ledger: no sink"));
  std::string anchor_path = AnchorPath(config);
  if (!anchor_path.empty()) {
    auto anchor = ReadAnchor(anchor_path);
    if (!anchor) return Fail(anchor.error());
    auto head = sink->ReadHead(*anchor ? (*anchor)->seq : 0);
    if (!head && head.error().code == ErrorCode::kNotFound) {
      anchor_path.clear();  // a sink that cannot read back (tests' own) keeps no anchor
    } else if (!head) {
      return Fail(head.error());
    } else if (*anchor) {
      const std::string problem = AnchorContradiction(**anchor, head->hash_at_seq, head->head_seq);
      if (!problem.empty()) {
        return Fail(MakeError(
            ErrorCode::kInvalidRequest,
            fmt::format("ledger: {} (anchor '{}'). Run `hybridgate audit verify`, keep the anchor "
                        "as evidence, and move it aside to start on this ledger",
                        problem, anchor_path)));
      }
    }
  }
  return std::unique_ptr<Ledger>(new Ledger(config, std::move(sink), std::move(anchor_path)));
}

Ledger::Ledger(const LedgerConfig& config, std::unique_ptr<Sink> sink, std::string anchor_path)
    : config_(config),
      sink_(std::move(sink)),
      catalog_(PriceCatalog::WithDefaults(config.prices)),
      anchor_path_(std::move(anchor_path)) {
  if (sink_) {
    writer_ = std::thread([this] {
      MarkBackgroundThread("hg-ledger");
      Run();
    });
  }
}

Ledger::~Ledger() {
  if (!writer_.joinable()) return;
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_writer_.notify_one();
  writer_.join();
}

void Ledger::Record(Row row) {
  if (!sink_) return;
  bool wake = false;
  int64_t warn_dropped = 0;
  {
    std::lock_guard lock(mu_);
    if (static_cast<int64_t>(queue_.size()) >= config_.max_queue) {
      ++dropped_queue_;
      const int64_t now = SteadyMs();
      if (now - last_drop_warning_ms_ >= kDropWarningEveryMs) {
        last_drop_warning_ms_ = now;
        warn_dropped = dropped_queue_;
      }
    } else {
      queue_.push_back(std::move(row));
      ++recorded_;
      wake = static_cast<int64_t>(queue_.size()) == config_.max_batch;
    }
  }
  if (wake) wake_writer_.notify_one();
  if (warn_dropped > 0) {
    spdlog::warn("ledger: writer is {} rows behind; {} rows dropped so far", config_.max_queue,
                 warn_dropped);
  }
}

Status Ledger::Flush() {
  if (!sink_) return {};
  std::unique_lock lock(mu_);
  const int64_t target = recorded_;
  flush_requested_ = true;
  wake_writer_.notify_one();
  batch_done_.wait(lock, [&] { return finished_ >= target; });
  if (last_error_) {
    Error e = std::move(*last_error_);
    last_error_.reset();
    return Fail(std::move(e));
  }
  return {};
}

LedgerStats Ledger::Stats() const {
  std::lock_guard lock(mu_);
  LedgerStats s;
  s.recorded = recorded_;
  s.written = written_;
  s.dropped_queue_full = dropped_queue_;
  s.dropped_write_failed = dropped_failed_;
  s.pending = recorded_ - finished_;
  return s;
}

double Ledger::PriceRow(const Row& row) {
  if (auto it = config_.self_hosted.find(row.model); it != config_.self_hosted.end()) {
    double tokens_per_hour = it->second.tokens_per_hour;
    if (tokens_per_hour <= 0) {
      ThroughputMeter& meter = throughput_[row.model];
      meter.Observe(row.input_tokens + row.output_tokens, row.time_ms,
                    row.time_ms + row.latency_ms);
      tokens_per_hour = meter.TokensPerHour();
    }
    return Cost(SelfHostedAsPrice(it->second, tokens_per_hour), row.input_tokens,
                row.cached_input_tokens, row.output_tokens);
  }
  if (std::optional<Price> p = catalog_.Find(row.model)) {
    return Cost(*p, row.input_tokens, row.cached_input_tokens, row.output_tokens);
  }
  if (!row.model.empty() && warned_unpriced_.emplace(row.model, true).second) {
    spdlog::warn("ledger: no price for model '{}'; its rows cost 0 (add it to ledger.prices)",
                 row.model);
  }
  return 0;
}

bool Ledger::WriteWithRetry(std::span<Row> batch) {
  int64_t backoff_ms = kFirstBackoffMs;
  for (int attempt = 1;; ++attempt) {
    Status s = sink_->Write(batch);
    if (s) return true;
    std::unique_lock lock(mu_);
    const int max_attempts = stop_ ? kMaxAttemptsStopping : kMaxAttempts;
    if (attempt >= max_attempts) {
      spdlog::error("ledger: giving up on {} rows after {} attempts: {}", batch.size(), attempt,
                    s.error().message);
      last_error_ = s.error();
      return false;
    }
    spdlog::warn("ledger: write of {} rows failed (attempt {}/{}), retrying in {} ms: {}",
                 batch.size(), attempt, max_attempts, backoff_ms, s.error().message);
    // Woken early only by shutdown, which then gets its own smaller attempt budget.
    wake_writer_.wait_for(lock, std::chrono::milliseconds(backoff_ms), [&] { return stop_; });
    backoff_ms = std::min(backoff_ms * 2, kMaxBackoffMs);
  }
}

void Ledger::Anchor(const Row* last, bool force) {
  if (anchor_path_.empty()) return;
  if (last != nullptr && !last->hash.empty()) {
    anchor_seq_ = last->seq;
    anchor_hash_ = last->hash;
  }
  const int64_t now = SteadyMs();
  if (anchor_seq_ == 0 || (!force && now - anchored_ms_ < kAnchorEveryMs)) return;
  const int64_t wall = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
  if (Status s = WriteAnchor(anchor_path_, {anchor_seq_, anchor_hash_, wall}); !s) {
    spdlog::error("ledger: {}", s.error().message);  // retried after the next batch
    return;
  }
  anchored_ms_ = now;
  anchor_seq_ = 0;
}

void Ledger::Run() {
  const auto interval = std::chrono::milliseconds(config_.flush_interval_ms);
  const auto max_batch = static_cast<size_t>(config_.max_batch);
  std::vector<Row> batch;
  std::unique_lock lock(mu_);
  for (;;) {
    wake_writer_.wait_for(lock, interval,
                          [&] { return stop_ || flush_requested_ || queue_.size() >= max_batch; });
    flush_requested_ = false;
    if (queue_.empty()) {
      batch_done_.notify_all();
      if (stop_) {
        lock.unlock();
        Anchor(nullptr, true);
        return;
      }
      if (anchor_seq_ != 0) {  // a head the last second's throttle held back
        lock.unlock();
        Anchor(nullptr, false);
        lock.lock();
      }
      continue;
    }
    // The two vectors trade places, so Record() keeps reusing an already grown buffer.
    batch.swap(queue_);
    lock.unlock();
    for (size_t at = 0; at < batch.size(); at += max_batch) {
      const auto chunk = std::span<Row>(batch).subspan(at, std::min(max_batch, batch.size() - at));
      for (Row& row : chunk) {
        if (row.cost_usd < 0) row.cost_usd = PriceRow(row);
      }
      const bool ok = WriteWithRetry(chunk);
      if (ok && !chunk.empty()) Anchor(&chunk.back(), false);
      std::lock_guard done(mu_);
      finished_ += static_cast<int64_t>(chunk.size());
      (ok ? written_ : dropped_failed_) += static_cast<int64_t>(chunk.size());
      batch_done_.notify_all();
    }
    batch.clear();
    lock.lock();
  }
}

}  // namespace hybridgate::ledger
