#include "netcore/ipam/file_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>

#include "netcore/base/error.hpp"

namespace netcore::ipam {

FileLock FileLock::acquire(const std::filesystem::path& path) {
  // O_NOFOLLOW: a symbolic link planted as the lock would make O_CREAT create its target.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) {
    const int error = errno;
    throw SysError("open lock " + path.string(), error,
                   error == ELOOP ? ErrorCode::kIoFailure : ErrorCode::kInternal);
  }
  while (::flock(fd.get(), LOCK_EX) != 0) {
    if (errno != EINTR) throw_errno("lock " + path.string());
  }
  return FileLock(std::move(fd));
}

}  // namespace netcore::ipam
