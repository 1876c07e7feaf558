#pragma once

// The kernel-free half of masquerade.cpp — script text and parsing of `nft -j` listings — kept
// apart so that unit tests can check it without root.

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "comment.hpp"
#include "netcore/fw/masquerade.hpp"
#include "netcore/net/ip.hpp"

namespace netcore::fw::detail {

inline constexpr const char* kTable = "nsnet";
inline constexpr const char* kMap = "masq_src";
inline constexpr const char* kBaseChain = "masq_postrouting";
inline constexpr const char* kChainPrefix = "masq_";
inline constexpr const char* kExcludeSetPrefix = "masq_excl_";

// "ip" for IPv4, "ip6" for IPv6: the nft family, which is also the address match keyword.
[[nodiscard]] const char* nft_family(bool v4) noexcept;
// "ip nsnet" / "ip6 nsnet".
[[nodiscard]] std::string table_ref(bool v4);

// One element of the masq_src map.
struct MapElement {
  net::IpAddress address;
  std::string tag;    // the element's comment; "" when it has none
  std::string chain;  // the chain it jumps to
};

// What one family's table holds, from `nft -j list table <family> nsnet`.
struct TableSnapshot {
  bool present = false;
  std::vector<MapElement> elements;
  std::map<std::string, std::string> set_networks;  // masq_excl_<h> -> network named in its comment
  std::set<std::string> chains;
  std::map<std::string, std::vector<nlohmann::json>> rules;  // chain -> each rule's "expr"
};

// Parses a listing of the table. Throws Error(kInternal) for an element it cannot read.
[[nodiscard]] TableSnapshot parse_table(const nlohmann::json& listing);

// The add batch for one family: every address of `addresses` must be of that family; `takeover`
// lists addresses currently mapped elsewhere, deleted first.
[[nodiscard]] std::string add_script(bool v4, const Attachment& attachment,
                                     const std::vector<net::Prefix>& addresses,
                                     const std::vector<net::Prefix>& exclude,
                                     const std::vector<net::IpAddress>& takeover);

// The batch that deletes `doomed` (elements of `snapshot`) and, for every network chain left
// without elements, that chain and its set. "" when there is nothing to do.
[[nodiscard]] std::string remove_script(bool v4, const TableSnapshot& snapshot,
                                        const std::vector<MapElement>& doomed);

}  // namespace netcore::fw::detail
