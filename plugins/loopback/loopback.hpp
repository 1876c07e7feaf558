#pragma once

#include <netcore/cni/cmd_args.hpp>
#include <netcore/cni/skel.hpp>
#include <netcore/cni/types.hpp>

// The loopback plugin: brings `lo` up in the container's network namespace (CNI_IFNAME is
// ignored, as in the reference) and reports it. It keeps no state of its own.
namespace plugins::loopback {

// Sets lo up. Returns prevResult when chained, else lo with its addresses.
// Throws Error(kInvalidNetns) if CNI_NETNS is not a network namespace, Error(kInternal) if lo
// carries a non-loopback address.
netcore::cni::Result cmd_add(const netcore::cni::CmdArgs& args);
// Sets lo down. Idempotent; a missing or empty CNI_NETNS is success.
void cmd_del(const netcore::cni::CmdArgs& args);
// Fails unless lo is up.
void cmd_check(const netcore::cni::CmdArgs& args);

netcore::cni::PluginSpec spec();

}  // namespace plugins::loopback
