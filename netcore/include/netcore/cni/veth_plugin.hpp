#pragma once

// What the veth-based main plugins (bridge, ptp) share: the container side of an ADD and the
// config keys they read the same way.

#include <optional>

#include <nlohmann/json.hpp>

#include "netcore/cni/cmd_args.hpp"
#include "netcore/net/netlink.hpp"
#include "netcore/net/netns.hpp"

namespace netcore::cni {

struct ContainerSide {
  net::Netns netns;
  net::Netlink nl;  // a socket bound to `netns`
};

// Opens CNI_NETNS and a netlink socket in it. Throws Error(kInvalidNetns) for a bad path and
// Error(kInternal, "container veth name provided (IFNAME) already exists") when CNI_IFNAME is
// taken there, before the plugin has made anything (the reference's message).
[[nodiscard]] ContainerSide open_container_for_add(const CmdArgs& args);

// "mtu": nullopt when absent or 0. Throws Error(kInvalidNetworkConfig) outside 68-65535,
// Error(kDecodingFailure) for a non-integer.
[[nodiscard]] std::optional<unsigned> parse_mtu(const nlohmann::json& conf);

// "ipMasqBackend": absent or "nftables". Throws Error(kUnsupportedField) naming any other value
// ("iptables"): nsnet masquerades with nftables only.
void check_masq_backend(const nlohmann::json& conf);

}  // namespace netcore::cni
