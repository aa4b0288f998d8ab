#include "gateway/settlement.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "http/server.h"

namespace hybridgate::gateway {

namespace asio = boost::asio;

Settlement& Settlement::operator=(Settlement&& other) noexcept {
  if (this != &other) {
    Abandon();
    limiter_ = std::exchange(other.limiter_, nullptr);
    key_ = std::move(other.key_);
    hold_ = other.hold_;
    executor_ = std::move(other.executor_);
    errors_ = other.errors_;
  }
  return *this;
}

asio::awaitable<void> Settlement::Settle(int64_t actual_tokens, double cost_usd) {
  limits::Limiter* limiter = std::exchange(limiter_, nullptr);
  if (!limiter) co_return;
  co_await limiter->Settle(*key_, hold_, actual_tokens, cost_usd);
}

Settlement::~Settlement() { Abandon(); }

void Settlement::Abandon() {
  limits::Limiter* limiter = std::exchange(limiter_, nullptr);
  if (!limiter) return;
  // Never settled: the request's path ended some other way. Its whole reservation is spent.
  const limits::Reservation hold = hold_;
  asio::co_spawn(
      executor_,
      [](limits::Limiter* l, std::shared_ptr<const limits::KeyInfo> key,
         limits::Reservation held) -> asio::awaitable<void> {
        co_await l->Settle(*key, held, held.tokens, limits::FromMicroUsd(held.micro_usd));
      }(limiter, std::move(key_), hold),
      http::LogFailure{"settling an abandoned request", errors_});
}

}  // namespace hybridgate::gateway
