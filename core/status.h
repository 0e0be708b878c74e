// Status and Result<T>: the one error vocabulary of gqaforge.
//
// Recoverable failures (bad input, missing device, compile errors, corrupt files) travel as a
// Status with a small code set and a message that names the value at fault. Programmer errors
// are asserts, not statuses.
#pragma once

#include <cassert>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include <fmt/format.h>

namespace gqaforge {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // the caller passed a bad value (flag, shape, config, file content)
  kFailedPrecondition,  // the system is not in a state to do this (no GPU, newer db schema)
  kNotFound,            // a named thing (file, preset, row) does not exist
  kResourceExhausted,   // shared memory, registers, device memory, time budget
  kUnavailable,         // an external component cannot be reached (driver, NVRTC)
  kDataLoss,            // a file is corrupt or truncated
  kInternal,            // a bug or an unexpected failure of a dependency
};

/// Name of a status code, lower case ("invalid_argument").
const char* status_code_name(StatusCode code);

/// Success, or a code with a message. Cheap to copy when ok.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok_status() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  /// Returns a copy whose message is "context: message".
  Status with_context(const std::string& context) const;

  /// "invalid_argument: message", or "ok".
  std::string to_string() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status ok_status() {
  return Status();
}

#define GQF_DEFINE_STATUS_FACTORY(fn, code)                                            \
  template <typename... Args>                                                          \
  Status fn(fmt::format_string<Args...> format, Args&&... args) {                      \
    return Status(StatusCode::code, fmt::format(format, std::forward<Args>(args)...)); \
  }
GQF_DEFINE_STATUS_FACTORY(invalid_argument, kInvalidArgument)
GQF_DEFINE_STATUS_FACTORY(failed_precondition, kFailedPrecondition)
GQF_DEFINE_STATUS_FACTORY(not_found, kNotFound)
GQF_DEFINE_STATUS_FACTORY(resource_exhausted, kResourceExhausted)
GQF_DEFINE_STATUS_FACTORY(unavailable, kUnavailable)
GQF_DEFINE_STATUS_FACTORY(data_loss, kDataLoss)
GQF_DEFINE_STATUS_FACTORY(internal_error, kInternal)
#undef GQF_DEFINE_STATUS_FACTORY

/// A value of type T, or the Status that explains why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::move(value)) {}        // NOLINT(implicit)
  Result(Status status) : data_(std::move(status)) {  // NOLINT(implicit)
    assert(!std::get<Status>(data_).ok() && "a Result cannot hold an ok Status");
  }

  bool ok() const { return std::holds_alternative<T>(data_); }
  Status status() const { return ok() ? Status() : std::get<Status>(data_); }

  T& value() & {
    assert(ok());
    return std::get<T>(data_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<T>(data_);
  }
  T&& value() && {
    assert(ok());
    return std::get<T>(std::move(data_));
  }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> data_;
};

namespace detail {
inline Status to_status(const Status& s) {
  return s;
}
template <typename T>
Status to_status(const Result<T>& r) {
  return r.status();
}
}  // namespace detail

}  // namespace gqaforge

#define GQF_CONCAT_INNER(a, b) a##b
#define GQF_CONCAT(a, b) GQF_CONCAT_INNER(a, b)

/// Returns the status of `expr` from the enclosing function if it is not ok.
#define GQF_RETURN_IF_ERROR(expr)                                         \
  do {                                                                    \
    ::gqaforge::Status gqf_status_ = ::gqaforge::detail::to_status(expr); \
    if (!gqf_status_.ok()) return gqf_status_;                            \
  } while (0)

/// Like GQF_RETURN_IF_ERROR, prefixing the message with `context` (a std::string).
#define GQF_RETURN_IF_ERROR_CTX(expr, context)                            \
  do {                                                                    \
    ::gqaforge::Status gqf_status_ = ::gqaforge::detail::to_status(expr); \
    if (!gqf_status_.ok()) return gqf_status_.with_context(context);      \
  } while (0)

/// Evaluates `expr` (a Result<T>); on error returns its status, else moves the value into `lhs`.
#define GQF_ASSIGN_OR_RETURN(lhs, expr) GQF_ASSIGN_OR_RETURN_IMPL(GQF_CONCAT(gqf_result_, __LINE__), lhs, expr)
#define GQF_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()
