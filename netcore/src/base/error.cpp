#include "netcore/base/error.hpp"

#include <netlink/errno.h>

#include <cerrno>
#include <cstring>
#include <new>
#include <utility>

namespace netcore {

Error::Error(ErrorCode code, std::string msg, std::string details)
    : code_(code), msg_(std::move(msg)), details_(std::move(details)) {
  update_what();
}

Error& Error::prefix(std::string_view context) {
  if (!context.empty()) msg_ = std::string(context) + ": " + msg_;
  update_what();
  return *this;
}

void Error::update_what() {
  what_ = details_.empty() ? msg_ : msg_ + ": " + details_;
}

SysError::SysError(std::string_view operation, int error_number, ErrorCode code)
    : Error(code, std::string(operation) + ": " + std::strerror(error_number)),
      errno_(error_number) {}

NetlinkError::NetlinkError(std::string_view operation, int nl_error, ErrorCode code)
    : Error(code, std::string(operation) + ": " + nl_geterror(nl_error)), nl_error_(nl_error) {}

void throw_errno(std::string_view operation, ErrorCode code) {
  throw SysError(operation, errno, code);
}

void throw_invalid_config(std::string message) {
  throw Error(ErrorCode::kInvalidNetworkConfig, std::move(message));
}

int check_nl(int err, std::string_view operation) {
  if (err < 0) throw NetlinkError(operation, -err);
  return err;
}

Error to_error(std::exception_ptr ex) noexcept {
  try {
    try {
      std::rethrow_exception(std::move(ex));
    } catch (const Error& e) {
      return e;
    } catch (const std::bad_alloc&) {
      return Error(ErrorCode::kInternal, "out of memory");
    } catch (const std::exception& e) {
      return Error(ErrorCode::kInternal, e.what());
    } catch (...) {
      return Error(ErrorCode::kInternal, "unknown error");
    }
  } catch (...) {
    // Copying the message itself failed; nothing better is possible.
    return Error(ErrorCode::kInternal, {});
  }
}

void ErrorList::add(std::exception_ptr ex) noexcept {
  try {
    errors_.push_back(to_error(std::move(ex)));
  } catch (...) {
    // Out of memory while recording a failure: the teardown goes on regardless.
  }
}

void ErrorList::add(Error error) { errors_.push_back(std::move(error)); }

void ErrorList::throw_if_any(std::string_view context) const {
  if (errors_.empty()) return;
  std::string joined;
  for (const auto& e : errors_) {
    if (!joined.empty()) joined += "; ";
    joined += e.msg();
  }
  if (!context.empty()) joined = std::string(context) + ": " + joined;
  throw Error(errors_.front().code(), std::move(joined));
}

}  // namespace netcore
