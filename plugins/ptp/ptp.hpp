#pragma once

#include <netcore/cni/cmd_args.hpp>
#include <netcore/cni/skel.hpp>
#include <netcore/cni/types.hpp>

// ptp: a veth pair per container, routed point-to-point like the reference plugin: the container
// reaches everything through its gateway, which the host side of every pair carries as a /32
// (/128); the host routes each container address to its own veth.
namespace plugins::ptp {

// IPAM first (undone if anything later fails), then the veth pair with the container end named
// CNI_IFNAME, addresses and routes on both sides, optional masquerade. Leaves nothing behind on
// failure. Throws Error(kInvalidNetworkConfig) for bad config, Error(kUnsupportedField) for
// ipMasqBackend "iptables", Error(kInternal) when the container interface already exists.
netcore::cni::Result cmd_add(const netcore::cni::CmdArgs& args);
// Releases IPAM, masquerade rules and the veth pair from what it finds: works without prevResult,
// with CNI_NETNS empty or gone, and when repeated.
void cmd_del(const netcore::cni::CmdArgs& args);
// The container interface, its addresses and routes from prevResult, the masquerade entries and
// the IPAM state (delegated).
void cmd_check(const netcore::cni::CmdArgs& args);
// Forwards GC to IPAM and removes masquerade entries of attachments not in the valid set.
void cmd_gc(const netcore::cni::CmdArgs& args);
// Delegates to IPAM.
void cmd_status(const netcore::cni::CmdArgs& args);

netcore::cni::PluginSpec spec();

}  // namespace plugins::ptp
