#pragma once

// The kernel-free half of firewall.cpp — script text and parsing of `nft -j` listings — kept
// apart so that unit tests can check it without root.

#include <functional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "netcore/fw/firewall.hpp"

namespace netcore::fw::detail {

inline constexpr const char* kFwTableName = "nsnet_firewall";
inline constexpr const char* kFwInetTable = "inet nsnet_firewall";
inline constexpr const char* kFwBridgeTable = "bridge nsnet_firewall";
inline constexpr const char* kFwForward = "forward";
inline constexpr const char* kFwAddr4 = "fw_addr4";
inline constexpr const char* kFwAddr6 = "fw_addr6";
inline constexpr const char* kFwMembers4 = "fw_iso_members4";
inline constexpr const char* kFwMembers6 = "fw_iso_members6";
inline constexpr const char* kFwIsoIn = "fw_iso_in";
inline constexpr const char* kFwIsoBridges = "fw_iso_bridges";
inline constexpr const char* kFwIsoChainPrefix = "iso_";
inline constexpr const char* kFwPorts = "fw_isolated_ports";

// One element of a set or map of either table.
struct FwElement {
  std::string key;     // address (canonical text), bridge or port name
  std::string tag;     // the element's comment; "" when it has none
  std::string target;  // for verdict maps: the chain jumped to
  bool v6 = false;     // for address sets and member maps: which family's
  friend bool operator==(const FwElement&, const FwElement&) = default;
};

// What the two tables hold.
struct FirewallSnapshot {
  bool inet_present = false;
  bool bridge_present = false;
  std::set<std::string> chains;                            // of the inet table
  std::vector<std::vector<nlohmann::json>> forward_rules;  // each inet forward rule's "expr"
  std::vector<FwElement> addresses, members, iso_in, iso_bridges;  // inet sets and maps
  std::set<std::string> bridge_chains;                     // of the bridge table
  bool port_rule_present = false;                          // its forward drop rule
  std::vector<FwElement> ports;
};

// iso_<stable_hash(bridge)>: the isolation chain of `bridge`.
[[nodiscard]] std::string isolation_chain(const std::string& bridge);

// Parses `nft -j list table inet nsnet_firewall` and `... bridge nsnet_firewall` (either may be
// an empty document when its table is absent). Throws Error(kInternal) for an element it cannot
// read.
[[nodiscard]] FirewallSnapshot parse_firewall(const nlohmann::json& inet_listing,
                                              const nlohmann::json& bridge_listing);

// The batch that installs `rules` under `tag`, given the tables as `snapshot` shows them (it
// creates what is missing with `create`, so that a concurrent creator makes it fail and be
// re-planned, and deletes elements of the same keys tagged otherwise).
[[nodiscard]] std::string firewall_add_script(const FirewallSnapshot& snapshot,
                                              const std::string& tag, const FirewallRules& rules);

// The batch that deletes every element whose tag `doomed` selects, and the isolation of each
// bridge no remaining member keeps; "" when there is nothing to do. `kept` receives the
// isolation chains that lost a member but keep others (worth a second look afterwards).
[[nodiscard]] std::string firewall_remove_script(
    const FirewallSnapshot& snapshot, const std::function<bool(const std::string&)>& doomed,
    std::vector<std::string>* kept = nullptr);

// The batch that drops the isolation of the bridge behind `chain` (its fw_iso_in and
// fw_iso_bridges elements and the chain): the kernel refuses it (EBUSY) while a member element
// still jumps to the chain. "" when `snapshot` shows no such chain.
[[nodiscard]] std::string drop_isolation_script(const FirewallSnapshot& snapshot,
                                                const std::string& chain);

}  // namespace netcore::fw::detail
