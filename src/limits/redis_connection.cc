#include "limits/redis_connection.h"

#include <fmt/format.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace hybridgate::limits {
namespace {

using SteadyClock = std::chrono::steady_clock;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

RedisValue Convert(const redisReply* r) {
  RedisValue v;
  switch (r->type) {
    case REDIS_REPLY_INTEGER:
      v.type = RedisValue::Type::kInteger;
      v.integer = r->integer;
      break;
    case REDIS_REPLY_STRING:
      v.type = RedisValue::Type::kString;
      v.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      v.type = RedisValue::Type::kStatus;
      v.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      v.type = RedisValue::Type::kError;
      v.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ARRAY:
      v.type = RedisValue::Type::kArray;
      for (size_t i = 0; i < r->elements; ++i) v.elements.push_back(Convert(r->element[i]));
      break;
    default:
      break;
  }
  return v;
}

// Sends a command whose reply nobody waits for (AUTH, SELECT at connect).
void Fire(redisAsyncContext* ac, const std::vector<std::string>& argv) {
  std::vector<const char*> ptrs;
  std::vector<size_t> lens;
  for (const auto& a : argv) {
    ptrs.push_back(a.data());
    lens.push_back(a.size());
  }
  redisAsyncCommandArgv(ac, nullptr, nullptr, static_cast<int>(argv.size()), ptrs.data(),
                        lens.data());
}

}  // namespace

// One command in flight. hiredis holds a shared_ptr to it (as privdata) until its callback runs,
// which hiredis guarantees, with a null reply when the connection goes away.
struct RedisConnection::Pending {
  explicit Pending(const asio::any_io_executor& ex) : timer(ex) {}
  asio::steady_timer timer;  // expires at the deadline; cancelled when the reply arrives
  std::optional<Result<RedisValue>> result;
};

RedisConnection::RedisConnection(asio::any_io_executor executor, RedisAddress address,
                                 std::chrono::milliseconds reconnect_backoff)
    : executor_(std::move(executor)),
      address_(std::move(address)),
      reconnect_backoff_(reconnect_backoff) {}

RedisConnection::~RedisConnection() { Drop(); }

Error RedisConnection::Unavailable(std::string_view why) const {
  return MakeError(ErrorCode::kUnavailable,
                   fmt::format("redis {}:{}: {}", address_.host, address_.port, why));
}

void RedisConnection::Drop() {
  if (ac_ != nullptr) redisAsyncFree(ac_);  // runs OnReply(null) for each waiter, then cleanup
}

asio::awaitable<Status> RedisConnection::Connect(SteadyClock::time_point deadline) {
  using namespace asio::experimental::awaitable_operators;
  std::string ip = address_.host;
  boost::system::error_code ec;
  asio::ip::make_address(ip, ec);
  if (ec) {  // a host name: resolve without blocking the loop (hiredis would, in getaddrinfo)
    asio::ip::tcp::resolver resolver(executor_);
    asio::steady_timer timer(executor_, deadline);
    auto r =
        co_await (resolver.async_resolve(address_.host, std::to_string(address_.port), kTuple) ||
                  timer.async_wait(kTuple));
    if (r.index() == 1) co_return Fail(Unavailable("timed out resolving the host name"));
    auto& [rec, results] = std::get<0>(r);
    if (rec || results.empty()) {
      co_return Fail(Unavailable(fmt::format("cannot resolve host: {}", rec.message())));
    }
    ip = results.begin()->endpoint().address().to_string();
  }
  redisAsyncContext* ac = redisAsyncConnect(ip.c_str(), address_.port);
  if (ac == nullptr) co_return Fail(Unavailable("out of memory"));
  if (ac->err) {
    Error e = Unavailable(fmt::format("connect: {}", ac->errstr));
    redisAsyncFree(ac);
    co_return Fail(std::move(e));
  }
  ac_ = ac;
  ++generation_;
  socket_.emplace(executor_, ac->c.fd);
  ac->ev.data = this;
  ac->ev.addRead = &HookAddRead;
  ac->ev.delRead = &HookDelRead;
  ac->ev.addWrite = &HookAddWrite;
  ac->ev.delWrite = &HookDelWrite;
  ac->ev.cleanup = &HookCleanup;
  // Queued before any caller's command, so they run first once the socket connects.
  if (!address_.password.empty()) {
    if (address_.user.empty()) {
      Fire(ac, {"AUTH", address_.password});
    } else {
      Fire(ac, {"AUTH", address_.user, address_.password});
    }
  }
  if (address_.db != 0) Fire(ac, {"SELECT", std::to_string(address_.db)});
  co_return Status{};
}

asio::awaitable<Result<RedisValue>> RedisConnection::Command(std::vector<std::string> argv,
                                                             std::chrono::milliseconds timeout) {
  const auto start = SteadyClock::now();
  const auto deadline = start + timeout;
  if (ac_ == nullptr) {
    if (start < retry_at_) co_return Fail(Unavailable("not connected (waiting to reconnect)"));
    Status s = co_await Connect(deadline);
    if (!s) {
      retry_at_ = SteadyClock::now() + reconnect_backoff_;
      co_return Fail(s.error());
    }
  }
  std::vector<const char*> ptrs;
  std::vector<size_t> lens;
  for (const auto& a : argv) {
    ptrs.push_back(a.data());
    lens.push_back(a.size());
  }
  auto pending = std::make_shared<Pending>(executor_);
  auto* holder = new std::shared_ptr<Pending>(pending);
  if (redisAsyncCommandArgv(ac_, &OnReply, holder, static_cast<int>(argv.size()), ptrs.data(),
                            lens.data()) != REDIS_OK) {
    delete holder;
    co_return Fail(Unavailable("connection is closing"));
  }
  pending->timer.expires_at(deadline);
  if (!pending->result) co_await pending->timer.async_wait(kTuple);
  if (!pending->result) {
    Drop();
    retry_at_ = SteadyClock::now() + reconnect_backoff_;
    co_return Fail(MakeError(ErrorCode::kUpstreamTimeout,
                             fmt::format("redis {}:{}: no reply within {} ms", address_.host,
                                         address_.port, timeout.count())));
  }
  co_return std::move(*pending->result);
}

void RedisConnection::OnReply(redisAsyncContext* ac, void* reply, void* privdata) {
  std::unique_ptr<std::shared_ptr<Pending>> holder(
      static_cast<std::shared_ptr<Pending>*>(privdata));
  Pending& p = **holder;
  if (reply != nullptr) {
    p.result = Convert(static_cast<redisReply*>(reply));
  } else {
    auto* self = static_cast<RedisConnection*>(ac->ev.data);
    const std::string why =
        ac->err ? fmt::format("connection lost: {}", ac->errstr) : std::string("connection closed");
    p.result = self ? Fail(self->Unavailable(why))
                    : Fail(MakeError(ErrorCode::kUnavailable, "redis: " + why));
  }
  p.timer.cancel();  // wakes the waiter through the io_context, never inline
}

void RedisConnection::ArmRead() {
  if (read_armed_ || !socket_) return;
  read_armed_ = true;
  socket_->async_wait(asio::posix::descriptor_base::wait_read,
                      [weak = weak_from_this(), gen = generation_](boost::system::error_code ec) {
                        if (auto self = weak.lock()) self->OnReadable(gen, ec);
                      });
}

void RedisConnection::ArmWrite() {
  if (write_armed_ || !socket_) return;
  write_armed_ = true;
  socket_->async_wait(asio::posix::descriptor_base::wait_write,
                      [weak = weak_from_this(), gen = generation_](boost::system::error_code ec) {
                        if (auto self = weak.lock()) self->OnWritable(gen, ec);
                      });
}

void RedisConnection::OnReadable(uint64_t generation, boost::system::error_code ec) {
  if (generation != generation_) return;
  read_armed_ = false;
  if (ec || ac_ == nullptr) return;
  if (want_read_) redisAsyncHandleRead(ac_);  // may free ac_ (OnCleanup bumps generation_)
  if (generation == generation_ && ac_ != nullptr && want_read_) ArmRead();
}

void RedisConnection::OnWritable(uint64_t generation, boost::system::error_code ec) {
  if (generation != generation_) return;
  write_armed_ = false;
  if (ec || ac_ == nullptr) return;
  if (want_write_) redisAsyncHandleWrite(ac_);
  if (generation == generation_ && ac_ != nullptr && want_write_) ArmWrite();
}

void RedisConnection::OnCleanup() {
  ac_ = nullptr;
  ++generation_;
  want_read_ = want_write_ = read_armed_ = write_armed_ = false;
  if (socket_) {
    socket_->release();  // hiredis closes the fd itself; release cancels our waits
    socket_.reset();
  }
}

void RedisConnection::HookAddRead(void* self) {
  auto* c = static_cast<RedisConnection*>(self);
  c->want_read_ = true;
  c->ArmRead();
}
void RedisConnection::HookDelRead(void* self) {
  static_cast<RedisConnection*>(self)->want_read_ = false;
}
void RedisConnection::HookAddWrite(void* self) {
  auto* c = static_cast<RedisConnection*>(self);
  c->want_write_ = true;
  c->ArmWrite();
}
void RedisConnection::HookDelWrite(void* self) {
  static_cast<RedisConnection*>(self)->want_write_ = false;
}
void RedisConnection::HookCleanup(void* self) { static_cast<RedisConnection*>(self)->OnCleanup(); }

}  // namespace hybridgate::limits
