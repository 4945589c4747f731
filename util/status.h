// Status and Result<T>: expected failures as values (see docs/ARCHITECTURE.md).
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace jobd {

// Codes say what the caller should do, not where the failure came from.
enum class StatusCode {
  kOk,
  kInvalidArgument,  // the input is wrong: report it, do not retry
  kNotFound,         // the thing named does not exist
  kUnavailable,      // the peer is gone or not answering: reconnect or give up
  kFailed,           // an operation failed (a syscall, a decode)
  kPermissionDenied, // the caller may not do this (another user's job)
};

class Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string msg) {
    return Status(StatusCode::kInvalidArgument, std::move(msg));
  }
  static Status NotFound(std::string msg) {
    return Status(StatusCode::kNotFound, std::move(msg));
  }
  static Status Unavailable(std::string msg) {
    return Status(StatusCode::kUnavailable, std::move(msg));
  }
  static Status Failed(std::string msg) {
    return Status(StatusCode::kFailed, std::move(msg));
  }
  static Status PermissionDenied(std::string msg) {
    return Status(StatusCode::kPermissionDenied, std::move(msg));
  }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  Status(StatusCode code, std::string msg)
      : code_(code), message_(std::move(msg)) {}

  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Turns errno into a Status naming the operation and its object,
// e.g. SysError("bind", "ipc:///run/jobd.sock", errno).
Status SysError(const std::string& operation, const std::string& object,
                int err);

// A value or the Status saying why there is none.
template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit on purpose
  Result(Status status) : value_(std::move(status)) {  // NOLINT
    assert(!std::get<Status>(value_).ok());
  }

  bool ok() const { return std::holds_alternative<T>(value_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(value_);
  }
  T& value() & { return std::get<T>(value_); }
  const T& value() const& { return std::get<T>(value_); }
  T&& value() && { return std::get<T>(std::move(value_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> value_;
};

}  // namespace jobd
