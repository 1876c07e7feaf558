#pragma once

#include <netcore/cni/cmd_args.hpp>
#include <netcore/cni/skel.hpp>
#include <netcore/cni/types.hpp>

// firewall: a chained plugin that lets the addresses of prevResult through the host's forward
// path (nftables, see netcore/fw/firewall.hpp) and isolates bridges as ingressPolicy asks. It
// creates no interface; its result is prevResult.
namespace plugins::firewall {

// Installs the rules for prevResult's addresses; for same-bridge/isolated, the bridge (and its
// port) are prevResult's host interfaces that are a bridge (and that bridge's ports). Throws
// Error(kInvalidNetworkConfig) without prevResult ("must be called as chained plugin") or when
// a policy needs a bridge, port or address prevResult lacks; config errors (config.hpp).
netcore::cni::Result cmd_add(const netcore::cni::CmdArgs& args);
// Removes the attachment's rules by its tag: needs neither prevResult nor CNI_NETNS; idempotent.
void cmd_del(const netcore::cni::CmdArgs& args);
// Everything ADD would install for prevResult is in place; Error(kInternal) naming what is not.
void cmd_check(const netcore::cni::CmdArgs& args);
// Removes the rules of this network's attachments not in cni.dev/valid-attachments.
void cmd_gc(const netcore::cni::CmdArgs& args);
// Ready when libnftables loads (Error(kNotReady) otherwise).
void cmd_status(const netcore::cni::CmdArgs& args);

netcore::cni::PluginSpec spec();

}  // namespace plugins::firewall
