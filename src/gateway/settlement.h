// Settlement: the one owner of what an admitted request holds against its key — TPM tokens and
// worst-case spend (limits::Reservation). Made when the limiter admits a request; settled exactly
// once: by Settle() with what the request really used, or, on any path that never gets there
// (an exception, a cancelled coroutine, an early return), by the destructor, which charges the
// whole reservation on a detached coroutine on the executor the request ran on. Whatever
// happens to a request, its key pays for it.
//
// Lives in the request's state and is touched only on that request's event loop.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <memory>

#include "limits/keys.h"
#include "limits/limiter.h"

namespace hybridgate::gateway {

class Settlement {
 public:
  Settlement() = default;  // holds nothing (auth off, or the request was not admitted)
  // `errors` (may be null) counts a settlement in the destructor that failed with an exception.
  Settlement(limits::Limiter& limiter, std::shared_ptr<const limits::KeyInfo> key,
             limits::Reservation hold, boost::asio::any_io_executor executor,
             std::atomic<uint64_t>* errors)
      : limiter_(&limiter),
        key_(std::move(key)),
        hold_(hold),
        executor_(std::move(executor)),
        errors_(errors) {}
  Settlement(Settlement&& other) noexcept { *this = std::move(other); }
  Settlement& operator=(Settlement&& other) noexcept;
  Settlement(const Settlement&) = delete;
  Settlement& operator=(const Settlement&) = delete;
  ~Settlement();

  bool holds() const { return limiter_ != nullptr; }
  const limits::Reservation& hold() const { return hold_; }

  // Replaces the reservation by `actual_tokens` and `cost_usd`; later calls do nothing.
  boost::asio::awaitable<void> Settle(int64_t actual_tokens, double cost_usd);

 private:
  // Charges the whole reservation when it was never settled.
  void Abandon();

  limits::Limiter* limiter_ = nullptr;  // null: nothing held, or already settled
  std::shared_ptr<const limits::KeyInfo> key_;
  limits::Reservation hold_;
  boost::asio::any_io_executor executor_;
  std::atomic<uint64_t>* errors_ = nullptr;
};

}  // namespace hybridgate::gateway
