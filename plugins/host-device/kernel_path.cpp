#include "kernel_path.hpp"

#include <sched.h>
#include <sys/mount.h>

#include <filesystem>
#include <netcore/base/error.hpp>
#include <netcore/net/netns.hpp>
#include <system_error>
#include <vector>

namespace plugins::host_device {
namespace fs = std::filesystem;
using netcore::throw_invalid_config;

namespace {

// On the current (throwaway) thread: a private mount namespace with a sysfs of this netns.
void mount_private_sysfs() {
  if (::unshare(CLONE_NEWNS) != 0) netcore::throw_errno("kernelpath: unshare mount namespace");
  // Keep the mounts below from propagating back to the host's mount namespace.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0)
    netcore::throw_errno("kernelpath: make / a slave mount");
  if (::mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0)
    netcore::throw_errno("kernelpath: mount sysfs");
}

std::string resolve(const std::string& kernelpath) {
  const fs::path path(kernelpath);
  std::error_code ec;
  if (fs::exists(path / "ifindex", ec)) return path.filename().string();
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(path / "net", ec))
    names.push_back(entry.path().filename().string());
  if (names.empty())
    throw_invalid_config("kernelpath \"" + kernelpath +
                         "\": no network interface in this network namespace");
  if (names.size() > 1)
    throw_invalid_config("kernelpath \"" + kernelpath + "\": names " +
                         std::to_string(names.size()) + " network interfaces, not one");
  return names.front();
}

}  // namespace

std::string link_name_of_kernel_path(const std::string& kernelpath) {
  return netcore::net::Netns::current().run([&] {
    mount_private_sysfs();
    return resolve(kernelpath);
  });
}

}  // namespace plugins::host_device
