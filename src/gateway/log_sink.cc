#include "gateway/log_sink.h"

#include <unistd.h>

#include <cerrno>

#include "common/thread.h"

namespace hybridgate::gateway {

BatchingSink::BatchingSink(BatchingSinkOptions options) : options_(options) {
  pending_.reserve(options_.batch_bytes * 2);
  writer_ = std::thread([this] {
    MarkBackgroundThread("hg-log");
    Run();
  });
}

BatchingSink::~BatchingSink() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_one();
  writer_.join();
}

uint64_t BatchingSink::dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

void BatchingSink::sink_it_(const spdlog::details::log_msg& msg) {
  line_.clear();
  formatter_->format(msg, line_);
  Append(std::string_view(line_.data(), line_.size()), msg.level >= spdlog::level::warn);
}

void BatchingSink::Append(std::string_view line, bool urgent) {
  bool wake = urgent;
  {
    std::lock_guard lock(mu_);
    if (pending_.size() + line.size() > options_.max_bytes) {
      ++dropped_;
      return;
    }
    pending_.append(line);
    urgent_ = urgent_ || urgent;
    // Only the line that crosses the threshold wakes the writer, not every one after it.
    wake = wake || (pending_.size() >= options_.batch_bytes &&
                    pending_.size() - line.size() < options_.batch_bytes);
  }
  if (wake) wake_.notify_one();
}

void BatchingSink::flush_() {
  {
    std::lock_guard lock(mu_);
    urgent_ = true;
  }
  wake_.notify_one();
}

void BatchingSink::Run() {
  std::string batch;
  batch.reserve(options_.batch_bytes * 2);
  std::unique_lock lock(mu_);
  for (;;) {
    wake_.wait_for(lock, options_.interval,
                   [&] { return stop_ || urgent_ || pending_.size() >= options_.batch_bytes; });
    urgent_ = false;
    const bool stopping = stop_;
    batch.swap(pending_);  // the two buffers trade places: both stay grown
    uint64_t dropped = dropped_;
    dropped_ = 0;
    lock.unlock();
    if (dropped > 0) {
      batch.append(R"({"level":"warn","msg":"log buffer full: )" + std::to_string(dropped) +
                   " lines dropped\"}\n");
    }
    WriteAll(batch);
    batch.clear();
    if (stopping) return;
    lock.lock();
  }
}

void BatchingSink::WriteAll(const std::string& bytes) {
  size_t at = 0;
  while (at < bytes.size()) {
    const ssize_t n = ::write(options_.fd, bytes.data() + at, bytes.size() - at);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // stderr gone: nothing sensible left to do with the lines
    at += static_cast<size_t>(n);
  }
}

}  // namespace hybridgate::gateway
