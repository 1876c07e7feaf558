#pragma once

#include <netcore/cni/cmd_args.hpp>
#include <netcore/cni/skel.hpp>
#include <netcore/cni/types.hpp>

// tap: a persistent tap device CNI_IFNAME in the container netns (for a VM monitor to open),
// optionally enslaved to a bridge that already exists in the container, optionally addressed.
namespace plugins::tap {

// The tap (owner, group, multi-queue, MTU, MAC), the bridge port, IPAM addresses and routes.
// Leaves nothing behind on failure. Throws what parse_config throws;
// Error(kInvalidNetworkConfig) when `bridge` is missing in the container or not a bridge;
// Error(kInternal) when CNI_IFNAME is taken or the kernel refuses.
netcore::cni::Result cmd_add(const netcore::cni::CmdArgs& args);
// IPAM DEL, then the tap; works without prevResult, without CNI_NETNS or after the netns is gone,
// and when repeated.
void cmd_del(const netcore::cni::CmdArgs& args);
// prevResult (required): the link is a tap (kind "tun"), on `bridge` when configured, with the
// MAC, addresses and routes of prevResult; IPAM CHECK.
void cmd_check(const netcore::cni::CmdArgs& args);
// Forward to IPAM when configured.
void cmd_gc(const netcore::cni::CmdArgs& args);
void cmd_status(const netcore::cni::CmdArgs& args);

netcore::cni::PluginSpec spec();

}  // namespace plugins::tap
