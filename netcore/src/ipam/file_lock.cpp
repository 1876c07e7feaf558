#include "netcore/ipam/file_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>

#include "netcore/base/error.hpp"

namespace netcore::ipam {

FileLock FileLock::acquire(const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) throw_errno("open lock " + path.string());
  while (::flock(fd.get(), LOCK_EX) != 0) {
    if (errno != EINTR) throw_errno("lock " + path.string());
  }
  return FileLock(std::move(fd));
}

}  // namespace netcore::ipam
