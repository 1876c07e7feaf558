#include "ptp.hpp"

#include "config.hpp"

#include <netcore/base/log.hpp>

#include <netcore/base/error.hpp>
#include <netcore/base/undo.hpp>
#include <netcore/cni/container_link.hpp>
#include <netcore/cni/delegate.hpp>
#include <netcore/cni/fw_attachment.hpp>
#include <netcore/cni/json.hpp>
#include <netcore/cni/veth_plugin.hpp>
#include <netcore/fw/masquerade.hpp>
#include <netcore/net/address.hpp>
#include <netcore/net/link.hpp>
#include <netcore/net/netlink.hpp>
#include <netcore/net/netns.hpp>
#include <netcore/net/route.hpp>
#include <netcore/net/sysctl.hpp>

namespace plugins::ptp {
namespace cni = netcore::cni;
namespace fw = netcore::fw;
namespace net = netcore::net;
using netcore::Error;
using netcore::ErrorCode;

namespace {

// The reference's layout inside the container: each address without its subnet route, a /32
// (/128) link route to the gateway, the subnet via the gateway, and IPAM's routes. IPAM's routes
// go in while the kernel's subnet route still exists, as the reference orders it, so that a
// route via another address of the subnet than the gateway resolves.
void configure_container(const net::Netlink& nl, int index, const cni::Result& ipam) {
  net::set_up(nl, index);
  for (const auto& ip : ipam.ips) net::add_address(nl, index, ip.address, {.nodad = true});
  for (const auto& route : ipam.routes) {
    net::Route r{.dst = route.dst, .gateway = route.gw, .ifindex = index};
    if (!r.gateway) {  // a route without gw goes through the gateway of its family
      for (const auto& ip : ipam.ips)
        if (ip.address.is_v4() == route.dst.is_v4() && ip.gateway) r.gateway = ip.gateway;
    }
    r.mtu = route.mtu;
    r.advmss = route.advmss;
    if (route.priority) r.metric = static_cast<std::uint32_t>(*route.priority);
    net::add_route(nl, r);
  }
  for (const auto& ip : ipam.ips) {
    const auto& gw = *ip.gateway;
    net::add_route(nl, {.dst = net::Prefix::host(gw),
                        .ifindex = index,
                        .source = ip.address.address(),
                        .scope = RT_SCOPE_LINK});
    (void)net::delete_route_if_exists(nl, {.dst = ip.address.network(), .ifindex = index});
    net::add_route(nl, {.dst = ip.address.network(),
                        .gateway = gw,
                        .ifindex = index,
                        .source = ip.address.address()});
  }
}

void enable_forwarding(const cni::Result& ipam) {
  for (const auto& ip : ipam.ips) {
    if (ip.address.is_v4())
      net::write_sysctl("net/ipv4/ip_forward", "1");
    else
      net::write_sysctl("net/ipv6/conf/all/forwarding", "1");
  }
}

}  // namespace

cni::Result cmd_add(const cni::CmdArgs& args) {
  const Config config = parse_config(args);
  const auto [container, ctr_nl] = cni::open_container_for_add(args);
  const auto host_nl = net::Netlink::connect();

  netcore::Undo undo;
  cni::Result ipam = cni::delegate_add(config.ipam_type, args);
  undo.push([&] { cni::delegate_del(config.ipam_type, args); });
  if (ipam.ips.empty()) throw Error(ErrorCode::kInternal, "IPAM plugin returned missing IP config");
  for (const auto& ip : ipam.ips) {
    if (!ip.gateway)
      throw Error(ErrorCode::kInvalidNetworkConfig,
                  "ptp: IPAM gave " + ip.address.to_string() + " without a gateway");
  }
  enable_forwarding(ipam);

  // The host end is created here with its peer directly in the container (never moved).
  const net::LinkInfo host = net::create_veth_with_random_name(
      host_nl, "veth", {.peer_name = args.ifname, .peer_netns = &container, .mtu = config.mtu});
  undo.push([&host_nl, name = host.name] { (void)net::delete_link_if_exists(host_nl, name); });
  const auto ctr = net::get_link(ctr_nl, args.ifname);

  configure_container(ctr_nl, ctr.index, ipam);

  // Without an IPv6 address the host end needs no IPv6: its link-local address and fe80::/64
  // route would only lengthen every IPv6 route lookup on a host with many containers.
  if (std::none_of(ipam.ips.begin(), ipam.ips.end(), [](const auto& ip) { return !ip.address.is_v4(); }))
    (void)net::write_sysctl_if_exists("net/ipv6/conf/" + host.name + "/disable_ipv6", "1");
  net::set_up(host_nl, host.index);
  for (const auto& ip : ipam.ips) {
    if (!ip.address.is_v4())
      net::write_sysctl("net/ipv6/conf/" + host.name + "/accept_ra", "0");
    // The same gateway address on every host end: each is a separate point-to-point link.
    // IPv6 keeps the kernel's /128 route of the address, as on the reference's host ends.
    net::add_address(host_nl, host.index, net::Prefix::host(*ip.gateway),
                     {.nodad = true, .noprefixroute = ip.address.is_v4()});
    net::add_route(host_nl, {.dst = net::Prefix::host(ip.address.address()),
                             .ifindex = host.index,
                             .scope = RT_SCOPE_HOST});  // the reference's scope
  }

  if (config.ip_masq) {
    std::vector<net::Prefix> addresses;
    for (const auto& ip : ipam.ips) addresses.push_back(ip.address);
    fw::add_masquerade(cni::fw_attachment(args), addresses, config.masq_exclude);
    undo.push([&] { fw::remove_masquerade(cni::fw_attachment(args)); });
  }

  cni::Result result;
  result.interfaces = {{.name = host.name, .mac = host.mac.to_string()},
                       {.name = args.ifname, .mac = ctr.mac.to_string(), .sandbox = args.netns}};
  result.interfaces[0].mtu = config.mtu;
  result.interfaces[1].mtu = config.mtu;
  result.ips = ipam.ips;
  for (auto& ip : result.ips) ip.interface = 1;
  result.routes = ipam.routes;
  result.dns = config.dns ? *config.dns : ipam.dns;
  undo.commit();
  return result;
}

void cmd_del(const cni::CmdArgs& args) {
  const Config config = parse_config(args);
  netcore::ErrorList errors;
  // IPAM first, like the reference: an address must not stay reserved because a link is stuck.
  errors.attempt([&] { cni::delegate_del(config.ipam_type, args); });
  // The config is the ADD's (spec §3), so without ipMasq there are no rules, and DEL does not pay
  // for loading libnftables.
  if (config.ip_masq) errors.attempt([&] { fw::remove_masquerade(cni::fw_attachment(args)); });
  errors.attempt([&] { cni::delete_container_link_if_exists(args); });
  errors.throw_if_any("ptp del");
}

void cmd_check(const cni::CmdArgs& args) {
  const Config config = parse_config(args);
  const auto prev = args.prev_result();
  if (!prev) throw Error(ErrorCode::kInvalidNetworkConfig, "ptp: required prevResult missing");
  cni::delegate_check(config.ipam_type, args);

  const auto container = net::Netns::open(args.netns);
  const auto nl = container.run([] { return net::Netlink::connect(); });
  const auto link = net::find_link(nl, args.ifname);
  if (!link) throw Error(ErrorCode::kInternal, "ptp: interface " + args.ifname + " not found");
  if (link->kind != "veth")
    throw Error(ErrorCode::kInternal, "ptp: interface " + args.ifname + " is not a veth");
  for (const auto& iface : prev->interfaces) {
    if (iface.name == args.ifname && !iface.mac.empty() && iface.mac != link->mac.to_string())
      throw Error(ErrorCode::kInternal, "ptp: interface " + args.ifname + " has MAC " +
                                            link->mac.to_string() + ", not " + iface.mac);
  }
  const auto present = net::list_addresses(nl, link->index);
  std::vector<net::Prefix> masqueraded;
  for (const auto& ip : prev->ips) {
    const bool found = std::any_of(present.begin(), present.end(),
                                   [&](const net::AddressInfo& a) { return a.prefix == ip.address; });
    if (!found)
      throw Error(ErrorCode::kInternal, "ptp: address " + ip.address.to_string() +
                                            " missing on " + args.ifname);
    masqueraded.push_back(ip.address);
  }
  const auto routes = net::list_routes(nl, AF_UNSPEC, link->index);
  for (const auto& route : prev->routes) {
    const bool found = std::any_of(routes.begin(), routes.end(),
                                   [&](const net::Route& r) { return r.dst == route.dst; });
    if (!found)
      throw Error(ErrorCode::kInternal, "ptp: route to " + route.dst.to_string() + " missing");
  }
  if (config.ip_masq && !fw::has_masquerade(cni::fw_attachment(args), masqueraded))
    throw Error(ErrorCode::kInternal, "ptp: masquerade rules of " + args.container_id + "/" +
                                          args.ifname + " are missing");
}

void cmd_gc(const cni::CmdArgs& args) {
  const Config config = parse_config(args);
  netcore::ErrorList errors;
  errors.attempt([&] { cni::delegate_gc(config.ipam_type, args); });
  if (const auto keep = cni::fw_valid_attachments(args); keep && config.ip_masq) {
    errors.attempt([&] { fw::gc_masquerade(args.network_name, *keep); });
  }
  errors.throw_if_any("ptp gc");
}

void cmd_status(const cni::CmdArgs& args) {
  cni::delegate_status(parse_config(args).ipam_type, args);
}

cni::PluginSpec spec() {
  return {.name = "ptp",
          .add = cmd_add,
          .del = cmd_del,
          .check = cmd_check,
          .status = cmd_status,
          .gc = cmd_gc};
}

}  // namespace plugins::ptp
