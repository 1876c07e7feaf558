#pragma once

#include <netcore/cni/cmd_args.hpp>
#include <netcore/cni/skel.hpp>
#include <netcore/cni/types.hpp>

// macvlan: a macvlan link on a master device (a host link, or with linkInContainer one in the
// container), created directly in the container netns as CNI_IFNAME (the reference creates it in
// the host under a temporary name and moves it; see cmd_add).
namespace plugins::macvlan {

// The macvlan (created in the container under its final name), optional IPAM addresses and
// routes on it with arp_notify/ndisc_notify (only with IPAM, like the reference). Leaves
// nothing behind on failure. Throws what parse_config throws; Error(kInvalidNetworkConfig) for an
// MTU above the master's or a master that does not exist; Error(kInternal) when CNI_IFNAME is
// taken, there is no default route to pick a master from, or the kernel refuses.
netcore::cni::Result cmd_add(const netcore::cni::CmdArgs& args);
// IPAM DEL, then the link in the container; works without prevResult, without CNI_NETNS or after
// the netns is gone, and when repeated.
void cmd_del(const netcore::cni::CmdArgs& args);
// prevResult (required): the link is a macvlan of the configured mode on the master, with the
// MAC, addresses and routes of prevResult; IPAM CHECK. Throws Error(kInternal) on a mismatch.
void cmd_check(const netcore::cni::CmdArgs& args);
// Forwards to IPAM when configured (nothing to do otherwise).
void cmd_gc(const netcore::cni::CmdArgs& args);
void cmd_status(const netcore::cni::CmdArgs& args);

netcore::cni::PluginSpec spec();

}  // namespace plugins::macvlan
