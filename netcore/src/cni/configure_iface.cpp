#include "netcore/cni/configure_iface.hpp"

#include <algorithm>

#include "netcore/base/error.hpp"
#include "netcore/net/address.hpp"
#include "netcore/net/link.hpp"
#include "netcore/net/route.hpp"
#include "netcore/net/sysctl.hpp"

namespace netcore::cni {

void configure_iface(const net::Netns& netns, const net::Netlink& nl, const std::string& ifname,
                     int index, const Result& result) {
  const bool has_v6 = std::any_of(result.ips.begin(), result.ips.end(),
                                  [](const IpConfig& ip) { return !ip.address.is_v4(); });
  if (has_v6)
    netns.run([&] {
      (void)net::write_sysctl_if_exists("net/ipv6/conf/" + ifname + "/disable_ipv6", "0");
    });
  net::set_up(nl, index);
  for (const auto& ip : result.ips) net::add_address(nl, index, ip.address);
  for (const auto& route : result.routes) {
    net::Route r{.dst = route.dst.network(), .gateway = route.gw, .ifindex = index};
    if (!r.gateway) {
      for (const auto& ip : result.ips)
        if (ip.address.is_v4() == route.dst.is_v4() && ip.gateway) {
          r.gateway = ip.gateway;
          break;
        }
    }
    r.mtu = route.mtu;
    r.advmss = route.advmss;
    if (route.priority) r.metric = static_cast<std::uint32_t>(*route.priority);
    net::add_route(nl, r);
  }
}

void enable_neighbour_notify(const net::Netns& netns, const std::string& ifname) {
  netns.run([&] {
    (void)net::write_sysctl_if_exists("net/ipv4/conf/" + ifname + "/arp_notify", "1");
    (void)net::write_sysctl_if_exists("net/ipv6/conf/" + ifname + "/ndisc_notify", "1");
  });
}

void check_iface(const net::Netlink& nl, const net::LinkInfo& link, const Result& prev) {
  for (const auto& iface : prev.interfaces) {
    if (iface.name == link.name && !iface.mac.empty() && iface.mac != link.mac.to_string())
      throw Error(ErrorCode::kInternal, "check interface " + link.name + ": MAC is " +
                                            link.mac.to_string() + ", not " + iface.mac);
  }
  const auto present = net::list_addresses(nl, link.index);
  for (const auto& ip : prev.ips) {
    const bool found = std::any_of(present.begin(), present.end(), [&](const net::AddressInfo& a) {
      return a.prefix == ip.address;
    });
    if (!found)
      throw Error(ErrorCode::kInternal, "check interface " + link.name + ": address " +
                                            ip.address.to_string() + " missing");
  }
  const auto routes = net::list_routes(nl, AF_UNSPEC, link.index);
  for (const auto& route : prev.routes) {
    const bool found = std::any_of(routes.begin(), routes.end(), [&](const net::Route& r) {
      return r.dst == route.dst.network();
    });
    if (!found)
      throw Error(ErrorCode::kInternal, "check interface " + link.name + ": route to " +
                                            route.dst.to_string() + " missing");
  }
}

}  // namespace netcore::cni
