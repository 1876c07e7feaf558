#pragma once

#include <netcore/cni/cmd_args.hpp>
#include <netcore/cni/skel.hpp>
#include <netcore/cni/types.hpp>

// host-device: moves an existing host link into the container as CNI_IFNAME and back on DEL,
// like the reference plugin: its own name is kept in its alias (IFLA_IFALIAS) meanwhile. Unlike
// the reference, its addresses go with it both ways (a netns move flushes them otherwise).
namespace plugins::host_device {

// Finds the host link (device, hwaddr or kernelpath), moves it through a private temporary
// netns (renamed to CNI_IFNAME there, so neither its own name nor CNI_IFNAME can collide on
// the way) into the container, re-adds its addresses, sets it up, adds IPAM's addresses and
// routes. On failure the link goes back under its own name with its addresses. Throws what
// parse_config throws; Error(kInvalidNetworkConfig) when no host link matches;
// Error(kInternal) when CNI_IFNAME is taken in the container or the kernel refuses.
netcore::cni::Result cmd_add(const netcore::cni::CmdArgs& args);
// IPAM DEL, then the link back to the host under the name its alias keeps, with the addresses it
// has in the container except link-local IPv6 and prevResult's (IPAM's). Works without
// prevResult, without CNI_NETNS or after the netns is gone (a physical device is then back in
// the initial netns by itself), and when repeated.
void cmd_del(const netcore::cni::CmdArgs& args);
// prevResult (required): CNI_IFNAME exists in the container with its alias (its host name) and
// prevResult's MAC, addresses and routes; IPAM CHECK. Throws Error(kInternal) on a mismatch.
void cmd_check(const netcore::cni::CmdArgs& args);
// Forward to IPAM when configured.
void cmd_gc(const netcore::cni::CmdArgs& args);
void cmd_status(const netcore::cni::CmdArgs& args);

netcore::cni::PluginSpec spec();

}  // namespace plugins::host_device
