#include "netcore/usernet/tap_setup.hpp"

#include "netcore/base/error.hpp"
#include "netcore/net/address.hpp"
#include "netcore/net/link.hpp"
#include "netcore/net/route.hpp"
#include "netcore/net/sysctl.hpp"

namespace netcore::usernet {

void configure_tap(const net::Netlink& nl, const TapSetup& setup) {
  const auto tap = net::get_link(nl, setup.name);
  const std::string conf = "net/ipv6/conf/" + setup.name + "/";
  try {
    if (setup.ipv6) {
      (void)net::write_sysctl_if_exists(conf + "accept_dad", "0");
    } else {
      (void)net::write_sysctl_if_exists(conf + "disable_ipv6", "1");
    }
  } catch (const Error&) {
    // A /proc/sys that is not this namespace's or not writable: IPv6 then just starts slower.
  }
  net::set_mtu(nl, tap.index, setup.mtu);
  net::add_address(nl, tap.index, setup.address);
  net::set_up(nl, tap.index);
  if (const auto lo = net::find_link(nl, "lo"); lo && !lo->up) net::set_up(nl, lo->index);
  net::add_route(nl, net::Route{.dst = net::Prefix(boost::asio::ip::address_v4::any(), 0),
                                .gateway = setup.gateway,
                                .ifindex = tap.index});
}

}  // namespace netcore::usernet
