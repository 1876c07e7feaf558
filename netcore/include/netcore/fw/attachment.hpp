#pragma once

// Who owns a firewall entry, and the text nsnet tags it with, so that DEL and GC find an
// attachment's entries knowing only the CNI triple, never the original config.

#include <string>

namespace netcore::fw {

// Who a rule belongs to: the CNI (network name, CNI_CONTAINERID, CNI_IFNAME) triple.
struct Attachment {
  std::string network;
  std::string container_id;
  std::string ifname;
};

// 16 lowercase hex digits (64-bit FNV-1a of `network`): stable across versions and processes.
[[nodiscard]] std::string network_hash(const std::string& network);

// The comment that marks an attachment's elements: "<containerID>/<ifname>". Text that nft
// cannot quote or that exceeds its 128-byte comment limit is shortened to a printable prefix
// plus "~" and a hash of the whole, so the tag stays unique and deterministic.
[[nodiscard]] std::string attachment_tag(const Attachment& attachment);

// "<network_hash> <containerID>/<ifname>", made safe like attachment_tag: the tag of tables that
// hold several networks' attachments in one set, where the hash prefix lets GC pick one
// network's entries (spoof_tag, firewall_tag).
[[nodiscard]] std::string network_attachment_tag(const Attachment& attachment);

}  // namespace netcore::fw
