#pragma once

#include <string>

// host-device's "kernelpath": which network interface a /sys/devices/... path names.
//
// sysfs shows the network namespace of its mount, not of the reading thread: a process whose
// /sys was mounted for another namespace (a runtime in a container, this project's test sandbox)
// would resolve the path against the wrong links. So the lookup runs on a throwaway thread that
// enters the calling thread's netns, unshares its mount namespace and mounts a fresh sysfs over
// /sys there (what iproute2 does for `ip netns exec`); nothing outside that thread sees it.
namespace plugins::host_device {

// The link a kernel device path names in the calling thread's netns:
//   /sys/devices/pci0000:00/0000:00:03.0        a device: the one entry of its net/ directory
//   /sys/devices/virtual/net/veth0              a netdev directory itself (has "ifindex")
// Throws Error(kInvalidNetworkConfig) when the path names no network interface or several;
// SysError when the private sysfs cannot be set up. Thread-safe.
[[nodiscard]] std::string link_name_of_kernel_path(const std::string& kernelpath);

}  // namespace plugins::host_device
