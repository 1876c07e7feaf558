#pragma once

// Network sysctls under /proc/sys/net. A /proc/sys/net file shows the network namespace of the
// thread that opens it, so these act on the calling thread's namespace: to reach another one,
// call them inside Netns::run. Stateless; thread-safe.
//
// Keys are slash-separated and relative to /proc/sys ("net/ipv4/ip_forward",
// "net/ipv4/conf/eth0.100/forwarding"). A key must start with "net/" and have no empty, "." or
// ".." component, no NUL and no leading '/'; anything else is Error(kInvalidNetworkConfig).

#include <filesystem>
#include <string>

namespace netcore::net {

// "/proc/sys/" + key, after the checks above. Throws Error(kInvalidNetworkConfig).
[[nodiscard]] std::filesystem::path sysctl_path(const std::string& key);

// Converts sysctl(8)'s dotted form to a key: dots become slashes and slashes dots, so the
// interface "eth0.100" written "eth0/100" survives ("net.ipv4.conf.eth0/100.forwarding" ->
// "net/ipv4/conf/eth0.100/forwarding"). Does not validate; sysctl_path does.
[[nodiscard]] std::string sysctl_key_from_dotted(const std::string& dotted);

// The value without its trailing newline. Throws Error(kInvalidNetworkConfig) for a bad key,
// SysError naming the key (ENOENT for a missing one).
[[nodiscard]] std::string read_sysctl(const std::string& key);

// Writes `value` in a single write(2). Throws Error(kInvalidNetworkConfig) for a bad key, SysError
// naming the key (ENOENT missing, EINVAL for a value the kernel rejects).
void write_sysctl(const std::string& key, const std::string& value);
// Like write_sysctl, but a missing key (ENOENT: e.g. IPv6 disabled on the interface) is
// reported as false instead of thrown.
[[nodiscard]] bool write_sysctl_if_exists(const std::string& key, const std::string& value);

}  // namespace netcore::net
