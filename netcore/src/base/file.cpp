#include "netcore/base/file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "netcore/base/error.hpp"
#include "netcore/base/unique_fd.hpp"

namespace netcore {
namespace {

void write_all(int fd, std::string_view data, const std::string& what) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("write " + what);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
}

void fsync_directory(const std::filesystem::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) throw_errno("open " + dir.string());
  if (::fsync(fd.get()) != 0) throw_errno("fsync " + dir.string());
}

std::optional<std::string> read_fd(int fd, const std::string& what) {
  std::string content;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("read " + what);
    }
    if (n == 0) break;
    content.append(buf, static_cast<size_t>(n));
  }
  return content;
}

}  // namespace

void write_file_atomic(const std::filesystem::path& path, std::string_view data, mode_t mode) {
  const auto dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  std::string temp = (dir / (path.filename().string() + ".tmp.XXXXXX")).string();
  UniqueFd fd(::mkostemp(temp.data(), O_CLOEXEC));
  if (!fd) throw_errno("create temporary file for " + path.string());
  bool renamed = false;
  try {
    if (::fchmod(fd.get(), mode) != 0) throw_errno("chmod " + temp);
    write_all(fd.get(), data, temp);
    if (::fsync(fd.get()) != 0) throw_errno("fsync " + temp);
    if (::rename(temp.c_str(), path.c_str()) != 0) throw_errno("rename " + temp);
    renamed = true;
    fsync_directory(dir);
  } catch (...) {
    if (!renamed) ::unlink(temp.c_str());
    throw;
  }
}

std::string read_file(const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw_errno("open " + path.string());
  return *read_fd(fd.get(), path.string());
}

std::optional<std::string> find_file_content(const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return std::nullopt;
    throw_errno("open " + path.string());
  }
  return read_fd(fd.get(), path.string());
}

std::optional<std::string> find_state_file_content(const std::filesystem::path& path) {
  // O_NONBLOCK: opening a FIFO planted here must not hang (it is refused just below).
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return std::nullopt;
    if (errno == ELOOP)
      throw Error(ErrorCode::kIoFailure,
                  "open " + path.string() + ": a symbolic link, not a state file; refusing");
    throw_errno("open " + path.string());
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw_errno("stat " + path.string());
  if (!S_ISREG(st.st_mode))
    throw Error(ErrorCode::kIoFailure, "open " + path.string() + ": not a regular file; refusing");
  return read_fd(fd.get(), path.string());
}

void refuse_linked_directory(const std::filesystem::path& dir, const std::string& what) {
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT) return;
    throw_errno("stat " + dir.string());
  }
  if (S_ISLNK(st.st_mode))
    throw Error(ErrorCode::kIoFailure,
                what + " " + dir.string() + " is a symbolic link, not a directory; refusing");
  if (!S_ISDIR(st.st_mode))
    throw Error(ErrorCode::kIoFailure, what + " " + dir.string() + " is not a directory");
}

}  // namespace netcore
