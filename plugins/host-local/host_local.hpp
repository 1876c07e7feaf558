#pragma once

#include <netcore/cni/cmd_args.hpp>
#include <netcore/cni/skel.hpp>
#include <netcore/cni/types.hpp>

// host-local: allocates addresses from range sets, keeping one file per address under
// <dataDir>/<network>/ exactly like the reference plugin, so the two can replace each other on
// a live node. Usable directly or as the IPAM delegate of a main plugin.
namespace plugins::host_local {

// One address from each range set (a requested one where it falls in the set). Nothing stays
// reserved if any set fails. Throws Error(kInvalidNetworkConfig) for bad config or requests,
// Error(kInternal) when a set is exhausted, an address is taken, or the owner already holds one.
netcore::cni::Result cmd_add(const netcore::cni::CmdArgs& args);
// Releases the attachment's addresses. Idempotent.
void cmd_del(const netcore::cni::CmdArgs& args);
// Fails unless the attachment holds an address (each of prevResult's, when given).
void cmd_check(const netcore::cni::CmdArgs& args);
// Releases every reservation whose attachment is not in cni.dev/valid-attachments.
void cmd_gc(const netcore::cni::CmdArgs& args);
// Error(kNotReady) if the data directory is unusable or a range set has no free address.
void cmd_status(const netcore::cni::CmdArgs& args);

netcore::cni::PluginSpec spec();

}  // namespace plugins::host_local
