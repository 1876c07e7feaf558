#include "bridge.hpp"

#include <linux/if.h>

#include <algorithm>
#include <chrono>

#include <netcore/base/log.hpp>

#include <netcore/base/error.hpp>
#include <netcore/base/undo.hpp>
#include <netcore/cni/container_link.hpp>
#include <netcore/cni/delegate.hpp>
#include <netcore/cni/fw_attachment.hpp>
#include <netcore/cni/veth_plugin.hpp>
#include <netcore/fw/mac_spoof.hpp>
#include <netcore/fw/masquerade.hpp>
#include <netcore/fw/nftables.hpp>
#include <netcore/net/address.hpp>
#include <netcore/net/link.hpp>
#include <netcore/net/link_watch.hpp>
#include <netcore/net/netlink.hpp>
#include <netcore/net/netns.hpp>
#include <netcore/net/route.hpp>
#include <netcore/net/sysctl.hpp>

#include "config.hpp"

namespace plugins::bridge {
namespace cni = netcore::cni;
namespace fw = netcore::fw;
namespace net = netcore::net;
using netcore::Error;
using netcore::ErrorCode;

namespace {

// How long ADD waits for the host end to come up as a bridge port (the reference gives up
// after 2.55 s of sleeps; notifications make the usual wait a fraction of a millisecond).
constexpr std::chrono::milliseconds kPortUpTimeout{5000};

// The first address of the subnet: the reference's gateway when IPAM names none.
net::IpAddress first_host(const net::Prefix& address) {
  return net::next_address(address.network().address());
}

bool is_default_route(const net::Prefix& dst) { return dst.length() == 0; }

// IPAM's answer turned into the container's configuration, as the reference's calcGateways:
// every IP on the container interface (index 2), gateways filled in when the bridge is the
// gateway, and a default route per family for isDefaultGateway unless IPAM gave one.
void complete_ipam_result(const Config& config, cni::Result& ipam) {
  for (auto& ip : ipam.ips) {
    ip.interface = 2;
    if (!ip.gateway && config.is_gateway) ip.gateway = first_host(ip.address);
    if (!config.is_default_gateway) continue;
    const bool has_default = std::any_of(ipam.routes.begin(), ipam.routes.end(), [&](const auto& r) {
      return r.gw && is_default_route(r.dst) && r.dst.is_v4() == ip.address.is_v4();
    });
    if (!has_default)
      ipam.routes.push_back(
          {.dst = net::Prefix(ip.address.is_v4() ? net::IpAddress(boost::asio::ip::address_v4())
                                                 : net::IpAddress(boost::asio::ip::address_v6()),
                              0),
           .gw = ip.gateway});
  }
}

// Kernel route for a result route leaving through the container interface; without a gw it
// goes through the gateway of its family, as the reference's ConfigureIface does.
net::Route kernel_route(const cni::Route& route, const cni::Result& result, int ifindex) {
  net::Route r{.dst = route.dst.network(), .gateway = route.gw, .ifindex = ifindex};
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
  return r;
}

// Inside the container: DAD policy and ARP notification, addresses, the link up, routes.
void configure_container(const Config& config, const std::string& ifname,
                         const net::Netns& container, const net::Netlink& nl, int index,
                         const cni::Result& result) {
  const bool has_v6 = std::any_of(result.ips.begin(), result.ips.end(),
                                  [](const auto& ip) { return !ip.address.is_v4(); });
  // Layer 2 only: the container's addressing (and its DAD) belongs to whoever does it later;
  // the reference writes these sysctls only when it configures IPAM's addresses.
  if (config.layer3()) {
    container.run([&] {
      const std::string v6 = "net/ipv6/conf/" + ifname + "/";
      if (has_v6) (void)net::write_sysctl_if_exists(v6 + "disable_ipv6", "0");
      if (config.enable_dad) {
        (void)net::write_sysctl_if_exists(v6 + "enhanced_dad", "1");
        (void)net::write_sysctl_if_exists(v6 + "accept_dad", "1");
      } else {
        (void)net::write_sysctl_if_exists(v6 + "accept_dad", "0");
      }
      (void)net::write_sysctl_if_exists("net/ipv4/conf/" + ifname + "/arp_notify", "1");
    });
  }
  for (const auto& ip : result.ips)
    net::add_address(nl, index, ip.address, {.nodad = !config.enable_dad});
  if (config.disable_container_interface) return;
  net::set_up(nl, index);
  for (const auto& route : result.routes) net::add_route(nl, kernel_route(route, result, index));
}

// The reference's ensureAddr: `gateway` (with its subnet's length) on the bridge. Another IPv4
// address, or an overlapping IPv6 one, is an error unless forceAddress replaces it.
void ensure_gateway_address(const Config& config, const net::Netlink& nl,
                            const net::LinkInfo& bridge, const net::Prefix& gateway) {
  for (const auto& present : net::list_addresses(nl, bridge.index, gateway.family())) {
    if (present.prefix == gateway) return;
    if (!gateway.is_v4() && !present.prefix.overlaps(gateway)) continue;
    if (!config.force_address)
      throw Error(ErrorCode::kInternal, "\"" + bridge.name + "\" already has an IP address " +
                                            present.prefix.to_string() + " different from " +
                                            gateway.to_string());
    net::delete_address(nl, bridge.index, present.prefix);
  }
  try {
    net::add_address(nl, bridge.index, gateway, {.nodad = true});
  } catch (const netcore::NetlinkError& e) {
    if (e.nl_error() != NLE_EXIST) throw;  // a concurrent ADD of the same network added it
  }
}

// Pins the MAC of a bridge made elsewhere, as the reference's ensureAddr does: a bridge whose MAC
// was never set takes its lowest port's, and its gateway's MAC would change as containers come
// and go. (A bridge that has had no port yet may report no MAC: there is nothing to pin then.)
// Returns the bridge as it is now.
net::LinkInfo pin_bridge_mac(const net::Netlink& nl, int index) {
  auto bridge = net::get_link(nl, index);
  if (bridge.mac != net::MacAddress()) net::set_mac(nl, index, bridge.mac);
  return bridge;
}

void enable_forwarding(bool v4) {
  net::write_sysctl(v4 ? "net/ipv4/ip_forward" : "net/ipv6/conf/all/forwarding", "1");
}

// The bridge a failed ADD made goes again, unless another ADD has put a port on it meanwhile.
void delete_bridge_if_unused(const net::Netlink& nl, const std::string& name) {
  const auto bridge = net::find_link(nl, name);
  if (!bridge) return;
  const auto links = net::list_links(nl);
  if (std::any_of(links.begin(), links.end(),
                  [&](const net::LinkInfo& l) { return l.master_index == bridge->index; }))
    return;
  (void)net::delete_link_if_exists(nl, name);
}

}  // namespace

cni::Result cmd_add(const cni::CmdArgs& args) {
  const Config config = parse_config(args);
  const auto [container, ctr_nl] = cni::open_container_for_add(args);
  const auto host_nl = net::Netlink::connect();
  // Subscribed before any port can come up, so the wait below cannot miss the change.
  auto watch = net::LinkWatch::open();

  netcore::Undo undo;
  bool created = false;
  auto bridge = net::ensure_bridge(
      host_nl,
      {.name = config.bridge, .mtu = config.mtu, .fixed_mac = true, .promisc = config.promisc},
      &created);
  if (created) undo.push([&] { delete_bridge_if_unused(host_nl, config.bridge); });
  // The bridge's routes are ours to set, not router advertisements': on every ADD, as the
  // reference does, so a bridge made by someone else is covered too.
  (void)net::write_sysctl_if_exists("net/ipv6/conf/" + config.bridge + "/accept_ra", "0");

  net::VethSpec veth{.peer_name = args.ifname,
                     .peer_netns = &container,
                     .mtu = config.mtu,
                     .peer_mac = config.mac};
  net::LinkInfo host;
  if (config.host_veth_name) {
    veth.name = *config.host_veth_name;
    host = net::create_veth(host_nl, veth);
  } else {
    host = net::create_veth_with_random_name(host_nl, config.host_veth_prefix, veth);
  }
  undo.push([&host_nl, name = host.name] { (void)net::delete_link_if_exists(host_nl, name); });
  // A bridge port needs no IPv6 of its own. Left on, every port gets a link-local address, DAD
  // and an fe80::/64 route, and with a thousand ports every IPv6 route lookup on the host walks
  // a thousand fe80::/64 routes (the reference's host ends keep it; they also answer nothing).
  (void)net::write_sysctl_if_exists("net/ipv6/conf/" + host.name + "/disable_ipv6", "1");
  net::set_master(host_nl, host.index, bridge.index);
  if (config.hairpin || config.port_isolation)
    net::set_bridge_port(host_nl, host.index,
                         {.hairpin = config.hairpin, .isolated = config.port_isolation});
  net::set_up(host_nl, host.index);
  const auto ctr = net::get_link(ctr_nl, args.ifname);

  const auto attachment = cni::fw_attachment(args);
  if (config.mac_spoof_check) {
    fw::add_mac_spoof_check(attachment, host.name, ctr.mac);
    undo.push([attachment] { fw::remove_mac_spoof_check(attachment); });
  }

  cni::Result result;
  if (config.layer3()) {
    result = cni::delegate_add(config.ipam_type, args);
    undo.push([&] { cni::delegate_del(config.ipam_type, args); });
    if (result.ips.empty())
      throw Error(ErrorCode::kInternal, "IPAM plugin returned missing IP config");
    result.interfaces.clear();
    complete_ipam_result(config, result);
  }
  configure_container(config, args.ifname, container, ctr_nl, ctr.index, result);

  bool pinned = created;  // a bridge created here has its MAC fixed already (ensure_bridge)
  if (config.is_gateway) {
    std::vector<bool> families;
    for (const auto& ip : result.ips) {
      if (!ip.gateway) continue;
      ensure_gateway_address(config, host_nl, bridge,
                             net::Prefix(*ip.gateway, ip.address.length()));
      if (std::find(families.begin(), families.end(), ip.address.is_v4()) == families.end())
        families.push_back(ip.address.is_v4());
    }
    for (const bool v4 : families) enable_forwarding(v4);
    if (!pinned && !families.empty()) {
      bridge = pin_bridge_mac(host_nl, bridge.index);
      pinned = true;
    }
  }

  if (config.ip_masq && config.layer3()) {
    std::vector<net::Prefix> addresses;
    for (const auto& ip : result.ips) addresses.push_back(ip.address);
    fw::add_masquerade(attachment, addresses, config.masq_exclude);
    undo.push([&] { fw::remove_masquerade(attachment); });
  }

  if (!config.disable_container_interface) {
    const auto up = watch.wait_until(
        host_nl, host.index, [](const net::LinkInfo& l) { return l.operstate == IF_OPER_UP; },
        kPortUpTimeout);
    if (!up)
      throw Error(ErrorCode::kInternal, "bridge port " + host.name + " did not come up within " +
                                            std::to_string(kPortUpTimeout.count()) + " ms");
    host = *up;
  }
  // A bridge another tool made without a fixed MAC changes it as ports join: report it as it is.
  if (!pinned) bridge = net::get_link(host_nl, bridge.index);

  result.interfaces = {{.name = bridge.name, .mac = bridge.mac.to_string()},
                       {.name = host.name, .mac = host.mac.to_string()},
                       {.name = args.ifname, .mac = ctr.mac.to_string(), .sandbox = args.netns}};
  result.interfaces[1].mtu = config.mtu;
  result.interfaces[2].mtu = config.mtu;
  if (config.dns) result.dns = *config.dns;
  undo.commit();
  return result;
}

void cmd_del(const cni::CmdArgs& args) {
  const Config config = parse_config(args);
  const auto attachment = cni::fw_attachment(args);
  netcore::ErrorList errors;
  // IPAM first: an address must not stay reserved because a link is stuck.
  if (config.layer3()) errors.attempt([&] { cni::delegate_del(config.ipam_type, args); });
  // The config is the ADD's (spec §3): without these options there are no entries, and DEL
  // does not pay for loading libnftables.
  if (config.ip_masq && config.layer3())
    errors.attempt([&] { fw::remove_masquerade(attachment); });
  if (config.mac_spoof_check) errors.attempt([&] { fw::remove_mac_spoof_check(attachment); });
  errors.attempt([&] { cni::delete_container_link_if_exists(args); });
  errors.throw_if_any("bridge del");
}

namespace {

[[noreturn]] void check_failed(const std::string& what) {
  throw Error(ErrorCode::kInternal, "bridge check: " + what);
}

}  // namespace

void cmd_check(const cni::CmdArgs& args) {
  const Config config = parse_config(args);
  const auto prev = args.prev_result();
  if (!prev) throw Error(ErrorCode::kInvalidNetworkConfig, "bridge: required prevResult missing");
  if (config.layer3()) cni::delegate_check(config.ipam_type, args);

  const cni::Interface* bridge_iface = nullptr;
  const cni::Interface* ctr_iface = nullptr;
  for (const auto& iface : prev->interfaces) {
    if (iface.name == config.bridge && iface.sandbox.empty()) bridge_iface = &iface;
    if (iface.name == args.ifname && iface.sandbox == args.netns) ctr_iface = &iface;
  }
  if (bridge_iface == nullptr) check_failed("bridge " + config.bridge + " not in prevResult");
  if (ctr_iface == nullptr)
    check_failed("interface " + args.ifname + " in " + args.netns + " not in prevResult");

  const auto host_nl = net::Netlink::connect();
  const auto bridge = net::find_link(host_nl, config.bridge);
  if (!bridge || bridge->kind != "bridge") check_failed("bridge " + config.bridge + " not found");
  if (!bridge_iface->mac.empty() && bridge_iface->mac != bridge->mac.to_string())
    check_failed("bridge " + config.bridge + " has MAC " + bridge->mac.to_string() + ", not " +
                 bridge_iface->mac);
  if (bridge->promisc != config.promisc)
    check_failed("bridge " + config.bridge + " promiscuous mode is " +
                 (bridge->promisc ? "on" : "off"));

  const auto container = net::Netns::open(args.netns);
  const auto ctr_nl = container.run([] { return net::Netlink::connect(); });
  const auto ctr = net::find_link(ctr_nl, args.ifname);
  if (!ctr || ctr->kind != "veth") check_failed("veth " + args.ifname + " not found in container");
  if (!ctr_iface->mac.empty() && ctr_iface->mac != ctr->mac.to_string())
    check_failed("interface " + args.ifname + " has MAC " + ctr->mac.to_string() + ", not " +
                 ctr_iface->mac);

  // The host end: a veth of prevResult whose peer is the container interface, on the bridge.
  std::optional<net::LinkInfo> host;
  for (const auto& iface : prev->interfaces) {
    if (&iface == bridge_iface || &iface == ctr_iface || !iface.sandbox.empty()) continue;
    const auto link = net::find_link(host_nl, iface.name);
    if (!link || link->kind != "veth" || link->index != ctr->link_index) continue;
    if (link->master_index != bridge->index)
      check_failed("veth " + link->name + " is not a port of " + config.bridge);
    if (!iface.mac.empty() && iface.mac != link->mac.to_string())
      check_failed("veth " + link->name + " has MAC " + link->mac.to_string() + ", not " + iface.mac);
    host = link;
  }
  if (!host) check_failed("the host end of " + args.ifname + " on " + config.bridge + " not found");

  const auto addresses = net::list_addresses(ctr_nl, ctr->index);
  std::vector<net::Prefix> masqueraded;
  for (const auto& ip : prev->ips) {
    if (std::none_of(addresses.begin(), addresses.end(),
                     [&](const net::AddressInfo& a) { return a.prefix == ip.address; }))
      check_failed("address " + ip.address.to_string() + " missing on " + args.ifname);
    masqueraded.push_back(ip.address);
  }
  const auto routes = net::list_routes(ctr_nl, AF_UNSPEC, ctr->index);
  for (const auto& route : prev->routes) {
    const auto wanted = kernel_route(route, *prev, ctr->index);
    if (std::none_of(routes.begin(), routes.end(), [&](const net::Route& r) {
          return r.dst == wanted.dst && (!wanted.gateway || r.gateway == wanted.gateway);
        }))
      check_failed("route " + wanted.to_string() + " missing");
  }
  const auto attachment = cni::fw_attachment(args);
  if (config.ip_masq && config.layer3() && !masqueraded.empty() &&
      !fw::has_masquerade(attachment, masqueraded))
    check_failed("masquerade entries of " + args.container_id + "/" + args.ifname + " missing");
  if (config.mac_spoof_check && !fw::has_mac_spoof_check(attachment, host->name, ctr->mac))
    check_failed("mac spoof check of " + host->name + " missing");
}

void cmd_gc(const cni::CmdArgs& args) {
  const Config config = parse_config(args);
  netcore::ErrorList errors;
  if (config.layer3()) errors.attempt([&] { cni::delegate_gc(config.ipam_type, args); });
  if (const auto keep = cni::fw_valid_attachments(args)) {
    if (config.ip_masq && config.layer3())
      errors.attempt([&] { fw::gc_masquerade(args.network_name, *keep); });
    if (config.mac_spoof_check)
      errors.attempt([&] { fw::gc_mac_spoof_check(args.network_name, *keep); });
  }
  errors.throw_if_any("bridge gc");
}

void cmd_status(const cni::CmdArgs& args) {
  const Config config = parse_config(args);
  if ((config.ip_masq && config.layer3()) || config.mac_spoof_check) fw::ensure_nftables_loaded();
  if (config.layer3()) cni::delegate_status(config.ipam_type, args);
}

cni::PluginSpec spec() {
  return {.name = "bridge",
          .add = cmd_add,
          .del = cmd_del,
          .check = cmd_check,
          .status = cmd_status,
          .gc = cmd_gc};
}

}  // namespace plugins::bridge
