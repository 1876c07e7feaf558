#pragma once

#include <netcore/cni/cmd_args.hpp>
#include <netcore/cni/types.hpp>
#include <netcore/net/ip.hpp>
#include <optional>
#include <vector>

namespace plugins::static_ipam {

// One address the plugin hands out, with its gateway if one was given.
struct Address {
  netcore::net::Prefix address;  // the interface address with its prefix ("10.10.0.1/24")
  std::optional<netcore::net::IpAddress> gateway;
  friend bool operator==(const Address&, const Address&) = default;
};

// What a static network hands out: the final address list after every source was applied, plus
// the configured routes and DNS. Value type.
struct Config {
  std::vector<Address> addresses;
  std::vector<netcore::cni::Route> routes;
  netcore::cni::Dns dns;
};

// Reads the full network config and CNI_ARGS the way the reference plugin does, in its order:
//  1. `ipam.addresses[{address, gateway}]`, `ipam.routes`, `ipam.dns`;
//  2. CNI_ARGS `IP=<cidr>[,<cidr>...]` appended, then `GATEWAY=<ip>[,<ip>...]`: each gateway
//     goes to every CNI_ARGS address whose subnet contains it (the reference reads the config's
//     addresses only after this step, so they never take a CNI_ARGS gateway);
//  3. `args.cni.ips` (non-empty) replaces every address so far;
//  4. `runtimeConfig.ips` (non-empty) replaces every address again;
//  5. the config's own addresses, if still present, must be CIDRs.
// Only what survives is validated: a bad config address replaced by `runtimeConfig.ips` is no
// error, as in the reference.
// Throws Error:
//  kInvalidNetworkConfig (7)  no `ipam` ("IPAM config missing 'ipam' key"); an address that is
//                             not in CIDR notation or a bad gateway, naming where it came from
//                             and quoting it; more than one address per family below 0.3.0
//  kDecodingFailure (6)       wrong JSON types, naming the key
//  kInvalidEnvironment (4)    malformed CNI_ARGS, or a key other than IP/GATEWAY without
//                             IgnoreUnknown
[[nodiscard]] Config parse_config(const netcore::cni::CmdArgs& args);

}  // namespace plugins::static_ipam
