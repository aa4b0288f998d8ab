// Blocking work from a coroutine, off the event loop: RunOn runs `f` on `pool` (a store's own
// thread) and resumes the awaiting coroutine with its result on the coroutine's own executor.
// Plain lambdas rather than a coroutine on the pool: GCC 12 frees a coroutine lambda's captures
// wrongly. `f` and its captures must stay valid until the await returns (views into the
// caller's frame are fine: it waits).
#pragma once

#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <utility>

namespace hybridgate {

template <typename T, typename F>
boost::asio::awaitable<T> RunOn(boost::asio::thread_pool& pool, F f) {
  namespace asio = boost::asio;
  auto home = co_await asio::this_coro::executor;
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(T)>(
      [&pool, home](auto handler, F work) {
        asio::post(pool, [handler = std::move(handler), work = std::move(work), home]() mutable {
          T result = work();
          asio::post(home, [handler = std::move(handler), result = std::move(result)]() mutable {
            std::move(handler)(std::move(result));
          });
        });
      },
      asio::use_awaitable, std::move(f));
}

}  // namespace hybridgate
