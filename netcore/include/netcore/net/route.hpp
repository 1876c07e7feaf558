#pragma once

// Routes, through rtnetlink (libnl-route-3). Every function takes the Netlink socket of the
// namespace it acts on and is as thread-safe as that socket (one thread at a time).
// Errors: NetlinkError (kInternal) naming the route: NLE_EXIST when add_route finds it already
// there, NLE_OBJ_NOTFOUND when delete_route does not, NLE_NODEV/NLE_INVAL/NLE_NOADDR/
// NLE_AGAIN... as the kernel decides (an unreachable gateway without onlink is
// "Network is unreachable").

#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "netcore/net/ip.hpp"
#include "netcore/net/netlink.hpp"

namespace netcore::net {

// One route: what add_route installs and what list_routes reports. Value type.
struct Route {
  Prefix dst;  // "0.0.0.0/0" / "::/0" for a default route; host bits must be clear
  std::optional<IpAddress> gateway;
  int ifindex = 0;                  // output device; 0 = let the kernel pick it from the gateway
  std::optional<IpAddress> source;  // RTA_PREFSRC
  std::optional<std::uint32_t> metric;  // RTA_PRIORITY; listed IPv6 routes always carry one
  std::uint32_t table = RT_TABLE_MAIN;
  std::uint8_t scope = RT_SCOPE_UNIVERSE;  // RT_SCOPE_LINK for a device route without gateway
  bool onlink = false;                     // RTNH_F_ONLINK: the gateway needs no matching subnet
  std::optional<std::uint32_t> mtu;        // RTAX_MTU
  std::optional<std::uint32_t> advmss;     // RTAX_ADVMSS
  std::uint8_t protocol = RTPROT_BOOT;     // RTPROT_*: what `ip route add` uses by default
  std::uint8_t type = RTN_UNICAST;         // RTN_UNICAST, RTN_BLACKHOLE, RTN_LOCAL, ...

  [[nodiscard]] std::string to_string() const;  // for messages: "10.0.0.0/8 via 10.1.0.1 dev 3"
  friend bool operator==(const Route&, const Route&) = default;
};

// Installs `route`. NLE_EXIST if a route with the same key (dst, table, metric, ...) exists.
void add_route(const Netlink& nl, const Route& route);
// Installs `route`, replacing one with the same key.
void replace_route(const Netlink& nl, const Route& route);
// Removes the route matching dst, table, gateway, ifindex, source and metric of `route` (unset
// ones match any); protocol, scope and metrics are ignored. NLE_OBJ_NOTFOUND if none matches.
void delete_route(const Netlink& nl, const Route& route);
// Like delete_route; false when no route matched. The only route deletion that tolerates
// "already gone".
[[nodiscard]] bool delete_route_if_exists(const Netlink& nl, const Route& route);

// The namespace's routes of `family` (AF_INET, AF_INET6 or AF_UNSPEC for both), optionally only
// those whose (first) nexthop leaves through `ifindex`. With `table` set, exactly that table's
// routes (RT_TABLE_LOCAL included if asked for); without, every table except the local one
// (RT_TABLE_LOCAL holds the kernel's own local/broadcast/multicast entries). Cached clones
// (RTM_F_CLONED: PMTU exceptions, IPv6 cache) are never listed. A multipath route is reported
// with its first nexthop. Throws NetlinkError.
[[nodiscard]] std::vector<Route> list_routes(const Netlink& nl, int family = AF_UNSPEC,
                                             std::optional<int> ifindex = std::nullopt,
                                             std::optional<std::uint32_t> table = std::nullopt);

}  // namespace netcore::net
