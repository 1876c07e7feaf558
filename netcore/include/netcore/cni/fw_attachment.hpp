#pragma once

// The CNI invocation as netcore::fw's owner of firewall entries, for the plugins that program
// nftables (bridge, ptp, portmap, firewall).

#include <optional>
#include <vector>

#include "netcore/cni/cmd_args.hpp"
#include "netcore/fw/attachment.hpp"

namespace netcore::cni {

// (network name, CNI_CONTAINERID, CNI_IFNAME).
[[nodiscard]] fw::Attachment fw_attachment(const CmdArgs& args);

// The attachments of args' network a GC must keep (CmdArgs::valid_attachments), as fw owners;
// nullopt when the config names none, and the plugin should then collect nothing. Throws like
// valid_attachments().
[[nodiscard]] std::optional<std::vector<fw::Attachment>> fw_valid_attachments(const CmdArgs& args);

}  // namespace netcore::cni
