// One hiredis async connection driven by Boost.Asio: hiredis's event hooks (addRead, delRead,
// addWrite, delWrite, cleanup) become async_waits on a posix::stream_descriptor that wraps
// hiredis's socket on the io_context of one worker. Replies are copied into RedisValue and hand
// back to the waiting coroutine through a timer, so no coroutine runs inside a hiredis callback.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "limits/limits_config.h"

struct redisAsyncContext;

namespace hybridgate::limits {

namespace asio = boost::asio;

struct RedisValue {
  enum class Type : uint8_t { kNil, kInteger, kString, kStatus, kError, kArray };
  Type type = Type::kNil;
  int64_t integer = 0;
  std::string str;  // kString, kStatus, kError
  std::vector<RedisValue> elements;
};

// Owned by shared_ptr. Every member must be called on the thread running the executor's
// io_context. Destroy it while that io_context still exists (stopped or on its own thread).
class RedisConnection : public std::enable_shared_from_this<RedisConnection> {
 public:
  RedisConnection(asio::any_io_executor executor, RedisAddress address,
                  std::chrono::milliseconds reconnect_backoff);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // Sends one command and waits up to `timeout` for the reply, connecting first when there is no
  // connection (not sooner than reconnect_backoff after the last failure). A Redis error reply is
  // a value of type kError; a failure is kUnavailable (refused, lost) or kUpstreamTimeout, after
  // which the connection is dropped so that a hung server does not collect waiters.
  asio::awaitable<Result<RedisValue>> Command(std::vector<std::string> argv,
                                              std::chrono::milliseconds timeout);

  bool connected() const { return ac_ != nullptr; }

 private:
  struct Pending;
  asio::awaitable<Status> Connect(std::chrono::steady_clock::time_point deadline);
  void Drop();
  void ArmRead();
  void ArmWrite();
  void OnReadable(uint64_t generation, boost::system::error_code ec);
  void OnWritable(uint64_t generation, boost::system::error_code ec);
  void OnCleanup();
  Error Unavailable(std::string_view why) const;

  static void HookAddRead(void* self);
  static void HookDelRead(void* self);
  static void HookAddWrite(void* self);
  static void HookDelWrite(void* self);
  static void HookCleanup(void* self);
  static void OnReply(redisAsyncContext* ac, void* reply, void* privdata);

  asio::any_io_executor executor_;
  RedisAddress address_;
  std::chrono::milliseconds reconnect_backoff_;
  redisAsyncContext* ac_ = nullptr;
  std::optional<asio::posix::stream_descriptor> socket_;  // wraps ac_'s fd; never closes it
  uint64_t generation_ = 0;  // bumped per connection; stale waits compare and leave
  bool want_read_ = false, want_write_ = false;
  bool read_armed_ = false, write_armed_ = false;
  std::chrono::steady_clock::time_point retry_at_{};
};

}  // namespace hybridgate::limits
