#pragma once

// The kernel-free half of portmap.cpp — planning, script text and parsing of `nft -j` listings —
// kept apart so that unit tests can check it without root.

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "netcore/fw/portmap.hpp"

namespace netcore::fw::detail {

inline constexpr const char* kPortmapTable = "nsnet_portmap";
inline constexpr const char* kPortmapChainPrefix = "pm_";

// What one family's table holds, from `nft -j list table <family> nsnet_portmap`.
struct PortmapSnapshot {
  bool present = false;
  std::vector<PortmapEntry> elements;  // of the maps and sets listed in portmap.hpp
  std::map<std::string, std::string> chains;  // every pm_<h> chain -> its rules' comment (tag)
  std::map<std::string, std::vector<nlohmann::json>> rules;  // chain -> each rule's "expr"
};

// What add_portmap puts in one family's table for one attachment.
struct PortmapPlan {
  std::vector<PortmapEntry> elements;
  std::string chain;                     // "pm_<h>" when there are conditions, else ""
  std::vector<std::string> chain_rules;  // the rules of `chain`, nft text after "add rule T C "
};

// "ip" / "ip6".
[[nodiscard]] const char* portmap_family(bool v4) noexcept;

// Parses a listing of the table. Throws Error(kInternal) for an element it cannot read.
[[nodiscard]] PortmapSnapshot parse_portmap_table(const nlohmann::json& listing, bool v4);

// The entries of `spec` for one family (none when the container has no address of it).
[[nodiscard]] PortmapPlan plan_portmap(bool v4, const std::string& tag, const PortmapSpec& spec);

// Tables, maps, sets and base chains, each base chain flushed and refilled (idempotent).
[[nodiscard]] std::string portmap_base_script(bool v4);

// Deletes `doomed` elements, (re)creates the plan's chain and adds its elements. The base script
// must come first in the same batch.
[[nodiscard]] std::string portmap_add_script(bool v4, const std::string& tag,
                                             const PortmapPlan& plan,
                                             const std::vector<PortmapEntry>& doomed);

// Deletes `doomed` elements, then the `chains` (after the elements: vmap elements jump there).
// "" when there is nothing to do.
[[nodiscard]] std::string portmap_remove_script(bool v4, const std::vector<PortmapEntry>& doomed,
                                                const std::vector<std::string>& chains);

}  // namespace netcore::fw::detail
