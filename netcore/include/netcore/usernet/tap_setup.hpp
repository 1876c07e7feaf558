#pragma once

// The container side of user-mode networking, configured through netlink in the calling
// thread's network namespace: what `slirp4netns --configure` would do, without an exec.

#include <optional>
#include <string>

#include "netcore/net/ip.hpp"
#include "netcore/net/netlink.hpp"

namespace netcore::usernet {

struct TapSetup {
  std::string name = "tap0";
  net::Prefix address;                 // 10.0.2.100/24
  net::IpAddress gateway;              // the default route's next hop
  unsigned mtu = 1500;
  bool ipv6 = false;              // keep IPv6 (slirp4netns's fd00::/64 by router advertisement)
};

// Sets the MTU, the address, brings the tap and lo up and adds the default route. With IPv6,
// duplicate address detection is turned off on the tap first (it would delay IPv6 by 1-2 s);
// without, IPv6 is disabled on the tap. Throws
// NetlinkError / SysError.
void configure_tap(const net::Netlink& nl, const TapSetup& setup);

}  // namespace netcore::usernet
