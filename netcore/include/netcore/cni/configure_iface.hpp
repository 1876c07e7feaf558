#pragma once

// The container side of an IPAM result on one link, as the reference's ipam.ConfigureIface does
// it for the plugins that give the container a ready-made link (macvlan, host-device, tap).

#include "netcore/cni/types.hpp"
#include "netcore/net/link.hpp"
#include "netcore/net/netlink.hpp"
#include "netcore/net/netns.hpp"

namespace netcore::cni {

// Inside `netns` (whose socket is `nl`): enables IPv6 on `ifname` when the result has an IPv6
// address, sets the link up, adds every address of `result` (with DAD, as the reference does)
// and every route, a route without gw going through the gateway of the first address of its
// family that has one. Throws NetlinkError naming the address or route the kernel refused
// (the caller's Undo removes the link or moves it back); SysError from the sysctl.
void configure_iface(const net::Netns& netns, const net::Netlink& nl, const std::string& ifname,
                     int index, const Result& result);

// Writes net.ipv4.conf.IFNAME.arp_notify=1 and net.ipv6.conf.IFNAME.ndisc_notify=1 in `netns`,
// so that neighbours learn a (new) MAC at once; a missing key (IPv6 off) is ignored.
void enable_neighbour_notify(const net::Netns& netns, const std::string& ifname);

// CHECK of what configure_iface did: the MAC prevResult gives for the interface named `link.name`
// (when it gives one), each of prevResult's addresses on the link and a route to each of its
// route destinations. Throws Error(kInternal) naming what is missing or different.
void check_iface(const net::Netlink& nl, const net::LinkInfo& link, const Result& prev);

}  // namespace netcore::cni
