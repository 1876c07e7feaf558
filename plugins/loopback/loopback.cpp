#include "loopback.hpp"

#include <netcore/base/error.hpp>
#include <netcore/net/address.hpp>
#include <netcore/net/link.hpp>
#include <netcore/net/netlink.hpp>
#include <netcore/net/netns.hpp>

namespace plugins::loopback {
namespace cni = netcore::cni;
namespace net = netcore::net;
using netcore::Error;
using netcore::ErrorCode;

namespace {

constexpr const char* kLoopback = "lo";

net::Netlink connect_in(const net::Netns& ns) {
  return ns.run([] { return net::Netlink::connect(); });
}

}  // namespace

cni::Result cmd_add(const cni::CmdArgs& args) {
  const auto ns = net::Netns::open(args.netns);
  const auto nl = connect_in(ns);
  const auto lo = net::get_link(nl, kLoopback);
  net::set_up(nl, lo.index);

  const auto addresses = net::list_addresses(nl, lo.index, AF_UNSPEC);
  for (const auto& a : addresses) {
    if (!a.prefix.address().is_loopback())
      throw Error(ErrorCode::kInternal,
                  "loopback interface found with non-loopback address " + a.prefix.to_string());
  }

  if (auto prev = args.prev_result()) return *std::move(prev);

  cni::Result result;
  result.interfaces.push_back({.name = kLoopback, .mac = "00:00:00:00:00:00", .sandbox = args.netns});
  // IPv4 first, like the reference (its netlink dump lists families in that order).
  for (const int family : {AF_INET, AF_INET6}) {
    for (const auto& a : addresses) {
      if (a.prefix.family() == family) result.ips.push_back({.address = a.prefix, .interface = 0});
    }
  }
  return result;
}

void cmd_del(const cni::CmdArgs& args) {
  const auto ns = net::Netns::open_if_exists(args.netns);
  if (!ns) return;
  const auto nl = connect_in(*ns);
  if (const auto lo = net::find_link(nl, kLoopback)) net::set_down(nl, lo->index);
}

void cmd_check(const cni::CmdArgs& args) {
  const auto ns = net::Netns::open(args.netns);
  const auto nl = connect_in(ns);
  if (!net::get_link(nl, kLoopback).up)
    throw Error(ErrorCode::kInternal, "loopback interface is down");
}

cni::PluginSpec spec() {
  return {.name = "loopback",
          .add = cmd_add,
          .del = cmd_del,
          .check = cmd_check,
          // lo needs nothing to be ready, and loopback keeps no state to collect: the defaults
          // (success) are the complete answers for STATUS and GC.
          .status = {},
          .gc = {}};
}

}  // namespace plugins::loopback
