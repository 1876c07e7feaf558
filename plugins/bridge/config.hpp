#pragma once

#include <optional>
#include <string>
#include <vector>

#include <netcore/cni/cmd_args.hpp>
#include <netcore/cni/types.hpp>
#include <netcore/net/ip.hpp>

// The bridge plugin's network configuration: the reference bridge plugin's keys, minus what
// needs bridge VLAN filtering, plus nsnet's own (ipMasqExclude, hostVethName, hostVethPrefix).
namespace plugins::bridge {

struct Config {
  std::string bridge = "cni0";
  bool is_gateway = false;          // isGateway, or implied by isDefaultGateway
  bool is_default_gateway = false;  // isDefaultGateway
  bool force_address = false;
  bool ip_masq = false;
  std::vector<netcore::net::Prefix> masq_exclude;  // ipMasqExclude
  std::optional<unsigned> mtu;                     // bridge (when created) and both veth ends
  bool hairpin = false;                            // hairpinMode
  bool promisc = false;                            // promiscMode
  bool mac_spoof_check = false;                    // macspoofchk
  bool enable_dad = false;                         // enabledad
  bool disable_container_interface = false;
  bool port_isolation = false;                     // portIsolation
  std::string ipam_type;                           // "" = layer 2 only (no ipam, or "ipam": {})
  std::optional<netcore::cni::Dns> dns;
  std::optional<netcore::net::MacAddress> mac;     // of the container interface
  std::optional<std::string> host_veth_name;       // hostVethName: the host end's exact name
  std::string host_veth_prefix = "veth";           // hostVethPrefix: + random hex digits

  [[nodiscard]] bool layer3() const noexcept { return !ipam_type.empty(); }
};

// Reads and checks the config of `args`, and the container MAC from runtimeConfig.mac,
// args.cni.mac or CNI_ARGS MAC (that precedence, as in the reference). Throws Error:
//   kUnsupportedField (2)      ipMasqBackend other than "nftables"; vlan, vlanTrunk,
//                              preserveDefaultVlan false (they need bridge VLAN filtering)
//   kInvalidEnvironment (4)    CNI_ARGS with a key other than MAC, IP, GATEWAY (unless
//                              IgnoreUnknown)
//   kDecodingFailure (6)       a key of the wrong JSON type
//   kInvalidNetworkConfig (7)  a bad bridge or veth name, MTU, MAC, CIDR; hairpinMode with
//                              promiscMode; disableContainerInterface with IPAM
[[nodiscard]] Config parse_config(const netcore::cni::CmdArgs& args);

}  // namespace plugins::bridge
