#include "host_device.hpp"

#include <netcore/base/log.hpp>

#include <algorithm>
#include <netcore/base/error.hpp>
#include <netcore/base/undo.hpp>
#include <netcore/cni/configure_iface.hpp>
#include <netcore/cni/delegate.hpp>
#include <netcore/cni/veth_plugin.hpp>
#include <netcore/net/address.hpp>
#include <netcore/net/link.hpp>
#include <netcore/net/netlink.hpp>
#include <netcore/net/netns.hpp>

#include "config.hpp"
#include "kernel_path.hpp"

namespace plugins::host_device {
namespace cni = netcore::cni;
namespace net = netcore::net;
using netcore::Error;
using netcore::ErrorCode;

namespace {

net::LinkInfo find_host_link(const Config& config, const net::Netlink& nl) {
  std::optional<net::LinkInfo> link;
  std::string what;
  if (!config.device.empty()) {
    what = "device " + config.device;
    link = net::find_link(nl, config.device);
  } else if (config.hwaddr) {
    what = "hwaddr " + config.hwaddr->to_string();
    for (const auto& l : net::list_links(nl))
      if (l.mac == *config.hwaddr) {
        link = l;
        break;
      }
  } else {
    what = "kernelpath " + config.kernelpath;
    link = net::find_link(nl, link_name_of_kernel_path(config.kernelpath));
  }
  if (!link) throw Error(ErrorCode::kInvalidNetworkConfig, "host-device: no host link for " + what);
  if (link->name == "lo")
    throw Error(ErrorCode::kInvalidNetworkConfig, "host-device: will not move lo");
  return *link;
}

// The addresses that belong to the link itself: not the kernel's IPv6 link-local ones, which it
// makes again in every namespace.
std::vector<net::Prefix> own_addresses(const net::Netlink& nl, int index) {
  std::vector<net::Prefix> out;
  for (const auto& a : net::list_addresses(nl, index)) {
    if (!a.prefix.is_v4() && a.prefix.address().to_v6().is_link_local()) continue;
    out.push_back(a.prefix);
  }
  return out;
}

void add_addresses(const net::Netlink& nl, int index, const std::vector<net::Prefix>& addresses) {
  for (const auto& prefix : addresses) net::add_address(nl, index, prefix, {.nodad = true});
}

// Moves link `index` (seen through `from_nl`) into `to` under `new_name` with `alias`, through a
// fresh namespace where the rename cannot collide with anything. A netns move takes the link
// down. Returns its index in `to`.
int move_renamed(const net::Netlink& from_nl, int index, const net::Netns& to,
                 const std::string& new_name, const std::string& alias) {
  const auto temp = net::Netns::create();
  const auto temp_nl = temp.run([] { return net::Netlink::connect(); });
  net::move_to_netns(from_nl, index, temp);
  try {
    // The index is kept across the move unless it is taken in the target namespace.
    const auto moved = net::get_link(temp_nl, index);
    if (moved.name != new_name) net::rename_link(temp_nl, moved.index, new_name);
    net::set_alias(temp_nl, moved.index, alias);
    net::move_to_netns(temp_nl, moved.index, to);
  } catch (...) {
    // Never let the link die with the temporary namespace: a virtual link would be destroyed.
    for (const auto& l : net::list_links(temp_nl))
      if (l.name != "lo") try {
          net::move_to_netns(temp_nl, l.index, net::Netns::current());
        } catch (const std::exception& e) {
          netcore::log::error("host-device: return {} to its netns: {}", l.name, e.what());
        }
    throw;
  }
  const auto to_nl = to.run([] { return net::Netlink::connect(); });
  return net::get_link(to_nl, new_name).index;
}

// The link back in the host (the calling thread's netns) under `name`, alias cleared, with
// `addresses`.
void return_to_host(const net::Netlink& ctr_nl, int index, const std::string& name,
                    const std::vector<net::Prefix>& addresses) {
  const auto host = net::Netns::current();
  const int host_index = move_renamed(ctr_nl, index, host, name, "");
  const auto host_nl = net::Netlink::connect();
  add_addresses(host_nl, host_index, addresses);
}

}  // namespace

cni::Result cmd_add(const cni::CmdArgs& args) {
  const Config config = parse_config(args);
  // Named references, not a structured binding: clang 14 cannot capture bindings in lambdas.
  const auto side = cni::open_container_for_add(args);
  const net::Netns& container = side.netns;
  const net::Netlink& ctr_nl = side.nl;
  const auto host_nl = net::Netlink::connect();
  const net::LinkInfo host_link = find_host_link(config, host_nl);
  const auto addresses = own_addresses(host_nl, host_link.index);

  netcore::Undo undo;
  const int index = move_renamed(host_nl, host_link.index, container, args.ifname, host_link.name);
  undo.push([&] {
    return_to_host(ctr_nl, net::get_link(ctr_nl, args.ifname).index, host_link.name, addresses);
  });
  add_addresses(ctr_nl, index, addresses);
  const auto link = net::get_link(ctr_nl, index);

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
    cni::configure_iface(container, ctr_nl, args.ifname, index, result);
  } else {
    net::set_up(ctr_nl, index);
  }
  if (config.dns) result.dns = *config.dns;
  undo.commit();
  return result;
}

void cmd_del(const cni::CmdArgs& args) {
  const Config config = parse_config(args);
  netcore::ErrorList errors;
  if (config.layer3()) errors.attempt([&] { cni::delegate_del(config.ipam_type, args); });
  errors.attempt([&] {
    const auto container = net::Netns::open_if_exists(args.netns);
    if (!container) return;  // a physical device went back to the initial netns with it
    const auto nl = container->run([] { return net::Netlink::connect(); });
    const auto link = net::find_link(nl, args.ifname);
    if (!link) return;
    std::vector<net::Prefix> ipam_addresses;
    if (const auto prev = args.prev_result())
      for (const auto& ip : prev->ips) ipam_addresses.push_back(ip.address);
    auto addresses = own_addresses(nl, link->index);
    std::erase_if(addresses, [&](const net::Prefix& p) {
      return std::find(ipam_addresses.begin(), ipam_addresses.end(), p) != ipam_addresses.end();
    });
    std::string name = link->alias;
    if (name.empty()) {
      netcore::log::warn("host-device: {} has no alias with its host name, returning it as {}",
                   args.ifname, args.ifname);
      name = args.ifname;
    }
    net::set_down(nl, link->index);
    return_to_host(nl, link->index, name, addresses);
  });
  errors.throw_if_any("host-device del");
}

void cmd_check(const cni::CmdArgs& args) {
  const Config config = parse_config(args);
  const auto prev = args.prev_result();
  if (!prev)
    throw Error(ErrorCode::kInvalidNetworkConfig, "host-device: required prevResult missing");
  if (config.layer3()) cni::delegate_check(config.ipam_type, args);
  const auto container = net::Netns::open(args.netns);
  const auto nl = container.run([] { return net::Netlink::connect(); });
  const auto link = net::find_link(nl, args.ifname);
  if (!link)
    throw Error(ErrorCode::kInternal, "host-device: interface " + args.ifname + " not found");
  // Without its alias DEL could not give the device its own name back.
  if (link->alias.empty())
    throw Error(ErrorCode::kInternal,
                "host-device: interface " + args.ifname + " has lost the alias with its host name");
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
  return {.name = "host-device",
          .add = cmd_add,
          .del = cmd_del,
          .check = cmd_check,
          .status = cmd_status,
          .gc = cmd_gc};
}

}  // namespace plugins::host_device
