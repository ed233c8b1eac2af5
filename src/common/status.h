// Status and Result<T>: the one error vocabulary of Arcella.
//
// A Status is OK or carries a code and a human-readable message that names
// what is wrong and where (file, byte offset, key...). Result<T> holds either
// a value or a non-OK Status. Both are cheap to move and [[nodiscard]].
//
// Guest-visible failures (traps, WASI errno) are NOT Statuses: see
// engine/trap.h and wasi/. A Status means the host could not do what was
// asked (bad input, I/O error, misuse of an API).
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace arcella {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // the caller passed something malformed
  kNotFound,            // a named thing does not exist
  kAlreadyExists,       // a named thing exists already
  kFailedPrecondition,  // the request is valid but the state forbids it
  kUnsupported,         // valid, but a feature this build cannot do
  kIoError,             // the OS refused (errno text in the message)
  kCorruption,          // stored data is damaged
  kInternal,            // a bug: an impossible state was reached
  kCancelled,           // the caller asked to stop (cancel flag, signal, deadline)
  kUnavailable,         // the serving process or resource is gone or overloaded; retry later
};

const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string m) {
    return {StatusCode::kInvalidArgument, std::move(m)};
  }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
  static Status FailedPrecondition(std::string m) {
    return {StatusCode::kFailedPrecondition, std::move(m)};
  }
  static Status Unsupported(std::string m) { return {StatusCode::kUnsupported, std::move(m)}; }
  static Status IoError(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
  static Status Corruption(std::string m) { return {StatusCode::kCorruption, std::move(m)}; }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
  static Status Cancelled(std::string m) { return {StatusCode::kCancelled, std::move(m)}; }
  static Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "invalid argument: <message>", or "OK".
  std::string ToString() const;

  // Prefixes the message with context: "reading x.wasm: <old message>".
  Status WithContext(const std::string& context) const {
    if (ok()) return *this;
    return Status(code_, context + ": " + message_);
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    assert(!std::get<Status>(v_).ok() && "Result needs a value or an error");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace arcella

// Early-return helpers.
#define ARCELLA_RETURN_IF_ERROR(expr) \
  do {                                \
    ::arcella::Status _st = (expr);   \
    if (!_st.ok()) return _st;        \
  } while (0)

#define ARCELLA_CONCAT_INNER(a, b) a##b
#define ARCELLA_CONCAT(a, b) ARCELLA_CONCAT_INNER(a, b)
#define ARCELLA_ASSIGN_OR_RETURN(lhs, expr)                                                   \
  auto ARCELLA_CONCAT(_res_, __LINE__) = (expr);                                              \
  if (!ARCELLA_CONCAT(_res_, __LINE__).ok()) return ARCELLA_CONCAT(_res_, __LINE__).status(); \
  lhs = std::move(ARCELLA_CONCAT(_res_, __LINE__)).value()
