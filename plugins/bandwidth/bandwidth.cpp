#include "bandwidth/bandwidth.hpp"

#include <linux/pkt_sched.h>
#include <netcore/base/log.hpp>

#include <algorithm>
#include <netcore/base/error.hpp>
#include <netcore/base/hash.hpp>
#include <netcore/base/undo.hpp>
#include <netcore/net/link.hpp>
#include <netcore/net/netlink.hpp>
#include <netcore/net/netns.hpp>
#include <netcore/net/tc.hpp>
#include <optional>

#include "bandwidth/config.hpp"

namespace plugins::bandwidth {
namespace cni = netcore::cni;
namespace net = netcore::net;
using netcore::Error;
using netcore::ErrorCode;

namespace {

constexpr std::string_view kAliasPrefix = "nsnet-bandwidth ";
constexpr std::size_t kMaxAlias = 255;
constexpr std::uint32_t kIngressParent = 0xffff0000;  // the ingress qdisc "ffff:"

[[noreturn]] void fail(ErrorCode code, const std::string& message) {
  throw Error(code, "bandwidth: " + message);
}

// The host end of the veth CNI_IFNAME: the link whose IFLA_LINK is the container end, and which
// the container end names as its peer.
net::LinkInfo find_host_end(const cni::CmdArgs& args, const net::Netlink& host_nl) {
  const auto container = net::Netns::open(args.netns);
  const auto ctr_nl = container.run([] { return net::Netlink::connect(); });
  const auto ctr = net::find_link(ctr_nl, args.ifname);
  if (!ctr)
    fail(ErrorCode::kInvalidNetworkConfig,
         "interface " + args.ifname + " not found in " + args.netns);
  if (ctr->kind != "veth")
    fail(ErrorCode::kInvalidNetworkConfig,
         "interface " + args.ifname + " is " +
             (ctr->kind.empty() ? std::string("a device") : "of kind " + ctr->kind) +
             ", not a veth: only veth attachments can be shaped");
  const auto host = ctr->link_index > 0 ? net::find_link(host_nl, ctr->link_index) : std::nullopt;
  if (!host || host->kind != "veth" || host->link_index != ctr->index)
    fail(ErrorCode::kInvalidNetworkConfig,
         "the veth peer of " + args.ifname + " is not in this (the host's) namespace");
  return *host;
}

void require_listed(const cni::Result& prev, const net::LinkInfo& host, const std::string& ifname) {
  const bool listed =
      std::any_of(prev.interfaces.begin(), prev.interfaces.end(),
                  [&](const auto& i) { return i.sandbox.empty() && i.name == host.name; });
  if (!listed)
    fail(ErrorCode::kInvalidNetworkConfig,
         "the host end " + host.name + " of " + ifname + " is not among prevResult's interfaces");
}

cni::Result require_prev_result(const cni::CmdArgs& args) {
  auto prev = args.prev_result();
  if (!prev)
    fail(ErrorCode::kInvalidNetworkConfig,
         "prevResult missing: must be chained after the plugin that makes the veth");
  return std::move(*prev);
}

std::string ifb_of(const cni::CmdArgs& args) {
  return ifb_name(args.network_name, args.container_id, args.ifname);
}

std::optional<net::QdiscInfo> root_qdisc(const net::Netlink& nl, int ifindex) {
  for (auto& q : net::list_qdiscs(nl, ifindex))
    if (q.parent == TC_H_ROOT) return q;
  return std::nullopt;
}

// Throws unless `ifindex`'s root qdisc is the tbf `shaping` asks for.
void check_tbf(const net::Netlink& nl, int ifindex, const std::string& link,
               const Shaping& shaping) {
  const auto want = tbf_spec(shaping);
  const net::TbfInfo expected{.rate = want.rate,
                              .buffer = net::tbf_buffer_ticks(want.rate, want.burst),
                              .limit = static_cast<std::uint32_t>(want.limit)};
  const auto root = root_qdisc(nl, ifindex);
  if (!root || !root->tbf)
    fail(ErrorCode::kInternal,
         "root qdisc of " + link + " is " + (root ? root->kind : "missing") + ", not tbf");
  const auto& got = *root->tbf;
  if (got != expected)
    fail(ErrorCode::kInternal,
         "tbf of " + link + " has rate " + std::to_string(got.rate) + " B/s, buffer " +
             std::to_string(got.buffer) + " ticks, limit " + std::to_string(got.limit) +
             " B; expected " + std::to_string(expected.rate) + ", " +
             std::to_string(expected.buffer) + ", " + std::to_string(expected.limit));
}

// The attachment an ifb alias names, or nullopt when the alias is not one of ours for `network`.
std::optional<cni::Attachment> attachment_of_alias(const std::string& alias,
                                                   const std::string& network) {
  const std::string prefix = std::string(kAliasPrefix) + network + " ";
  if (!alias.starts_with(prefix)) return std::nullopt;
  const std::string rest = alias.substr(prefix.size());
  const auto slash = rest.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == rest.size()) return std::nullopt;
  return cni::Attachment{rest.substr(0, slash), rest.substr(slash + 1)};
}

}  // namespace

std::string ifb_name(const std::string& network, const std::string& container_id,
                     const std::string& ifname) {
  // NUL separators: ("ab", "c") and ("a", "bc") must not hash alike.
  std::string key = network;
  key += '\0';
  key += container_id;
  key += '\0';
  key += ifname;
  return "bwp" + netcore::stable_hash(key).substr(0, 12);
}

std::string ifb_alias(const std::string& network, const std::string& container_id,
                      const std::string& ifname) {
  return std::string(kAliasPrefix) + network + " " + container_id + "/" + ifname;
}

cni::Result cmd_add(const cni::CmdArgs& args) {
  const Config config = parse_config(args.config);
  cni::Result result = require_prev_result(args);
  if (!config.shaped()) return result;  // nothing to shape: pass prevResult through

  const auto host_nl = net::Netlink::connect();
  const net::LinkInfo host = find_host_end(args, host_nl);
  require_listed(result, host, args.ifname);

  netcore::Undo undo;
  if (config.ingress.shaped()) {
    net::add_root_tbf(host_nl, host.index, tbf_spec(config.ingress));
    undo.push([&] { (void)net::delete_qdisc_if_exists(host_nl, host.index, TC_H_ROOT); });
  }
  if (config.egress.shaped()) {
    const std::string name = ifb_of(args);
    const net::LinkInfo created = net::create_ifb(host_nl, name);
    undo.push([&host_nl, name] { (void)net::delete_link_if_exists(host_nl, name); });
    const std::string alias = ifb_alias(args.network_name, args.container_id, args.ifname);
    if (alias.size() <= kMaxAlias)
      net::set_alias(host_nl, created.index, alias);
    else
      netcore::log::warn("bandwidth: alias of {} would exceed {} bytes; GC will not find it, ignoring",
                   name, kMaxAlias);
    net::set_mtu(host_nl, created.index, host.mtu);
    net::set_up(host_nl, created.index);
    net::add_ingress_qdisc(host_nl, host.index);
    undo.push([&] { (void)net::delete_qdisc_if_exists(host_nl, host.index, TC_H_INGRESS); });
    net::add_redirect_filter(host_nl, host.index, created.index);
    net::add_root_tbf(host_nl, created.index, tbf_spec(config.egress));
    const auto ifb = net::get_link(host_nl, created.index);
    result.interfaces.push_back({.name = ifb.name, .mac = ifb.mac.to_string()});
  }
  undo.commit();
  return result;
}

void cmd_del(const cni::CmdArgs& args) {
  (void)parse_config(args.config);  // the ADD's config: it was valid then, so must be now
  const auto host_nl = net::Netlink::connect();
  const std::string name = ifb_of(args);
  netcore::ErrorList errors;
  // While the veth still exists (bandwidth is deleted before the plugin that made it), take our
  // qdiscs off its host end too; once the veth is gone they went with it.
  errors.attempt([&] {
    const auto container = net::Netns::open_if_exists(args.netns);
    if (!container) return;
    const auto ctr_nl = container->run([] { return net::Netlink::connect(); });
    const auto ctr = net::find_link(ctr_nl, args.ifname);
    if (!ctr || ctr->kind != "veth" || ctr->link_index <= 0) return;
    const auto host = net::find_link(host_nl, ctr->link_index);
    if (!host || host->kind != "veth" || host->link_index != ctr->index) return;
    const auto ifb = net::find_link(host_nl, name);
    if (const auto root = root_qdisc(host_nl, host->index); root && root->kind == "tbf")
      (void)net::delete_qdisc_if_exists(host_nl, host->index, TC_H_ROOT);
    if (ifb) {
      const auto filters = net::list_filters(host_nl, host->index, kIngressParent);
      if (std::any_of(filters.begin(), filters.end(),
                      [&](const auto& f) { return f.redirect_ifindex == ifb->index; }))
        (void)net::delete_qdisc_if_exists(host_nl, host->index, TC_H_INGRESS);
    }
  });
  errors.attempt([&] { (void)net::delete_link_if_exists(host_nl, name); });
  errors.throw_if_any("bandwidth del");
}

void cmd_check(const cni::CmdArgs& args) {
  const Config config = parse_config(args.config);
  const cni::Result prev = require_prev_result(args);
  if (!config.shaped()) return;
  const auto host_nl = net::Netlink::connect();
  const net::LinkInfo host = find_host_end(args, host_nl);
  require_listed(prev, host, args.ifname);
  if (config.ingress.shaped()) check_tbf(host_nl, host.index, host.name, config.ingress);
  if (config.egress.shaped()) {
    const std::string name = ifb_of(args);
    const auto ifb = net::find_link(host_nl, name);
    if (!ifb || ifb->kind != "ifb") fail(ErrorCode::kInternal, "ifb " + name + " not found");
    check_tbf(host_nl, ifb->index, name, config.egress);
    const auto filters = net::list_filters(host_nl, host.index, kIngressParent);
    if (std::none_of(filters.begin(), filters.end(),
                     [&](const auto& f) { return f.redirect_ifindex == ifb->index; }))
      fail(ErrorCode::kInternal, "no filter on " + host.name + " redirects its ingress to " + name);
  }
}

void cmd_gc(const cni::CmdArgs& args) {
  (void)parse_config(args.config);
  const auto valid = args.valid_attachments();
  if (!valid) return;  // without the list nothing can be told apart
  const auto host_nl = net::Netlink::connect();
  netcore::ErrorList errors;
  for (const auto& link : net::list_links(host_nl)) {
    if (link.kind != "ifb") continue;
    const auto owner = attachment_of_alias(link.alias, args.network_name);
    if (!owner) continue;
    const bool keep = std::any_of(valid->begin(), valid->end(), [&](const cni::Attachment& a) {
      return a.container_id == owner->container_id && a.ifname == owner->ifname;
    });
    if (keep) continue;
    netcore::log::debug("bandwidth gc: deleting {} of {}/{}", link.name, owner->container_id,
                  owner->ifname);
    errors.attempt([&] { (void)net::delete_link_if_exists(host_nl, link.name); });
  }
  errors.throw_if_any("bandwidth gc");
}

cni::PluginSpec spec() {
  return {.name = "bandwidth", .add = cmd_add, .del = cmd_del, .check = cmd_check, .gc = cmd_gc};
}

}  // namespace plugins::bandwidth
