#pragma once

// Connection tracking entries through ctnetlink (libnl-nf-3): what a firewall change must flush
// so that flows the kernel already tracks see the new rules. NAT is decided on a connection's
// first packet; a UDP "connection" seen before a port was published would keep bypassing the
// DNAT for as long as its sender keeps it alive.
//
// Acts on the calling thread's network namespace (wrap it in Netns::run to act on another).
// Thread-safe: each call opens and closes its own netlink socket.
// Errors: NetlinkError(kInternal) when ctnetlink cannot be reached or dumped.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace netcore::fw {

// Deletes every IPv4 and IPv6 entry of L4 protocol `protocol` (IPPROTO_UDP, ...) whose
// original-direction destination port is one of `ports`, and returns how many went. An entry
// that disappears between the dump and its deletion is not an error.
std::size_t delete_conntrack_by_dst_port(std::uint8_t protocol,
                                         const std::vector<std::uint16_t>& ports);

}  // namespace netcore::fw
