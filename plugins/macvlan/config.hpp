#pragma once

#include <cstdint>
#include <netcore/cni/cmd_args.hpp>
#include <netcore/cni/types.hpp>
#include <netcore/net/ip.hpp>
#include <optional>
#include <string>

// The macvlan plugin's network configuration: the reference macvlan plugin's keys.
namespace plugins::macvlan {

struct Config {
  std::string master;           // "" = the interface of the IPv4 default route
  std::string mode = "bridge";  // bridge, private, vepa or passthru
  std::optional<unsigned> mtu;  // nullopt or 0 = the master's; checked against it at ADD
  std::optional<netcore::net::MacAddress> mac;  // runtimeConfig/args/CNI_ARGS MAC, else "mac"
  bool link_in_container = false;               // linkInContainer: master is in the container
  std::string ipam_type;                        // "" = no addresses, the link only
  std::optional<netcore::cni::Dns> dns;

  [[nodiscard]] bool layer3() const noexcept { return !ipam_type.empty(); }
};

// Reads and checks the config of `args`. Throws Error:
//   kUnsupportedField (2)      mode "source" (needs a MAC list nsnet does not take);
//                              bcqueuelen other than 0 (libnl cannot set it)
//   kInvalidEnvironment (4)    CNI_ARGS with a key other than MAC (unless IgnoreUnknown)
//   kDecodingFailure (6)       a key of the wrong JSON type (a negative mtu included)
//   kInvalidNetworkConfig (7)  an unknown mode, a bad master name or MAC, ipam not an object,
//                              an mtu outside 68-65535
[[nodiscard]] Config parse_config(const netcore::cni::CmdArgs& args);

}  // namespace plugins::macvlan
