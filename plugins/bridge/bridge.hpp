#pragma once

#include <netcore/cni/cmd_args.hpp>
#include <netcore/cni/skel.hpp>
#include <netcore/cni/types.hpp>

// bridge: containers on a Linux bridge through veth pairs, like the reference bridge plugin —
// same keys, result shape ([bridge, host veth, container interface], ips pointing at index 2)
// and kernel state — with masquerade and MAC spoof checks in nftables that DEL and GC find
// without the original context.
namespace plugins::bridge {

// Bridge (created if missing), veth pair with the container end named CNI_IFNAME, port flags,
// spoof check, IPAM, container addresses and routes, gateway addresses on the bridge,
// forwarding, masquerade; then waits (by link notifications, at most 5 s) for the port to be up.
// A failure at any step undoes every earlier one. Throws Error(kInternal) when the container
// interface already exists (before IPAM runs), and what parse_config throws (config.hpp).
netcore::cni::Result cmd_add(const netcore::cni::CmdArgs& args);
// Releases IPAM, masquerade and spoof-check entries, and the veth pair, from what it finds:
// works without prevResult, with CNI_NETNS empty or gone, and when repeated. The bridge stays.
void cmd_del(const netcore::cni::CmdArgs& args);
// The bridge, both veth ends, addresses and routes from prevResult, the nftables entries, and
// (delegated) IPAM.
void cmd_check(const netcore::cni::CmdArgs& args);
// Forwards GC to IPAM; removes masquerade and spoof-check entries of attachments not in the
// valid set.
void cmd_gc(const netcore::cni::CmdArgs& args);
// Delegates to IPAM; code 50 when the config needs nftables and libnftables is missing.
void cmd_status(const netcore::cni::CmdArgs& args);

netcore::cni::PluginSpec spec();

}  // namespace plugins::bridge
