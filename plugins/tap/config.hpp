#pragma once

#include <sys/types.h>

#include <netcore/cni/cmd_args.hpp>
#include <netcore/cni/types.hpp>
#include <netcore/net/ip.hpp>
#include <optional>
#include <string>

// The tap plugin's network configuration: the reference tap plugin's keys, except
// selinuxContext (no SELinux here).
namespace plugins::tap {

struct Config {
  std::optional<netcore::net::MacAddress> mac;  // runtimeConfig/args/CNI_ARGS MAC, else "mac"
  std::optional<unsigned> mtu;
  bool multi_queue = false;    // multiQueue
  std::optional<uid_t> owner;  // may attach without CAP_NET_ADMIN
  std::optional<gid_t> group;
  std::string bridge;     // "" = none; else a bridge inside the container netns
  std::string ipam_type;  // "" = no addresses, the link only
  std::optional<netcore::cni::Dns> dns;

  [[nodiscard]] bool layer3() const noexcept { return !ipam_type.empty(); }
};

// Reads and checks the config of `args`. Throws Error:
//   kUnsupportedField (2)      a non-empty selinuxContext
//   kInvalidEnvironment (4)    CNI_ARGS with a key other than MAC (unless IgnoreUnknown)
//   kDecodingFailure (6)       a key of the wrong JSON type (negative owner or group included)
//   kInvalidNetworkConfig (7)  an MTU outside 68-65535, a bad MAC or bridge name
[[nodiscard]] Config parse_config(const netcore::cni::CmdArgs& args);

}  // namespace plugins::tap
