#pragma once

// User-mode networking through slirp4netns: a tap device in the container's network namespace
// whose frames slirp4netns turns into ordinary sockets in its own (the caller's) namespace, so
// no privilege is needed. Here: the options (podman's names), the addresses they give, and the
// command line. The daemon itself is started by netcore::proc::Daemon.
//
//   CIDR 10.0.2.0/24 (default):  .2 gateway and the host, .3 DNS, .100 the container

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "netcore/net/ip.hpp"

namespace netcore::usernet {

struct SlirpOptions {
  unsigned mtu = 65520;                   // 65520: ~6x the TCP throughput of 1500
  std::string cidr = "10.0.2.0/24";       // IPv4 only: slirp4netns's IPv6 prefix is fixed
  bool allow_host_loopback = false;       // the gateway address reaches the host's 127.0.0.1
  bool enable_ipv6 = false;
  std::string outbound_addr;              // IPv4 address or interface for outgoing connections
  std::string outbound_addr6;
  bool enable_sandbox = true;             // pivot_root into an empty root, drop capabilities
  bool enable_seccomp = true;
  bool disable_dns = false;

  friend bool operator==(const SlirpOptions&, const SlirpOptions&) = default;
};

// Parses podman's comma-separated `slirp4netns:` options: mtu=N, cidr=A/N,
// allow_host_loopback=BOOL, enable_ipv6=BOOL, outbound_addr=IP|IF, outbound_addr6=IP|IF,
// enable_sandbox=BOOL, enable_seccomp=BOOL, port_handler=slirp4netns. Throws
// std::invalid_argument naming the bad option.
[[nodiscard]] SlirpOptions parse_slirp_options(std::string_view text);

// Checks values that both the launcher and the CNI plugin accept (mtu 68..65521, an IPv4 CIDR of
// at most /25 so .100 exists). Throws std::invalid_argument.
void validate(const SlirpOptions& options);

// The addresses slirp4netns serves for a CIDR.
struct SlirpAddresses {
  net::Prefix container;   // .100 with the CIDR's length
  net::IpAddress gateway;  // .2: the host side
  net::IpAddress dns;      // .3
};
[[nodiscard]] SlirpAddresses slirp_addresses(const SlirpOptions& options);

// How slirp4netns finds the namespace: the pid of a process in it (slirp4netns then also joins
// that process's user namespace), or a bind-mounted nsfs path.
struct SlirpTarget {
  std::optional<int> pid;
  std::string netns_path;
  std::string userns_path;  // with netns_path: the user namespace to join first, if any
};

// slirp4netns's arguments (without argv[0]). The tap is created but left down and unaddressed:
// the caller configures it through netlink (configure_tap). `ready_fd` gets "1" once the tap
// and the API socket exist; the daemon exits when `exit_fd` (if >= 0) reports hang-up.
[[nodiscard]] std::vector<std::string> slirp_arguments(const SlirpOptions& options,
                                                       const SlirpTarget& target,
                                                       const std::string& tap_name, int ready_fd,
                                                       int exit_fd, const std::string& api_socket);

}  // namespace netcore::usernet
