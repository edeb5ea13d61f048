#pragma once
// Result<T>: the one error convention of nauto. Functions that can fail in an expected way
// (bad input, a device that says no, a full disk) return Result<T>; exceptions are reserved for
// bugs and start-up, and are caught at the adapter that calls a throwing library.
// Member names follow std::expected so the move to C++23 is a `using` change.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace nauto {

/// Kinds of failure, grouped the way an operator acts on them.
enum class Errc : std::uint8_t {
  InvalidArgument,    ///< the caller passed something malformed (a bad key, an unknown topic form)
  InvalidConfig,      ///< a configuration value breaks a rule that can be stated
  Malformed,          ///< bytes from the wire that do not decode
  NotFound,           ///< a normal outcome: the thing asked for does not exist
  Unavailable,        ///< nobody serves this (no module owns the service, peer gone)
  Timeout,            ///< a deadline passed
  Overloaded,         ///< a bounded queue is full; retry later
  ResourceExhausted,  ///< a hard limit was hit (store map full, memory cap)
  System,             ///< an errno from the operating system
  Library,            ///< a third-party library failed (zmq, LMDB, yaml-cpp)
  Unsupported,        ///< the operation is not available in this configuration
  Cancelled,          ///< stopped on request
  Unreachable,        ///< a connection was refused, reset or dropped; transient, worth a retry
  Unauthenticated,    ///< credentials were refused; never retried (it would lock accounts)
  Untrusted,          ///< a peer's identity did not verify (host key, TLS); never retried
  Rejected,           ///< the device understood the request and said no (`% Invalid input`)
  Conflict,           ///< what was checked changed since (an approved diff no longer matches)
  Bug,                ///< an invariant of ours broke; always worth a report
  PermissionDenied,   ///< the verified caller may not do this (issue 30); never retried
};

/// Stable lower-case name of a code, used on the wire and in JSON output.
std::string_view errc_name(Errc code) noexcept;
/// Inverse of errc_name; unknown names map to Errc::Bug.
Errc errc_from_name(std::string_view name) noexcept;

/// What went wrong (message, written for the operator), and where (component or key path).
struct Error {
  Errc code = Errc::Bug;
  std::string message;
  std::string where;

  /// "where: message" or just the message; never contains secrets by construction of callers.
  std::string describe() const;
};

/// Builds an Error; reads well at return sites: `return fail(Errc::NotFound, "no such table")`.
inline Error fail(Errc code, std::string message, std::string where = {}) {
  return Error{code, std::move(message), std::move(where)};
}

/// A value or an Error. Invariant: exactly one of them is held.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value)
      : data_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : data_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool has_value() const noexcept { return data_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  T& value() & { return std::get<0>(data_); }
  const T& value() const& { return std::get<0>(data_); }
  T&& value() && { return std::get<0>(std::move(data_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& { return std::get<1>(data_); }
  Error&& error() && { return std::get<1>(std::move(data_)); }

  template <typename U>
  T value_or(U&& fallback) const& {
    return has_value() ? value() : static_cast<T>(std::forward<U>(fallback));
  }

 private:
  std::variant<T, Error> data_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), failed_(true) {}  // NOLINT

  bool has_value() const noexcept { return !failed_; }
  explicit operator bool() const noexcept { return !failed_; }
  void value() const {}
  const Error& error() const& { return error_; }
  Error&& error() && { return std::move(error_); }

 private:
  Error error_;
  bool failed_ = false;
};

/// The success value of Result<void>, for symmetry at return sites.
inline Result<void> ok() {
  return {};
}

}  // namespace nauto
