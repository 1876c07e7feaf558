#pragma once

// The DEL step every plugin that makes a link in the container shares.

#include "netcore/cni/cmd_args.hpp"

namespace netcore::cni {

// Deletes CNI_IFNAME in CNI_NETNS (a veth takes its host end with it). Nothing to do when
// CNI_NETNS is empty or gone (the link went with the namespace) or the link is already gone, so
// DEL stays idempotent. Throws Error(kInvalidNetns) for a path that is not a network namespace,
// NetlinkError for what the kernel refuses.
void delete_container_link_if_exists(const CmdArgs& args);

}  // namespace netcore::cni
