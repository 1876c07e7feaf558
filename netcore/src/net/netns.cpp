#include "netcore/net/netns.hpp"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "netcore/base/log.hpp"

#include "netcore/base/error.hpp"
#include "netcore/base/throwaway_thread.hpp"

namespace netcore::net {
namespace {

bool is_network_namespace(int fd) {
  return ::ioctl(fd, NS_GET_NSTYPE) == CLONE_NEWNET;  // fails with ENOTTY on anything but nsfs
}

// /run/netns must be a shared mount point so that entries made here appear in other mount
// namespaces (iproute2 does the same).
void ensure_shared_mount_dir(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw SysError("create " + dir.string(), ec.value());
  if (::mount("", dir.c_str(), "none", MS_SHARED | MS_REC, nullptr) == 0) return;
  if (errno != EINVAL) throw_errno("make " + dir.string() + " shared");
  // Not a mount point yet: bind it onto itself first.
  if (::mount(dir.c_str(), dir.c_str(), "none", MS_BIND | MS_REC, nullptr) != 0)
    throw_errno("bind mount " + dir.string());
  if (::mount("", dir.c_str(), "none", MS_SHARED | MS_REC, nullptr) != 0)
    throw_errno("make " + dir.string() + " shared");
}

}  // namespace

Netns Netns::open(const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    const int err = errno;
    throw SysError("open netns " + path.string(), err, ErrorCode::kInvalidNetns);
  }
  if (!is_network_namespace(fd.get()))
    throw Error(ErrorCode::kInvalidNetns, "open netns " + path.string() + ": not a network namespace");
  return Netns(std::move(fd), path);
}

std::optional<Netns> Netns::open_if_exists(const std::filesystem::path& path) {
  if (path.empty()) return std::nullopt;
  try {
    return open(path);
  } catch (const SysError& e) {
    if (e.error_number() == ENOENT) return std::nullopt;
    throw;
  }
}

Netns Netns::open_pid(pid_t pid) {
  return open("/proc/" + std::to_string(pid) + "/ns/net");
}

Netns Netns::current() { return open("/proc/thread-self/ns/net"); }

Netns Netns::create() {
  // unshare moves only the calling thread, so it runs on a thread of its own that ends inside
  // the new namespace. No setns first: a new thread starts in its creator's namespaces, and
  // entering even that one needs privileges over it that a user namespace's root lacks.
  return on_throwaway_thread([] {
    if (::unshare(CLONE_NEWNET) != 0) throw_errno("unshare network namespace");
    return current();
  });
}

void Netns::enter_on_this_thread() const {
  if (::setns(fd_.get(), CLONE_NEWNET) != 0) throw_errno("setns " + path_.string());
}

bool Netns::same_as(const Netns& other) const noexcept {
  struct stat a{}, b{};
  if (::fstat(fd_.get(), &a) != 0 || ::fstat(other.fd_.get(), &b) != 0) return false;
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

void Netns::persist(const std::string& name, const std::filesystem::path& dir) const {
  if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..")
    throw Error(ErrorCode::kInvalidNetworkConfig, "invalid netns name \"" + name + "\"");
  ensure_shared_mount_dir(dir);
  const auto target = dir / name;
  UniqueFd placeholder(::open(target.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444));
  if (!placeholder) throw_errno("create " + target.string());
  placeholder.reset();
  const std::string source = "/proc/self/fd/" + std::to_string(fd_.get());
  if (::mount(source.c_str(), target.c_str(), "none", MS_BIND, nullptr) != 0) {
    const int err = errno;
    ::unlink(target.c_str());
    throw SysError("bind mount netns at " + target.string(), err);
  }
  log::debug("netns persisted at {}", target.string());
}

void Netns::delete_persisted_if_exists(const std::string& name, const std::filesystem::path& dir) {
  const auto target = dir / name;
  if (::umount2(target.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
    throw_errno("unmount " + target.string());
  if (::unlink(target.c_str()) != 0 && errno != ENOENT) throw_errno("remove " + target.string());
}

}  // namespace netcore::net
