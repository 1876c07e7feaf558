#pragma once

// Forwarding rules for CNI attachments (the firewall plugin), in nftables: accepts for the
// containers' addresses, an admin chain for the user's own rules, and Docker-style isolation of
// bridges. Built for DEL and GC that know only (network, containerID, ifname).
//
// nsnet owns `table inet nsnet_firewall` (created on first use, never flushed or deleted):
//   chain <admin>      default "CNI-ADMIN": created empty on first use and never flushed, changed
//                      or deleted by nsnet; users add their own rules there
//   chain forward      filter hook forward, priority filter, policy accept, created once:
//                        jump <admin>                     (one such rule per admin chain name)
//                        iifname vmap @fw_iso_in          (isolation, below)
//                        ip daddr @fw_addr4 ct state established,related accept
//                        ip saddr @fw_addr4 accept        (and the same for ip6 / fw_addr6)
//   set fw_addr4/6     container addresses; each element's comment is firewall_tag()
//   map fw_iso_in      isolated bridge name -> jump iso_<h> (h = stable_hash(bridge))
//   set fw_iso_bridges every isolated bridge
//   chain iso_<h>      `oifname "<bridge>" return`, `oifname @fw_iso_bridges drop`: traffic
//                      routed from an isolated bridge to another isolated bridge is dropped
//   map fw_iso_members4/6  container address -> jump iso_<h>, tagged: who keeps a bridge
//                      isolated. The kernel refuses to delete a chain an element still jumps
//                      to, so removing a bridge's last member can never undo a concurrent ADD.
// and, for ingressPolicy "isolated", `table bridge nsnet_firewall`:
//   set fw_isolated_ports   host-side bridge ports (tagged) of isolated containers
//   chain forward      filter hook forward: `oifname @fw_isolated_ports drop`: frames bridged
//                      from another port of the same bridge never reach an isolated container
//                      (its gateway, the bridge itself, is not a port: it stays reachable)
// A packet costs a constant number of set lookups, however many containers and bridges.
//
// What "accept" means: an nftables accept ends only the base chain it happens in. A packet this
// table accepts (or the admin chain accepts) still meets every other table's forward chains, so
// a host whose own ruleset drops forwarded traffic keeps dropping it; the accepts make a
// difference where the host's policy jumps here or consults it, and they keep the reference's
// layout (an admin chain first, then per-address accepts). The drops of the isolation rules and
// of the admin chain are final everywhere.
//
// Every function acts on the calling thread's network namespace (wrap it in Netns::run to act
// on another), is thread-safe, and may run concurrently in several processes: each change is one
// atomic nft transaction, re-planned from a fresh listing and retried (up to 5 attempts).
// Errors: Error(kInvalidNetworkConfig) for an invalid attachment, name or address;
// Error(kNotReady) when libnftables is missing; Error(kInternal) for what nft refuses.

#include <string>
#include <vector>

#include "netcore/fw/attachment.hpp"
#include "netcore/net/ip.hpp"

namespace netcore::fw {

enum class IngressPolicy {
  kOpen,        // no isolation
  kSameBridge,  // traffic from another isolated bridge is dropped
  kIsolated,    // kSameBridge, and frames from other ports of the same bridge are dropped too
};

inline constexpr const char* kDefaultAdminChain = "CNI-ADMIN";

// What add_firewall installs for one attachment.
struct FirewallRules {
  std::vector<net::IpAddress> addresses;  // the container's addresses: accepted both ways
  IngressPolicy policy = IngressPolicy::kOpen;
  std::string bridge;              // the container's bridge; required unless kOpen
  std::vector<std::string> ports;  // its host-side bridge ports; required for kIsolated
  std::string admin_chain = kDefaultAdminChain;
};

// One tagged element of the tables, as found in the kernel.
struct FirewallEntry {
  std::string tag;   // firewall_tag() of the attachment
  std::string kind;  // "address", "member" (keeps `bridge` isolated) or "port"
  std::string key;   // the address or port name
  std::string bridge;  // for "member": the bridge it keeps isolated
  friend bool operator==(const FirewallEntry&, const FirewallEntry&) = default;
};

// "<network_hash> <containerID>/<ifname>", made safe for nft like attachment_tag: the hash
// prefix lets GC pick one network's entries.
[[nodiscard]] std::string firewall_tag(const Attachment& attachment);

// Letters, digits, '_', '-', '.', starting with a letter, at most 64 bytes, and none of the
// table's own chain names: what iptablesAdminChainName may be.
[[nodiscard]] bool valid_admin_chain_name(const std::string& name);

// Installs `rules` for the attachment. Idempotent; an address or port still tagged for another
// attachment (a leak) is taken over. Throws Error(kInvalidNetworkConfig) for an empty
// attachment field, an invalid admin chain, bridge or port name, no address with a policy other
// than kOpen, a missing bridge (or ports for kIsolated); Error(kNotReady), Error(kInternal).
void add_firewall(const Attachment& attachment, const FirewallRules& rules);

// Removes the attachment's elements (found by their tag), and a bridge's isolation once no
// attachment keeps it. No error when nothing is there. Throws Error(kNotReady),
// Error(kInternal).
void remove_firewall(const Attachment& attachment);

// CNI GC: removes the elements of `network` whose attachment is not in `valid` (attachments of
// other networks are ignored; an empty list removes them all). Throws like remove_firewall.
void gc_firewall(const std::string& network, const std::vector<Attachment>& valid);

// Every tagged element, sorted by tag, kind, key. Throws Error(kNotReady), Error(kInternal).
[[nodiscard]] std::vector<FirewallEntry> list_firewall();

// CNI CHECK: true when everything add_firewall(attachment, rules) installs is in place. Throws
// like add_firewall's validation, Error(kNotReady), Error(kInternal).
[[nodiscard]] bool has_firewall(const Attachment& attachment, const FirewallRules& rules);

}  // namespace netcore::fw
