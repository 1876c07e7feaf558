#pragma once

#include <string>

#include <netcore/cni/cmd_args.hpp>
#include <netcore/fw/firewall.hpp>

// The firewall plugin's network configuration: the reference firewall plugin's keys, with
// nftables as the only backend. `iptablesAdminChainName` keeps its name for drop-in configs and
// names the admin chain in nsnet's `table inet nsnet_firewall` (see netcore/fw/firewall.hpp).
namespace plugins::firewall {

struct Config {
  std::string admin_chain = netcore::fw::kDefaultAdminChain;  // iptablesAdminChainName
  netcore::fw::IngressPolicy ingress_policy = netcore::fw::IngressPolicy::kOpen;
};

// Reads and checks the plugin's keys. Throws Error:
//   kUnsupportedField (2)      backend "iptables" or "firewalld" (nsnet has nftables only);
//                              firewalldZone (a firewalld-only key)
//   kDecodingFailure (6)       a key of the wrong JSON type
//   kInvalidNetworkConfig (7)  another backend value, an invalid iptablesAdminChainName or
//                              ingressPolicy
[[nodiscard]] Config parse_config(const nlohmann::json& conf);

}  // namespace plugins::firewall
