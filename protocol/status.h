// Status and Result<T>: the error model across every module boundary.
//
// A Status is either ok or an error carrying a message and, when the error can reach a
// PostgreSQL client, a SQLSTATE (protocol/sqlstate.h) and an optional hint. Functions that
// can fail return Status or Result<T>; exceptions never cross module boundaries.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace pgtenant {

class [[nodiscard]] Status {
 public:
  Status() = default;  // ok

  static Status Ok() { return Status(); }
  // An error with no SQLSTATE (configuration, internal). Reported to clients as XX000.
  static Status Error(std::string message) { return Status(std::string(), std::move(message), std::string()); }
  // An error a client may see: SQLSTATE, message, optional hint.
  static Status Error(std::string_view sqlstate, std::string message, std::string hint = std::string()) {
    return Status(std::string(sqlstate), std::move(message), std::move(hint));
  }

  bool ok() const { return !error_; }
  // Empty when ok or when the error carries no SQLSTATE.
  const std::string& sqlstate() const { return sqlstate_; }
  const std::string& message() const { return message_; }
  const std::string& hint() const { return hint_; }
  std::string ToString() const {
    if (ok()) return "OK";
    return sqlstate_.empty() ? message_ : sqlstate_ + ": " + message_;
  }

 private:
  Status(std::string sqlstate, std::string message, std::string hint)
      : error_(true), sqlstate_(std::move(sqlstate)), message_(std::move(message)), hint_(std::move(hint)) {}

  bool error_ = false;
  std::string sqlstate_;
  std::string message_;
  std::string hint_;
};

// A value or the Status that explains its absence. REQUIRES: construct from an error Status only.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(v_); }
  // REQUIRES: ok()
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &std::get<T>(v_); }
  const T* operator->() const { return &std::get<T>(v_); }
  T& operator*() & { return std::get<T>(v_); }
  const T& operator*() const& { return std::get<T>(v_); }
  // Ok when ok(); otherwise the error.
  Status status() const { return ok() ? Status() : std::get<Status>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace pgtenant
