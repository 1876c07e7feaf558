#pragma once

#include <netcore/cni/cmd_args.hpp>
#include <netcore/cni/skel.hpp>
#include <netcore/cni/types.hpp>

// slirp4netns: user-mode networking for the container. A slirp4netns daemon per attachment,
// started by ADD and left running (in a session of its own, its output in a log file), owns tap
// CNI_IFNAME in CNI_NETNS; the plugin addresses the tap (.100 of `cidr`, default route via .2,
// DNS .3) and publishes runtimeConfig.portMappings through the daemon's API socket.
//
// State, per attachment: <dataDir>/<network>/<containerID>-<ifname>/ (0700) holding
// state.json (0600: the daemon's pid and start time, netns, ifname, API socket, forwarding ids),
// api.sock and slirp4netns.log. The daemon is only ever stopped by pid *and* start time, so a
// reused pid is never signalled.
namespace plugins::slirp4netns {

// Starts the daemon, waits (at most 5 s) for its ready signal, configures the tap, publishes the
// ports and writes the state; a failure after the start stops the daemon and removes the state.
// Throws what parse_config/parse_port_mappings throw; Error(kInternal) when the attachment
// already has a running daemon, CNI_IFNAME exists in the container, the binary is missing or
// slirp4netns fails (its last log line is in the message); Error(kInvalidNetns) for a bad
// CNI_NETNS.
netcore::cni::Result cmd_add(const netcore::cni::CmdArgs& args);
// Stops the attachment's daemon (its tap goes with it) and removes its state. Reads nothing of
// the config but dataDir; succeeds without state, without CNI_NETNS or after the netns is gone,
// and when repeated.
void cmd_del(const netcore::cni::CmdArgs& args);
// Error(kInternal) naming what is wrong unless the daemon still runs and CNI_IFNAME in the
// container has the .100 address.
void cmd_check(const netcore::cni::CmdArgs& args);
// Stops the daemon and removes the state of every attachment of this network that is not in
// cni.dev/valid-attachments (nothing without that key); continues past failures.
void cmd_gc(const netcore::cni::CmdArgs& args);
// Error(kNotReady) when the slirp4netns binary cannot be found.
void cmd_status(const netcore::cni::CmdArgs& args);

netcore::cni::PluginSpec spec();

}  // namespace plugins::slirp4netns
