#pragma once

// Published ports (the portmap plugin) in nftables: connections to a host port are DNATed to a
// container, built so that a new connection costs the same whatever the number of published
// ports, and so that DEL and GC find an attachment's entries knowing only (network, containerID,
// ifname) — never the runtime's portMappings.
//
// nsnet owns `table ip nsnet_portmap` and `table ip6 nsnet_portmap` (created on first use, never
// flushed or deleted as a whole; masquerade's `nsnet` tables are separate). In each:
//   map hostip_dnat    host address . protocol . host port -> container address . port
//   map hostport_dnat  protocol . host port -> container address . port
//   map hostip_cond, hostport_cond  the same keys -> `jump pm_<h>`, for attachments with
//                      conditionsV4/V6: chain pm_<h> (h = stable hash of the tag) holds
//                      `<conditions> <proto> dport P dnat to ... comment <tag>` per mapping
//   chain hostports    one lookup in each map, hostIP-specific ones first
//   chains prerouting / output  nat hooks at dstnat: `fib daddr type local jump hostports`
//   set snat_hairpin   container . container (snat: a container reaching its own port)
//   set snat_local     container (snat, IPv4: connections from 127.0.0.0/8 via route_localnet)
//   set masq_all       container (masqAll: every DNATed connection to it)
//   chain postrouting  nat hook srcnat: `ct status dnat` plus one lookup per set -> masquerade
// Every element carries the attachment's tag ("<network hash> <containerID>/<ifname>", see
// portmap_tag) as its comment. A packet costs a fixed number of hash lookups however many
// ports are published; only a port published with conditions walks its attachment's own chain,
// whose length is that attachment's number of mappings.
//
// Every function acts on the calling thread's network namespace (wrap it in Netns::run to act
// on another), is thread-safe, and may run concurrently in several processes: each change is
// one atomic nft transaction, re-planned from a fresh listing (up to 5 attempts) when another
// process's transaction made it fail.
// Errors: Error(kInvalidNetworkConfig) for an invalid attachment or spec; Error(kNotReady) when
// libnftables is missing; Error(kInternal) for what nft refuses (a condition nft cannot parse
// included, with nft's message).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "netcore/fw/attachment.hpp"
#include "netcore/net/ip.hpp"

namespace netcore::fw {

enum class L4Protocol { kTcp, kUdp, kSctp };

// "tcp", "udp", "sctp".
[[nodiscard]] const char* to_string(L4Protocol protocol) noexcept;

struct PortMapping {
  std::uint16_t host_port = 0;       // 1-65535
  std::uint16_t container_port = 0;  // 1-65535
  L4Protocol protocol = L4Protocol::kTcp;
  std::optional<net::IpAddress> host_ip;  // nullopt: every local address
  friend bool operator==(const PortMapping&, const PortMapping&) = default;
};

// What one attachment publishes.
struct PortmapSpec {
  std::vector<PortMapping> mappings;
  std::optional<net::IpAddress> container_v4;  // the DNAT target of IPv4 mappings
  std::optional<net::IpAddress> container_v6;  // the DNAT target of IPv6 mappings
  bool snat = true;       // masquerade hairpin and 127.0.0.0/8-sourced connections
  bool masq_all = false;  // masquerade every DNATed connection to the container
  std::vector<std::string> conditions_v4;  // nft match expressions, ANDed before each DNAT
  std::vector<std::string> conditions_v6;
};

// One element as found in the kernel, for listings and tests.
struct PortmapEntry {
  std::string family;  // "ip" or "ip6"
  std::string object;  // the map or set ("hostport_dnat", "snat_hairpin", ...)
  std::string key;     // nft text: "tcp . 8080", "10.0.0.1 . udp . 53", "10.1.0.2 . 10.1.0.2"
  std::string value;   // nft text: "10.1.0.2 . 80", "jump pm_<h>", "" for set elements
  std::string tag;
  friend bool operator==(const PortmapEntry&, const PortmapEntry&) = default;
};

// "<network_hash> <containerID>/<ifname>" made safe for nft like attachment_tag: the hash prefix
// lets GC pick one network's entries.
[[nodiscard]] std::string portmap_tag(const Attachment& attachment);

// Publishes `spec` for the attachment, replacing whatever the attachment had. A key another
// attachment holds (a leak of a lost DEL, or a runtime that double-books a port) is taken over
// with a warning. Mappings whose family the container lacks (or whose hostIP is of the other
// family) are skipped. Throws Error(kInvalidNetworkConfig) for an empty attachment field, a port
// 0, a condition holding a newline, ';' or '#', or no container address; Error(kNotReady),
// Error(kInternal).
void add_portmap(const Attachment& attachment, const PortmapSpec& spec);

// Removes every element and chain tagged for the attachment; no error when there are none.
void remove_portmap(const Attachment& attachment);

// Removes the entries of `network` whose attachment is not in `valid` (attachments of other
// networks are ignored; an empty list removes them all).
void gc_portmap(const std::string& network, const std::vector<Attachment>& valid);

// Every element of both tables, sorted.
[[nodiscard]] std::vector<PortmapEntry> list_portmap();

// CNI CHECK: true when exactly the entries add_portmap(attachment, spec) makes are in place,
// with the base chains' rules.
[[nodiscard]] bool has_portmap(const Attachment& attachment, const PortmapSpec& spec);

}  // namespace netcore::fw
