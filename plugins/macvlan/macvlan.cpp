#include "macvlan.hpp"

#include <netcore/base/log.hpp>

#include <netcore/base/error.hpp>
#include <netcore/base/undo.hpp>
#include <netcore/cni/configure_iface.hpp>
#include <netcore/cni/container_link.hpp>
#include <netcore/cni/delegate.hpp>
#include <netcore/cni/veth_plugin.hpp>
#include <netcore/net/link.hpp>
#include <netcore/net/netlink.hpp>
#include <netcore/net/netns.hpp>
#include <netcore/net/route.hpp>

#include "config.hpp"

namespace plugins::macvlan {
namespace cni = netcore::cni;
namespace net = netcore::net;
using netcore::Error;
using netcore::ErrorCode;

namespace {

// The interface of the first IPv4 default route of the main table, as the reference picks it.
std::string default_route_interface(const net::Netlink& nl) {
  for (const auto& route : net::list_routes(nl, AF_INET)) {
    if (route.table != RT_TABLE_MAIN || route.dst.length() != 0 || route.ifindex == 0) continue;
    if (const auto link = net::find_link(nl, route.ifindex)) return link->name;
  }
  throw Error(ErrorCode::kInternal,
              "macvlan: no master given and no IPv4 default route to take it from");
}

// The master as the namespace it lives in sees it. A master that does not exist is a config
// error: the network names it.
net::LinkInfo find_master(const Config& config, const net::Netlink& nl) {
  const std::string name = config.master.empty() ? default_route_interface(nl) : config.master;
  const auto master = net::find_link(nl, name);
  if (!master)
    throw Error(ErrorCode::kInvalidNetworkConfig,
                "macvlan: lookup master \"" + name + "\": no such link" +
                    (config.link_in_container ? " in the container" : ""));
  return *master;
}

}  // namespace

cni::Result cmd_add(const cni::CmdArgs& args) {
  const Config config = parse_config(args);
  // Named references, not a structured binding: clang 14 cannot capture bindings in lambdas.
  const auto side = cni::open_container_for_add(args);
  const net::Netns& container = side.netns;
  const net::Netlink& ctr_nl = side.nl;
  const auto host_nl = config.link_in_container ? std::optional<net::Netlink>()
                                                : std::optional(net::Netlink::connect());
  const net::Netlink& master_nl = config.link_in_container ? ctr_nl : *host_nl;
  const net::LinkInfo master = find_master(config, master_nl);
  if (config.mtu && *config.mtu > master.mtu)
    throw Error(ErrorCode::kInvalidNetworkConfig,
                "macvlan: invalid MTU " + std::to_string(*config.mtu) + ", must be [0, master " +
                    master.name + " MTU(" + std::to_string(master.mtu) + ")]");

  netcore::Undo undo;
  // Created in the container under its final name. The reference makes it in the host under a
  // temporary name and moves it, against a kernel that checked the new name in the creating
  // namespace; the kernels nsnet supports check it in the target namespace (tested with a host
  // link of the same name), so there is no window in which a half-made link sits in the host.
  net::create_macvlan(master_nl, {.name = args.ifname,
                                  .master_index = master.index,
                                  .mode = config.mode,
                                  .mtu = config.mtu,
                                  .mac = config.mac,
                                  .target = config.link_in_container ? nullptr : &container});
  undo.push([&] { (void)net::delete_link_if_exists(ctr_nl, args.ifname); });
  const auto link = net::get_link(ctr_nl, args.ifname);

  cni::Result result;
  result.interfaces = {{.name = args.ifname, .mac = link.mac.to_string(), .sandbox = args.netns}};
  if (config.layer3()) {
    cni::Result ipam = cni::delegate_add(config.ipam_type, args);
    undo.push([&] { cni::delegate_del(config.ipam_type, args); });
    if (ipam.ips.empty())
      throw Error(ErrorCode::kInternal, "IPAM plugin returned missing IP config");
    result.ips = ipam.ips;
    for (auto& ip : result.ips) ip.interface = 0;
    result.routes = ipam.routes;
    result.dns = ipam.dns;
    // Only with addresses, as the reference: a link-only macvlan's neighbours are someone else's.
    cni::enable_neighbour_notify(container, args.ifname);
    cni::configure_iface(container, ctr_nl, args.ifname, link.index, result);
  } else {
    net::set_up(ctr_nl, link.index);
  }
  if (config.dns) result.dns = *config.dns;
  undo.commit();
  return result;
}

void cmd_del(const cni::CmdArgs& args) {
  const Config config = parse_config(args);
  netcore::ErrorList errors;
  if (config.layer3()) errors.attempt([&] { cni::delegate_del(config.ipam_type, args); });
  errors.attempt([&] { cni::delete_container_link_if_exists(args); });
  errors.throw_if_any("macvlan del");
}

void cmd_check(const cni::CmdArgs& args) {
  const Config config = parse_config(args);
  const auto prev = args.prev_result();
  if (!prev) throw Error(ErrorCode::kInvalidNetworkConfig, "macvlan: required prevResult missing");
  if (config.layer3()) cni::delegate_check(config.ipam_type, args);

  const auto container = net::Netns::open(args.netns);
  const auto ctr_nl = container.run([] { return net::Netlink::connect(); });
  const auto link = net::find_link(ctr_nl, args.ifname);
  if (!link) throw Error(ErrorCode::kInternal, "macvlan: interface " + args.ifname + " not found");
  if (link->kind != "macvlan")
    throw Error(ErrorCode::kInternal, "macvlan: interface " + args.ifname + " is a \"" +
                                          link->kind + "\", not a macvlan");
  // IFLA_LINK names the master by its index in the master's namespace.
  const auto master_nl = config.link_in_container ? std::optional<net::Netlink>()
                                                  : std::optional(net::Netlink::connect());
  const net::LinkInfo master = find_master(config, master_nl ? *master_nl : ctr_nl);
  if (link->link_index != master.index)
    throw Error(ErrorCode::kInternal,
                "macvlan: interface " + args.ifname + " is not on master " + master.name);
  cni::check_iface(ctr_nl, *link, *prev);
}

void cmd_gc(const cni::CmdArgs& args) {
  const Config config = parse_config(args);
  if (config.layer3()) cni::delegate_gc(config.ipam_type, args);
}

void cmd_status(const cni::CmdArgs& args) {
  const Config config = parse_config(args);
  if (config.layer3()) cni::delegate_status(config.ipam_type, args);
}

cni::PluginSpec spec() {
  return {.name = "macvlan",
          .add = cmd_add,
          .del = cmd_del,
          .check = cmd_check,
          .status = cmd_status,
          .gc = cmd_gc};
}

}  // namespace plugins::macvlan
