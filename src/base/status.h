// Status and Result<T>: how operating errors travel between modules.
//
// An operating error is expected (a missing file, a malformed request, a lost
// leadership) and every caller must handle it; programmer errors are
// RQ_ASSERTs instead (base/assert.h). No exception crosses a module boundary:
// Boost and SQLite exceptions are caught at the edge and become a Status.
//
// Thread-safety: values; safe to copy between threads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "base/assert.h"

namespace rq {

class [[nodiscard]] Status {
 public:
  // Never renumber: codes travel in peer frames (cluster/) as integers.
  enum class Code : uint8_t {
    kOk = 0,
    kNotFound = 1,
    kCorruption = 2,
    kIOError = 3,
    kInvalidArgument = 4,
    kNotSupported = 5,
    kBusy = 6,          // a bounded queue is full; retry later
    kNotLeader = 7,     // this node cannot serve; the leader may be elsewhere
    kTimeout = 8,
    kAborted = 9,       // shutting down, or the operation was cancelled
    kUnknownOutcome = 10,  // leadership lost mid-write: it may or may not commit
    kUnavailable = 11,  // e.g. no leader known, store not open
    kInternal = 12,
  };

  Status() = default;
  static Status OK() { return Status(); }
  static Status NotFound(std::string_view m) { return {Code::kNotFound, m}; }
  static Status Corruption(std::string_view m) { return {Code::kCorruption, m}; }
  static Status IOError(std::string_view m) { return {Code::kIOError, m}; }
  static Status InvalidArgument(std::string_view m) { return {Code::kInvalidArgument, m}; }
  static Status NotSupported(std::string_view m) { return {Code::kNotSupported, m}; }
  static Status Busy(std::string_view m) { return {Code::kBusy, m}; }
  static Status NotLeader(std::string_view m) { return {Code::kNotLeader, m}; }
  static Status Timeout(std::string_view m) { return {Code::kTimeout, m}; }
  static Status Aborted(std::string_view m) { return {Code::kAborted, m}; }
  static Status UnknownOutcome(std::string_view m) { return {Code::kUnknownOutcome, m}; }
  static Status Unavailable(std::string_view m) { return {Code::kUnavailable, m}; }
  static Status Internal(std::string_view m) { return {Code::kInternal, m}; }
  static Status FromCode(Code code, std::string_view m) { return {code, m}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  bool IsNotFound() const { return code_ == Code::kNotFound; }
  bool IsCorruption() const { return code_ == Code::kCorruption; }
  bool IsIOError() const { return code_ == Code::kIOError; }
  bool IsInvalidArgument() const { return code_ == Code::kInvalidArgument; }
  bool IsBusy() const { return code_ == Code::kBusy; }
  bool IsNotLeader() const { return code_ == Code::kNotLeader; }
  bool IsTimeout() const { return code_ == Code::kTimeout; }

  // "Corruption: crc mismatch in 00000001.wal at 81920"
  std::string ToString() const;

  // Prefixes the message with context, keeping the code.
  Status WithContext(std::string_view context) const;

 private:
  Status(Code code, std::string_view message) : code_(code), message_(message) {}
  Code code_ = Code::kOk;
  std::string message_;
};

// Either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}  // NOLINT: implicit on purpose
  Result(Status status) : state_(std::move(status)) {  // NOLINT
    RQ_ASSERT(!std::get<Status>(state_).ok());
  }

  bool ok() const { return std::holds_alternative<T>(state_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(state_);
  }
  T& value() & {
    RQ_ASSERT(ok());
    return std::get<T>(state_);
  }
  const T& value() const& {
    RQ_ASSERT(ok());
    return std::get<T>(state_);
  }
  T&& value() && {
    RQ_ASSERT(ok());
    return std::get<T>(std::move(state_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> state_;
};

}  // namespace rq

#define RQ_RETURN_IF_ERROR(expr)          \
  do {                                    \
    ::rq::Status rq_status_ = (expr);     \
    if (!rq_status_.ok()) return rq_status_; \
  } while (0)

// `lhs = value of expr`, or return expr's status from the enclosing function
// when it failed. lhs may declare a variable: RQ_ASSIGN_OR_RETURN(int n, F()).
#define RQ_ASSIGN_OR_RETURN(lhs, expr) RQ_ASSIGN_OR_RETURN_IMPL_(RQ_STATUS_CONCAT_(rq_result_, __LINE__), lhs, expr)
#define RQ_STATUS_CONCAT_(a, b) RQ_STATUS_CONCAT_INNER_(a, b)
#define RQ_STATUS_CONCAT_INNER_(a, b) a##b
#define RQ_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()
