#pragma once

#include <netcore/cni/cmd_args.hpp>
#include <netcore/cni/skel.hpp>

// portmap: a chained plugin that publishes container ports on the host (runtimeConfig
// .portMappings) through netcore::fw's nftables maps, in the namespace it runs in (the host's).
namespace plugins::portmap {

// Publishes the mappings for the prevResult's container addresses, enables route_localnet on
// the host interface routing to the container (snat, IPv4) and flushes stale UDP conntrack
// entries of the host ports. Returns prevResult unchanged. Leaves nothing behind on failure.
// Throws Error(kInvalidNetworkConfig) without prevResult ("must be called as chained plugin")
// or for bad mappings, Error(kUnsupportedField) for iptables-only options (see config.hpp).
netcore::cni::Result cmd_add(const netcore::cni::CmdArgs& args);
// Removes everything tagged for the attachment: needs neither portMappings nor prevResult nor
// CNI_NETNS, and is idempotent.
void cmd_del(const netcore::cni::CmdArgs& args);
// Needs prevResult; fails unless exactly the entries ADD would make are in place.
void cmd_check(const netcore::cni::CmdArgs& args);
// Removes the network's entries of attachments not in cni.dev/valid-attachments.
void cmd_gc(const netcore::cni::CmdArgs& args);
// Ready when libnftables loads.
void cmd_status(const netcore::cni::CmdArgs& args);

netcore::cni::PluginSpec spec();

}  // namespace plugins::portmap
