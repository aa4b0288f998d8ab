// Result<T>: a value or an Error, never an exception across module boundaries.
// std::expected where the standard library has it (GCC 12, C++23); a small compatible subset
// otherwise (clang 14, used for the libFuzzer targets, cannot compile libstdc++'s <expected>).
#pragma once

#include <utility>
#include <variant>
#if __has_include(<expected>)
#include <expected>
#endif

#include "common/error.h"

namespace hybridgate {

#if defined(__cpp_lib_expected)
template <class T>
using Result = std::expected<T, Error>;
inline std::unexpected<Error> Fail(Error e) { return std::unexpected<Error>(std::move(e)); }
#else
namespace detail {
struct Unexpected {
  Error error;
};
template <class T>
class Expected {
 public:
  Expected(const T& v) : v_(std::in_place_index<0>, v) {}
  Expected(T&& v) : v_(std::in_place_index<0>, std::move(v)) {}
  template <class U, class = std::enable_if_t<std::is_constructible_v<T, U&&> &&
                                              !std::is_same_v<std::decay_t<U>, Unexpected> &&
                                              !std::is_same_v<std::decay_t<U>, Expected> > >
  Expected(U&& v) : v_(std::in_place_index<0>, T(std::forward<U>(v))) {}
  Expected(Unexpected u) : v_(std::in_place_index<1>, std::move(u.error)) {}
  template <class... Args>
  explicit Expected(std::in_place_t, Args&&... args)
      : v_(std::in_place_index<0>, std::forward<Args>(args)...) {}
  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return std::get<0>(v_); }
  const T& operator*() const& { return std::get<0>(v_); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  Error& error() & { return std::get<1>(v_); }
  const Error& error() const& { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};
template <>
class Expected<void> {
 public:
  Expected() = default;
  Expected(Unexpected u) : e_(std::move(u.error)), ok_(false) {}
  bool has_value() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return e_; }

 private:
  Error e_;
  bool ok_ = true;
};
}  // namespace detail
template <class T>
using Result = detail::Expected<T>;
inline detail::Unexpected Fail(Error e) { return detail::Unexpected{std::move(e)}; }
#endif

// Status is a Result with no value.
using Status = Result<void>;

// Returns the error of `expr` (any Result) from the enclosing function, which may return any
// Result, if it failed.
#define HG_TRY(expr)                                                                \
  do {                                                                              \
    if (auto st_ = (expr); !st_) return ::hybridgate::Fail(std::move(st_.error())); \
  } while (0)

}  // namespace hybridgate
