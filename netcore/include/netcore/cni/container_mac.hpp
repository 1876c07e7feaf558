#pragma once

// The MAC address a runtime asks for the container interface, read as the reference plugins read
// it (bridge, macvlan, tap): runtimeConfig.mac, else args.cni.mac, else CNI_ARGS MAC.

#include <optional>
#include <string>

#include "netcore/cni/cmd_args.hpp"
#include "netcore/net/ip.hpp"

namespace netcore::cni {

// `text` as a unicast MAC; nullopt for "". Throws Error(kInvalidNetworkConfig) naming `key` for
// text that is no MAC or a multicast one.
[[nodiscard]] std::optional<net::MacAddress> parse_unicast_mac(const std::string& text,
                                                               const std::string& key);

// runtimeConfig.mac > args.cni.mac > CNI_ARGS MAC; an empty value counts as absent. Throws like
// parse_unicast_mac, Error(kDecodingFailure) for a non-string, and Error(kInvalidEnvironment)
// for a malformed CNI_ARGS. Does not check CNI_ARGS for unknown keys: the caller does.
[[nodiscard]] std::optional<net::MacAddress> requested_container_mac(const CmdArgs& args);

}  // namespace netcore::cni
