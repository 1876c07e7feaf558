#pragma once

// Source NAT for CNI attachments (bridge/ptp `ipMasq`), in nftables, built for many attachments
// and for DEL/GC that know only (network, containerID, ifname) — never the original config.
//
// nsnet owns `table ip nsnet` and `table ip6 nsnet` (created on first use, never flushed or
// deleted as a whole). In each:
//   map masq_src         container address -> `jump masq_<h>`; each element's comment names its
//                        attachment ("<containerID>/<ifname>", see attachment_tag)
//   chain masq_postrouting  nat hook postrouting, priority srcnat: `ip saddr vmap @masq_src`
//   set masq_excl_<h>    per network (h = network_hash): destinations never masqueraded — the
//                        attachments' subnets, the configured exclusions, multicast; comment
//                        "net: <network>"
//   chain masq_<h>       per network: `ip daddr @masq_excl_<h> return`, then `masquerade`
// A packet does one map lookup, whatever the number of networks and attachments. A network's
// set and chain go when its last attachment does; the kernel refuses to delete a chain that a
// map element still jumps to, so a concurrent add_masquerade can never lose its rules, and no
// lock is needed.
//
// Every function acts on the calling thread's network namespace (wrap it in Netns::run to act
// on another), is thread-safe, and may be called concurrently from several processes: each
// change is one atomic nft transaction, re-planned from a fresh listing (up to 5 attempts) when
// another process's transaction made it fail.
//
// Errors: Error(kInvalidNetworkConfig) for an invalid attachment or address; Error(kNotReady)
// when libnftables is missing; Error(kInternal) for anything nft refuses (see nftables.hpp).

#include <optional>
#include <string>
#include <vector>

#include "netcore/fw/attachment.hpp"
#include "netcore/net/ip.hpp"

namespace netcore::fw {

// One masqueraded container address, as found in the kernel.
struct MasqueradeEntry {
  std::string network;     // from the network's set comment; "" if that set is gone
  std::string attachment;  // the element's comment: attachment_tag() of its attachment
  net::IpAddress address;
  friend bool operator==(const MasqueradeEntry&, const MasqueradeEntry&) = default;
};

// Masquerades traffic from `container_addresses` (interface addresses with their subnet's prefix
// length, "10.88.0.5/16"; IPv4 and IPv6 may mix) to anything outside their subnets, `exclude`
// and multicast. Idempotent; one atomic batch. An address still mapped for another attachment
// (a leaked entry) is taken over. Throws Error(kInvalidNetworkConfig) for an empty attachment
// field, no address, or an unspecified, loopback or multicast address; Error(kNotReady),
// Error(kInternal).
void add_masquerade(const Attachment& attachment,
                    const std::vector<net::Prefix>& container_addresses,
                    const std::vector<net::Prefix>& exclude = {});

// Removes the attachment's addresses (found by their comment), and the network's set and chain
// if no attachment of the network remains. No error when nothing is there. Throws
// Error(kNotReady), Error(kInternal).
void remove_masquerade(const Attachment& attachment);

// What is masqueraded, optionally for one network only, sorted by network, attachment, address.
// Throws Error(kNotReady), Error(kInternal).
[[nodiscard]] std::vector<MasqueradeEntry> list_masquerade(
    const std::optional<std::string>& network = std::nullopt);

// CNI GC: removes every masquerade entry of `network` whose attachment is not in `valid`
// (attachments of other networks in `valid` are ignored; an empty list removes all), and the
// network's set and chain if nothing remains. Throws Error(kNotReady), Error(kInternal).
void gc_masquerade(const std::string& network, const std::vector<Attachment>& valid);

// CNI CHECK: true when every address of `container_addresses` is mapped to the network's chain
// under this attachment's tag and the chains are in place. Throws Error(kNotReady),
// Error(kInternal).
[[nodiscard]] bool has_masquerade(const Attachment& attachment,
                                  const std::vector<net::Prefix>& container_addresses);

}  // namespace netcore::fw
