#pragma once

#include <netcore/cni/cmd_args.hpp>
#include <netcore/cni/skel.hpp>
#include <netcore/cni/types.hpp>
#include <string>

// bandwidth: a chained plugin that shapes a veth attachment made by an earlier plugin, like the
// reference: traffic to the container through a tbf root qdisc on the host end of the veth;
// traffic from the container through the host end's ingress qdisc, whose u32 match-all filter
// redirects it to an ifb device carrying a tbf. Works only for veth attachments.
namespace plugins::bandwidth {

// "bwp" + 12 hex digits of a stable hash of (network, containerID, ifname): 15 bytes. Unlike the
// reference's name (a hash of network and containerID only) it includes the ifname, so two
// shaped interfaces of one container on one network get two ifbs.
[[nodiscard]] std::string ifb_name(const std::string& network, const std::string& container_id,
                                   const std::string& ifname);
// The IFLA_IFALIAS of the ifb: "nsnet-bandwidth NETWORK CONTAINERID/IFNAME", how GC finds ifbs
// of attachments it was not told to keep.
[[nodiscard]] std::string ifb_alias(const std::string& network, const std::string& container_id,
                                    const std::string& ifname);

// Needs prevResult. Without shaping configured, returns prevResult unchanged. Otherwise finds
// the host end of the veth CNI_IFNAME in CNI_NETNS, installs the qdiscs (and ifb) and returns
// prevResult plus the ifb interface. Undoes everything on failure. Throws Error:
// kInvalidNetworkConfig (7) for bad values or a missing prevResult, or when the interface is not
// a veth whose host end prevResult lists; kUnsupportedField (2) for shapedSubnets /
// unshapedSubnets; NetlinkError (999) when the kernel refuses (e.g. the ifb exists: re-ADD).
netcore::cni::Result cmd_add(const netcore::cni::CmdArgs& args);
// Deletes the attachment's ifb and, while the veth still exists, the qdiscs on its host end.
// Works without prevResult, with CNI_NETNS empty or gone, and when repeated.
void cmd_del(const netcore::cni::CmdArgs& args);
// Compares the installed tbf qdiscs (rate, limit, buffer) with the config, and the ifb, the
// ingress qdisc and its redirect filter. Throws Error(kInternal) naming what differs.
void cmd_check(const netcore::cni::CmdArgs& args);
// Deletes the ifbs of this network (found by their alias) whose attachment is not in
// cni.dev/valid-attachments.
void cmd_gc(const netcore::cni::CmdArgs& args);

netcore::cni::PluginSpec spec();

}  // namespace plugins::bandwidth
