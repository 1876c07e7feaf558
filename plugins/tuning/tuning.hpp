#pragma once

#include <netcore/cni/cmd_args.hpp>
#include <netcore/cni/skel.hpp>
#include <netcore/cni/types.hpp>

// tuning: a chained plugin that sets network sysctls and attributes of the CNI_IFNAME link (MAC,
// MTU, promiscuous and all-multicast mode, transmit queue length) in the container's network
// namespace, and puts every one of them back on DEL, sysctls included (the reference plugin
// restores only the link attributes). See config.hpp for the keys, backup.hpp for the state file.
namespace plugins::tuning {

// Checks the whole config (and the system sysctl allowlist) before changing anything, saves the
// original values, then applies sysctls and link attributes; a failure puts back what was
// changed and the backup as it was. Returns prevResult with the MAC (and MTU, where it has one)
// of CNI_IFNAME updated. Throws Error: what parse_config throws; kInvalidNetworkConfig for a
// missing prevResult or a sysctl the allowlist refuses; kInvalidNetns for a bad CNI_NETNS;
// kInternal when CNI_IFNAME is missing or the kernel refuses a value (named).
netcore::cni::Result cmd_add(const netcore::cni::CmdArgs& args);
// Restores what the backup records and removes it. No backup: nothing to do. CNI_NETNS empty or
// gone: the backup is removed, since what it describes went with the namespace. A link or sysctl
// that no longer exists is skipped. Throws Error(kInternal) naming each value that could not be
// restored, and keeps the backup so that a retried DEL can finish.
void cmd_del(const netcore::cni::CmdArgs& args);
// Compares the configured sysctls and link attributes to the container's. Throws
// Error(kInvalidNetworkConfig) without prevResult, Error(kInternal) naming the first difference.
void cmd_check(const netcore::cni::CmdArgs& args);
// Removes the backups of this network's attachments that are not in the valid set (their
// namespace is gone, so there is nothing to restore). Backups without nsnet's "network" (written
// by the reference plugin) are never collected.
void cmd_gc(const netcore::cni::CmdArgs& args);

netcore::cni::PluginSpec spec();

}  // namespace plugins::tuning
