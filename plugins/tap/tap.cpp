#include "tap.hpp"

#include <netcore/base/error.hpp>
#include <netcore/base/undo.hpp>
#include <netcore/cni/configure_iface.hpp>
#include <netcore/cni/container_link.hpp>
#include <netcore/cni/delegate.hpp>
#include <netcore/cni/veth_plugin.hpp>
#include <netcore/net/link.hpp>
#include <netcore/net/netlink.hpp>
#include <netcore/net/netns.hpp>

#include "config.hpp"

namespace plugins::tap {
namespace cni = netcore::cni;
namespace net = netcore::net;
using netcore::Error;
using netcore::ErrorCode;

namespace {

net::LinkInfo get_bridge(const net::Netlink& nl, const std::string& name) {
  const auto bridge = net::find_link(nl, name);
  if (!bridge)
    throw Error(ErrorCode::kInvalidNetworkConfig,
                "tap: bridge " + name + " not found in the container");
  if (bridge->kind != "bridge")
    throw Error(ErrorCode::kInvalidNetworkConfig,
                "tap: " + name + " is a \"" + bridge->kind + "\", not a bridge");
  return *bridge;
}

}  // namespace

cni::Result cmd_add(const cni::CmdArgs& args) {
  const Config config = parse_config(args);
  // Named references, not a structured binding: clang 14 cannot capture bindings in lambdas.
  const auto side = cni::open_container_for_add(args);
  const net::Netns& container = side.netns;
  const net::Netlink& ctr_nl = side.nl;
  std::optional<net::LinkInfo> bridge;
  if (!config.bridge.empty()) bridge = get_bridge(ctr_nl, config.bridge);

  netcore::Undo undo;
  net::LinkInfo tap = net::create_tap(container, {.name = args.ifname,
                                                  .owner = config.owner,
                                                  .group = config.group,
                                                  .multi_queue = config.multi_queue,
                                                  .mtu = config.mtu,
                                                  .mac = config.mac});
  undo.push([&] { (void)net::delete_link_if_exists(ctr_nl, args.ifname); });
  if (bridge) net::set_master(ctr_nl, tap.index, bridge->index);

  cni::Result result;
  result.interfaces = {{.name = args.ifname, .mac = tap.mac.to_string(), .sandbox = args.netns}};
  result.interfaces[0].mtu = config.mtu;
  if (config.layer3()) {
    cni::Result ipam = cni::delegate_add(config.ipam_type, args);
    undo.push([&] { cni::delegate_del(config.ipam_type, args); });
    if (ipam.ips.empty())
      throw Error(ErrorCode::kInternal, "IPAM plugin returned missing IP config");
    result.ips = ipam.ips;
    for (auto& ip : result.ips) ip.interface = 0;
    result.routes = ipam.routes;
    result.dns = ipam.dns;
    cni::configure_iface(container, ctr_nl, args.ifname, tap.index, result);
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
  errors.throw_if_any("tap del");
}

void cmd_check(const cni::CmdArgs& args) {
  const Config config = parse_config(args);
  const auto prev = args.prev_result();
  if (!prev) throw Error(ErrorCode::kInvalidNetworkConfig, "tap: required prevResult missing");
  if (config.layer3()) cni::delegate_check(config.ipam_type, args);

  const auto container = net::Netns::open(args.netns);
  const auto nl = container.run([] { return net::Netlink::connect(); });
  const auto link = net::find_link(nl, args.ifname);
  if (!link) throw Error(ErrorCode::kInternal, "tap: interface " + args.ifname + " not found");
  if (link->kind != "tun")
    throw Error(ErrorCode::kInternal,
                "tap: interface " + args.ifname + " is a \"" + link->kind + "\", not a tap");
  if (!config.bridge.empty() && link->master_index != get_bridge(nl, config.bridge).index)
    throw Error(ErrorCode::kInternal,
                "tap: interface " + args.ifname + " is not a port of bridge " + config.bridge);
  cni::check_iface(nl, *link, *prev);
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
  return {.name = "tap",
          .add = cmd_add,
          .del = cmd_del,
          .check = cmd_check,
          .status = cmd_status,
          .gc = cmd_gc};
}

}  // namespace plugins::tap
