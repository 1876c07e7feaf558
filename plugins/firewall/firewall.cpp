#include "firewall/firewall.hpp"

#include <algorithm>

#include <netcore/base/error.hpp>
#include <netcore/cni/fw_attachment.hpp>
#include <netcore/fw/firewall.hpp>
#include <netcore/fw/nftables.hpp>
#include <netcore/net/link.hpp>
#include <netcore/net/netlink.hpp>

#include "firewall/config.hpp"

namespace plugins::firewall {
namespace cni = netcore::cni;
namespace fw = netcore::fw;
namespace net = netcore::net;
using netcore::Error;
using netcore::ErrorCode;

namespace {

cni::Result require_prev_result(const cni::CmdArgs& args) {
  auto prev = args.prev_result();
  if (!prev)
    throw Error(ErrorCode::kInvalidNetworkConfig, "firewall: must be called as chained plugin");
  return std::move(*prev);
}

// The rules for prevResult: its addresses, and for isolation the host interface that is a bridge
// (as the reference finds it) with the host interfaces enslaved to it (the container's port).
fw::FirewallRules rules_for(const Config& config, const cni::Result& prev) {
  fw::FirewallRules rules;
  rules.admin_chain = config.admin_chain;
  rules.policy = config.ingress_policy;
  for (const auto& ip : prev.ips)
    if (std::find(rules.addresses.begin(), rules.addresses.end(), ip.address.address()) ==
        rules.addresses.end())
      rules.addresses.push_back(ip.address.address());
  if (rules.policy == fw::IngressPolicy::kOpen) return rules;

  const auto nl = net::Netlink::connect();
  std::vector<net::LinkInfo> host;
  for (const auto& iface : prev.interfaces) {
    if (!iface.sandbox.empty()) continue;
    if (auto link = net::find_link(nl, iface.name)) host.push_back(std::move(*link));
  }
  const auto bridge = std::find_if(host.begin(), host.end(),
                                   [](const net::LinkInfo& l) { return l.kind == "bridge"; });
  if (bridge == host.end())
    throw Error(ErrorCode::kInvalidNetworkConfig,
                "firewall: ingressPolicy needs a bridge among prevResult's host interfaces");
  rules.bridge = bridge->name;
  for (const auto& link : host)
    if (link.master_index == bridge->index) rules.ports.push_back(link.name);
  if (rules.policy == fw::IngressPolicy::kIsolated && rules.ports.empty())
    throw Error(ErrorCode::kInvalidNetworkConfig,
                "firewall: ingressPolicy isolated needs the container's port of bridge " +
                    rules.bridge + " among prevResult's host interfaces");
  return rules;
}

}  // namespace

cni::Result cmd_add(const cni::CmdArgs& args) {
  const Config config = parse_config(args.config);
  cni::Result prev = require_prev_result(args);
  fw::add_firewall(cni::fw_attachment(args), rules_for(config, prev));
  return prev;
}

void cmd_del(const cni::CmdArgs& args) {
  (void)parse_config(args.config);
  fw::remove_firewall(cni::fw_attachment(args));
}

void cmd_check(const cni::CmdArgs& args) {
  const Config config = parse_config(args.config);
  const cni::Result prev = require_prev_result(args);
  if (!fw::has_firewall(cni::fw_attachment(args), rules_for(config, prev)))
    throw Error(ErrorCode::kInternal, "firewall: rules for " + args.container_id + "/" +
                                          args.ifname + " are missing or incomplete");
}

void cmd_gc(const cni::CmdArgs& args) {
  (void)parse_config(args.config);
  const auto keep = cni::fw_valid_attachments(args);
  if (!keep) return;
  fw::gc_firewall(args.network_name, *keep);
}

void cmd_status(const cni::CmdArgs& args) {
  (void)parse_config(args.config);
  fw::ensure_nftables_loaded();
}

cni::PluginSpec spec() {
  return {.name = "firewall",
          .add = cmd_add,
          .del = cmd_del,
          .check = cmd_check,
          .status = cmd_status,
          .gc = cmd_gc};
}

}  // namespace plugins::firewall
