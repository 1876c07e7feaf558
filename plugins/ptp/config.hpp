#pragma once

#include <optional>
#include <string>
#include <vector>

#include <netcore/cni/cmd_args.hpp>
#include <netcore/cni/types.hpp>
#include <netcore/net/ip.hpp>

// The ptp plugin's network configuration: the reference ptp plugin's keys, plus nsnet's
// ipMasqExclude.
namespace plugins::ptp {

struct Config {
  bool ip_masq = false;
  std::optional<unsigned> mtu;
  std::string ipam_type;
  std::optional<netcore::cni::Dns> dns;
  std::vector<netcore::net::Prefix> masq_exclude;
};

// Reads and checks the config of `args`. Pure: touches no system state. Throws Error:
// kInvalidNetworkConfig for a missing "ipam"/"ipam.type" or a bad value (named),
// kUnsupportedField for ipMasqBackend "iptables", kDecodingFailure for a wrong JSON type.
[[nodiscard]] Config parse_config(const netcore::cni::CmdArgs& args);

}  // namespace plugins::ptp
