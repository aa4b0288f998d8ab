// The log sink: formatted lines are appended to a buffer on the calling (event-loop) thread and a
// writer thread writes the buffer to a file descriptor in one write() per batch. Unlike spdlog's
// async logger, which wakes its thread for every line (a futex wake, a context switch and a
// write() per request), a request line costs a mutex and a copy; warnings and errors, a full
// batch, flush() and shutdown wake the writer at once.
#pragma once

#include <spdlog/sinks/base_sink.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace hybridgate::gateway {

struct BatchingSinkOptions {
  int fd = 2;
  std::chrono::milliseconds interval{100};  // a line waits at most this long
  size_t batch_bytes = 64 * 1024;           // a buffer this full wakes the writer
  size_t max_bytes = 8 * 1024 * 1024;       // beyond this (writer stuck) lines are dropped
};

class BatchingSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit BatchingSink(BatchingSinkOptions options = {});
  ~BatchingSink() override;  // writes whatever is left
  BatchingSink(const BatchingSink&) = delete;
  BatchingSink& operator=(const BatchingSink&) = delete;

  // Lines dropped because the buffer was full.
  uint64_t dropped() const;
  // Appends an already formatted line (with its '\n'), bypassing spdlog's formatter: the request
  // log writes its own timestamp. `urgent` wakes the writer now, as a warning does.
  void Append(std::string_view line, bool urgent);

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override;

 private:
  void Run();
  void WriteAll(const std::string& bytes);

  const BatchingSinkOptions options_;
  mutable std::mutex mu_;  // guards the members below; never held while writing
  std::condition_variable wake_;
  std::string pending_;
  bool urgent_ = false;
  bool stop_ = false;
  uint64_t dropped_ = 0;
  spdlog::memory_buf_t line_;  // formatting scratch, guarded by base_sink's mutex
  std::thread writer_;
};

}  // namespace hybridgate::gateway
