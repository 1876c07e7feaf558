#include "portmap/portmap.hpp"

#include <netinet/in.h>
#include <netcore/base/log.hpp>
#include <netcore/cni/fw_attachment.hpp>

#include <netcore/base/error.hpp>
#include <netcore/base/undo.hpp>
#include <netcore/fw/conntrack.hpp>
#include <netcore/fw/nftables.hpp>
#include <netcore/fw/portmap.hpp>
#include <netcore/net/link.hpp>
#include <netcore/net/netlink.hpp>
#include <netcore/net/route.hpp>
#include <netcore/net/sysctl.hpp>

#include "portmap/config.hpp"

namespace plugins::portmap {
namespace cni = netcore::cni;
namespace fw = netcore::fw;
namespace net = netcore::net;
using netcore::Error;
using netcore::ErrorCode;

namespace {

// The interface the host routes `container` through (longest matching prefix), or "" when no
// route leaves through an interface.
std::string host_interface_to(const net::IpAddress& container) {
  const auto nl = net::Netlink::connect();
  std::optional<net::Route> best;
  for (const auto& route : net::list_routes(nl, net::address_family(container))) {
    if (route.ifindex == 0 || !route.dst.contains(container)) continue;
    if (!best || route.dst.length() > best->dst.length()) best = route;
  }
  if (!best) return {};
  return net::get_link(nl, best->ifindex).name;
}

// 127.0.0.1:hostPort reaches the container only if the host may route 127.0.0.0/8-sourced
// packets out of the interface towards it; the masquerade then gives them a real source. The
// setting stays: the interface is shared with other containers.
void enable_localnet_routing(const net::IpAddress& container) {
  const std::string ifname = host_interface_to(container);
  if (ifname.empty()) {
    netcore::log::warn("portmap: no route to {}, 127.0.0.1 will not reach it", container.to_string());
    return;
  }
  net::write_sysctl("net/ipv4/conf/" + ifname + "/route_localnet", "1");
}

// A UDP flow seen before the port was published (a client retrying) keeps its un-NATed
// conntrack entry and would never reach the container.
void flush_udp_conntrack(const fw::PortmapSpec& spec) {
  std::vector<std::uint16_t> ports;
  for (const auto& m : spec.mappings)
    if (m.protocol == fw::L4Protocol::kUdp) ports.push_back(m.host_port);
  if (ports.empty()) return;
  try {
    (void)fw::delete_conntrack_by_dst_port(IPPROTO_UDP, ports);
  } catch (const Error& e) {
    netcore::log::warn("portmap: {}, ignoring", e.msg());
  }
}

cni::Result require_prev_result(const cni::CmdArgs& args) {
  auto prev = args.prev_result();
  if (!prev) throw Error(ErrorCode::kInvalidNetworkConfig, "portmap: must be called as chained plugin");
  return *std::move(prev);
}

}  // namespace

cni::Result cmd_add(const cni::CmdArgs& args) {
  const Config config = parse_config(args);
  cni::Result prev = require_prev_result(args);
  if (config.mappings.empty()) return prev;  // nothing to publish; nothing loaded
  const fw::PortmapSpec spec = make_spec(config, prev, args.ifname);

  netcore::Undo undo;
  fw::add_portmap(cni::fw_attachment(args), spec);
  undo.push([&] { fw::remove_portmap(cni::fw_attachment(args)); });
  if (spec.snat && spec.container_v4) enable_localnet_routing(*spec.container_v4);
  flush_udp_conntrack(spec);
  undo.commit();
  return prev;
}

void cmd_del(const cni::CmdArgs& args) {
  // Found by tag, so neither portMappings nor prevResult matter: a runtime that does not send
  // them again on DEL leaves nothing behind.
  fw::remove_portmap(cni::fw_attachment(args));
}

void cmd_check(const cni::CmdArgs& args) {
  const Config config = parse_config(args);
  const cni::Result prev = require_prev_result(args);
  const fw::PortmapSpec spec = make_spec(config, prev, args.ifname);
  if (!spec.container_v4 && !spec.container_v6) return;  // no mappings and nowhere to map to
  if (!fw::has_portmap(cni::fw_attachment(args), spec))
    throw Error(ErrorCode::kInternal, "portmap: rules of " + args.container_id + "/" +
                                          args.ifname + " differ from runtimeConfig.portMappings");
}

void cmd_gc(const cni::CmdArgs& args) {
  const auto keep = cni::fw_valid_attachments(args);
  if (!keep) return;  // a GC that names nothing to keep collects nothing
  fw::gc_portmap(args.network_name, *keep);
}

void cmd_status(const cni::CmdArgs& /*args*/) { fw::ensure_nftables_loaded(); }

cni::PluginSpec spec() {
  return {.name = "portmap",
          .add = cmd_add,
          .del = cmd_del,
          .check = cmd_check,
          .status = cmd_status,
          .gc = cmd_gc};
}

}  // namespace plugins::portmap
