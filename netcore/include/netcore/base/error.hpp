#pragma once

#include <exception>
#include <string>
#include <string_view>
#include <vector>

namespace netcore {

// CNI error codes (spec §a8). Codes below 100 are the spec's; 8 and 999 are the reference Go library's.
enum class ErrorCode : int {
  kIncompatibleVersion = 1,
  kUnsupportedField = 2,
  kUnknownContainer = 3,
  kInvalidEnvironment = 4,
  kIoFailure = 5,
  kDecodingFailure = 6,
  kInvalidNetworkConfig = 7,
  kInvalidNetns = 8,
  kTryAgainLater = 11,
  kNotReady = 50,
  kLimitedConnectivity = 51,
  kInternal = 999,
};

// The one exception type of nsnet: a CNI error code, a short message ("operation object: cause")
// and optional details. Callers with more context add it with prefix() and rethrow.
class Error : public std::exception {
 public:
  Error(ErrorCode code, std::string msg, std::string details = {});

  [[nodiscard]] ErrorCode code() const noexcept { return code_; }
  [[nodiscard]] const std::string& msg() const noexcept { return msg_; }
  [[nodiscard]] const std::string& details() const noexcept { return details_; }
  const char* what() const noexcept override { return what_.c_str(); }

  // Prepends "context: " to the message; returns *this so that `e.prefix("x"); throw;` reads well.
  Error& prefix(std::string_view context);

 private:
  void update_what();

  ErrorCode code_;
  std::string msg_;
  std::string details_;
  std::string what_;
};

// A failed system call: keeps errno so callers can tell ENOENT from EPERM.
class SysError : public Error {
 public:
  SysError(std::string_view operation, int error_number, ErrorCode code = ErrorCode::kInternal);
  [[nodiscard]] int error_number() const noexcept { return errno_; }

 private:
  int errno_;
};

// A failed libnl call: keeps the (positive) NLE_* code.
class NetlinkError : public Error {
 public:
  NetlinkError(std::string_view operation, int nl_error, ErrorCode code = ErrorCode::kInternal);
  [[nodiscard]] int nl_error() const noexcept { return nl_error_; }

 private:
  int nl_error_;
};

// Throws SysError for the current errno.
[[noreturn]] void throw_errno(std::string_view operation, ErrorCode code = ErrorCode::kInternal);

// Throws Error(kInvalidNetworkConfig, message): the one way config checks reject a value.
[[noreturn]] void throw_invalid_config(std::string message);

// Returns `err` when it is not a libnl error (>= 0); throws NetlinkError otherwise.
int check_nl(int err, std::string_view operation);

// Turns any in-flight exception into an Error: Error as-is, anything else as kInternal (999).
[[nodiscard]] Error to_error(std::exception_ptr ex) noexcept;

// Collects failures of a teardown that must go on past each one. Not thread-safe.
class ErrorList final {
 public:
  // Runs fn; an exception it throws is recorded instead of propagated.
  template <class Fn>
  void attempt(Fn&& fn) noexcept {
    try {
      fn();
    } catch (...) {
      add(std::current_exception());
    }
  }
  void add(std::exception_ptr ex) noexcept;
  void add(Error error);

  [[nodiscard]] bool empty() const noexcept { return errors_.empty(); }
  [[nodiscard]] const std::vector<Error>& errors() const noexcept { return errors_; }

  // Throws one Error joining every recorded message ("a; b"); the first failure's code wins.
  void throw_if_any(std::string_view context = {}) const;

 private:
  std::vector<Error> errors_;
};

}  // namespace netcore
