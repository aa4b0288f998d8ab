// Bridges the engine's decode thread to one Asio coroutine: the engine calls Notifier() after new
// progress; the coroutine co_awaits Wait() and then calls Job::Take. Wake-ups are coalesced (one
// post per burst), spurious wake-ups are harmless, and none is lost: the flag is set before the
// post, and Wait() checks it before sleeping. The io_context must be single-threaded (the
// gateway's are: one per worker).
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <functional>
#include <memory>

namespace hybridgate::engine {

class JobWaiter {
 public:
  explicit JobWaiter(boost::asio::any_io_executor ex)
      : state_(std::make_shared<State>(std::move(ex))) {}

  // Thread-safe; keeps the waiter's state alive while a post is in flight.
  std::function<void()> Notifier() const {
    return [s = state_] {
      if (!s->flag.exchange(true)) {
        boost::asio::post(s->timer.get_executor(), [s] { s->timer.cancel(); });
      }
    };
  }

  // Returns once notified since the previous Wait(), or after `timeout`.
  boost::asio::awaitable<void> Wait(std::chrono::steady_clock::duration timeout) {
    if (state_->flag.exchange(false)) co_return;
    state_->timer.expires_after(timeout);
    boost::system::error_code ec;
    co_await state_->timer.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    state_->flag.store(false);
  }

 private:
  struct State {
    explicit State(boost::asio::any_io_executor ex) : timer(std::move(ex)) {}
    boost::asio::steady_timer timer;
    std::atomic<bool> flag{false};
  };
  std::shared_ptr<State> state_;
};

}  // namespace hybridgate::engine
