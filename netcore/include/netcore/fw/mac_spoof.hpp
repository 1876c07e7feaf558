#pragma once

// MAC spoofing protection for bridge ports (the bridge plugin's `macspoofchk`): frames entering
// the bridge from a container's port must carry the container's MAC as their source.
//
// nsnet owns `table bridge nsnet` (created on first use, never flushed or deleted as a whole):
//   set spoof_ports       the guarded ports (host veth names)
//   set spoof_allowed     "port . MAC" pairs allowed through
//   chain spoof_prerouting  filter hook prerouting, priority -300:
//                         `iifname @spoof_ports iifname . ether saddr != @spoof_allowed drop`
// Every element's comment is the attachment's spoof_tag, so DEL and GC find an attachment's
// entries without knowing its port or MAC. A frame costs two set lookups, however many
// containers there are.
//
// Every function acts on the calling thread's network namespace (wrap it in Netns::run to act on
// another), is thread-safe, and may run concurrently in several processes: each change is one
// atomic nft transaction, retried from a fresh listing (up to 5 attempts).
// Errors: Error(kInvalidNetworkConfig) for an empty attachment field or port; Error(kNotReady)
// when libnftables is missing; Error(kInternal) for what nft refuses.

#include <optional>
#include <string>
#include <vector>

#include "netcore/fw/attachment.hpp"
#include "netcore/net/ip.hpp"

namespace netcore::fw {

// One guarded port as found in the kernel.
struct MacSpoofEntry {
  std::string tag;   // spoof_tag() of the attachment
  std::string port;  // the bridge port (host veth) name
  std::optional<net::MacAddress> mac;  // nullopt: the port is guarded but allows no MAC
  friend bool operator==(const MacSpoofEntry&, const MacSpoofEntry&) = default;
};

// "<network_hash> <containerID>/<ifname>", made safe for nft like attachment_tag: the hash
// prefix lets GC pick one network's entries.
[[nodiscard]] std::string spoof_tag(const Attachment& attachment);

// Guards `port`: only frames with source `mac` enter the bridge through it. Idempotent; a port
// entry left by another attachment (a leak, then a reused veth name) is taken over.
void add_mac_spoof_check(const Attachment& attachment, const std::string& port,
                         const net::MacAddress& mac);

// Removes the attachment's entries; no error when there are none.
void remove_mac_spoof_check(const Attachment& attachment);

// Removes the entries of `network` whose attachment is not in `valid` (an empty list removes
// them all; attachments of other networks are ignored).
void gc_mac_spoof_check(const std::string& network, const std::vector<Attachment>& valid);

// Every guarded port, sorted by tag and port.
[[nodiscard]] std::vector<MacSpoofEntry> list_mac_spoof_checks();

// CNI CHECK: true when `port` is guarded for this attachment, allows `mac`, and the rule is in
// place.
[[nodiscard]] bool has_mac_spoof_check(const Attachment& attachment, const std::string& port,
                                       const net::MacAddress& mac);

}  // namespace netcore::fw
