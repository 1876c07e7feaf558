#include "netcore/net/sysctl.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>

#include "netcore/base/log.hpp"

#include "netcore/base/error.hpp"
#include "netcore/base/unique_fd.hpp"

namespace netcore::net {
namespace {

[[noreturn]] void throw_bad_key(const std::string& key, const char* why) {
  std::string printable;
  for (const char c : key) printable += c == '\0' ? std::string("\\0") : std::string(1, c);
  throw Error(ErrorCode::kInvalidNetworkConfig, "invalid sysctl key \"" + printable + "\": " + why);
}

// Opens /proc/sys/<key> (already checked by sysctl_path) one component at a time, relative to
// the directory opened before, never following a symbolic link (O_NOFOLLOW) and staying on
// procfs: a link or a mount over a directory of /proc/sys/net cannot send a write elsewhere.
// Errno as open() sets it (ENOENT for a missing key) for SysError.
UniqueFd open_sysctl(const std::string& key, int flags) {
  const auto on_procfs = [](const UniqueFd& fd) {
    struct statfs fs {};
    if (::fstatfs(fd.get(), &fs) != 0) return false;
    if (fs.f_type == PROC_SUPER_MAGIC) return true;
    errno = EXDEV;  // not procfs: something is mounted over /proc/sys
    return false;
  };
  UniqueFd dir(::open("/proc/sys", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir || !on_procfs(dir)) return UniqueFd();
  std::string::size_type start = 0;
  for (;;) {
    const auto end = key.find('/', start);
    const std::string part = key.substr(start, end == std::string::npos ? end : end - start);
    const bool last = end == std::string::npos;
    UniqueFd next(::openat(dir.get(), part.c_str(),
                           (last ? flags : O_RDONLY | O_DIRECTORY) | O_NOFOLLOW | O_CLOEXEC));
    if (!next || !on_procfs(next)) return UniqueFd();
    if (last) return next;
    dir = std::move(next);
    start = end + 1;
  }
}

[[noreturn]] void throw_open_failure(const std::string& operation, const std::string& key) {
  if (errno == ELOOP || errno == EXDEV)
    throw_bad_key(key, errno == ELOOP ? "a symbolic link under /proc/sys, refusing"
                                      : "not on procfs (something is mounted over /proc/sys)");
  throw_errno(operation + " " + key);
}

}  // namespace

std::filesystem::path sysctl_path(const std::string& key) {
  if (key.empty()) throw_bad_key(key, "empty");
  if (key.find('\0') != std::string::npos) throw_bad_key(key, "contains NUL");
  if (key.front() == '/') throw_bad_key(key, "must be relative to /proc/sys");
  if (!key.starts_with("net/")) throw_bad_key(key, "must start with net/");
  std::string::size_type start = 0;
  while (start <= key.size()) {
    auto end = key.find('/', start);
    if (end == std::string::npos) end = key.size();
    const std::string_view part(key.data() + start, end - start);
    if (part.empty() || part == "." || part == "..")
      throw_bad_key(key, "empty, \".\" or \"..\" component");
    start = end + 1;
  }
  return std::filesystem::path("/proc/sys") / key;
}

std::string sysctl_key_from_dotted(const std::string& dotted) {
  std::string key = dotted;
  for (char& c : key) {
    if (c == '.') {
      c = '/';
    } else if (c == '/') {
      c = '.';
    }
  }
  return key;
}

std::string read_sysctl(const std::string& key) {
  (void)sysctl_path(key);
  UniqueFd fd = open_sysctl(key, O_RDONLY);
  if (!fd) throw_open_failure("read sysctl", key);
  std::string value;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("read sysctl " + key);
    }
    if (n == 0) break;
    value.append(buf, static_cast<size_t>(n));
  }
  if (!value.empty() && value.back() == '\n') value.pop_back();
  log::debug("read sysctl {} = {}", key, value);
  return value;
}

void write_sysctl(const std::string& key, const std::string& value) {
  (void)sysctl_path(key);
  log::debug("write sysctl {} = {}", key, value);
  UniqueFd fd = open_sysctl(key, O_WRONLY);
  if (!fd) throw_open_failure("write sysctl", key);
  // procfs takes a sysctl value in one write; a short write would apply a truncated value.
  ssize_t n;
  do {
    n = ::write(fd.get(), value.data(), value.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) throw_errno("write sysctl " + key);
  if (static_cast<size_t>(n) != value.size())
    throw SysError("write sysctl " + key + ": short write", EIO);
}

bool write_sysctl_if_exists(const std::string& key, const std::string& value) {
  try {
    write_sysctl(key, value);
    return true;
  } catch (const SysError& e) {
    if (e.error_number() != ENOENT) throw;
    log::debug("write sysctl {}: no such key, ignoring", key);
    return false;
  }
}

}  // namespace netcore::net
