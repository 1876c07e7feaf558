#pragma once

// The kernel-free half of mac_spoof.cpp — script text and parsing of `nft -j` listings — kept
// apart so that unit tests can check it without root.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "netcore/fw/mac_spoof.hpp"

namespace netcore::fw::detail {

inline constexpr const char* kBridgeTable = "bridge nsnet";
inline constexpr const char* kSpoofPorts = "spoof_ports";
inline constexpr const char* kSpoofAllowed = "spoof_allowed";
inline constexpr const char* kSpoofChain = "spoof_prerouting";

// One element of either set: a port, or a port with its allowed MAC.
struct SpoofElement {
  std::string port;
  std::optional<net::MacAddress> mac;  // set for spoof_allowed elements
  std::string tag;
};

struct SpoofSnapshot {
  bool present = false;  // the table exists
  bool rule_present = false;  // spoof_prerouting holds the drop rule
  std::vector<SpoofElement> ports, allowed;
};

// Parses `nft -j list table bridge nsnet`. Throws Error(kInternal) for an element it cannot read.
[[nodiscard]] SpoofSnapshot parse_spoof_table(const nlohmann::json& listing);

// The batch that guards `port` for `mac` under `tag`.
[[nodiscard]] std::string spoof_add_script(const std::string& port, const net::MacAddress& mac,
                                           const std::string& tag);

// The batch that deletes `doomed` elements; "" when there are none.
[[nodiscard]] std::string spoof_remove_script(const std::vector<SpoofElement>& doomed);

}  // namespace netcore::fw::detail
