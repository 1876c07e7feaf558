#pragma once

// The portmap plugin's configuration: its own keys, runtimeConfig.portMappings, and the
// container addresses it publishes, all checked before anything touches the kernel.

#include <optional>
#include <string>
#include <vector>

#include <netcore/cni/cmd_args.hpp>
#include <netcore/cni/types.hpp>
#include <netcore/fw/portmap.hpp>

namespace plugins::portmap {

struct Config {
  bool snat = true;
  bool masq_all = false;
  std::vector<std::string> conditions_v4;
  std::vector<std::string> conditions_v6;
  std::vector<netcore::fw::PortMapping> mappings;  // runtimeConfig.portMappings
};

// Reads the plugin's keys and the mappings. Throws Error(kUnsupportedField) for `backend`
// "iptables", `markMasqBit`, `externalSetMarkChain` (iptables-only) and iptables-syntax
// conditions; Error(kInvalidNetworkConfig) for another backend, a port outside 1-65535, a
// protocol other than tcp/udp/sctp (any case), a bad hostIP, or a mapping given twice;
// Error(kDecodingFailure) for values of the wrong JSON type.
[[nodiscard]] Config parse_config(const netcore::cni::CmdArgs& args);

// The reference's choice of DNAT targets: the first IPv4 and the first IPv6 address of `prev`
// whose interface is `ifname` inside a sandbox. Mappings are then checked against them: a
// hostIP of a family the container lacks throws Error(kInvalidNetworkConfig).
[[nodiscard]] netcore::fw::PortmapSpec make_spec(const Config& config,
                                                 const netcore::cni::Result& prev,
                                                 const std::string& ifname);

}  // namespace plugins::portmap
