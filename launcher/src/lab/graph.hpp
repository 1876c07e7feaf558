#pragma once

// `nsnet lab graph`: a lab as a Graphviz graph (issue #8). Pure text generation from the parsed
// topology (and, once the lab is up, its pods' addresses): no files, no kernel.
//
// The layout: one cluster subgraph per node holding the node (a box) and its pods (ellipses, one
// edge per attached network); switches as hexagons; links as edges labelled with both ends'
// interfaces and addresses (and MTU/rate when not the default); switch members as edges from the
// node to the switch; a cluster pod network as one dashed "cluster (MODE ..., CIDR)" note joined
// by dashed edges to each cluster node, whose label shows its pod CIDR. Output follows file order,
// so the same topology always gives the same text.
//
// Stateless functions; reentrant and thread-safe.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "lab/topology.hpp"

namespace nsnet::lab {

// Addresses known only once the lab is up (pods' CNI results): key "node/pod" ->
// {"10.245.0.2/24", ...}, in the order to show them.
using PodAddresses = std::map<std::string, std::vector<std::string>>;

// The lab as an undirected Graphviz graph: `graph "NAME" { ... }`, ending in a newline. The ids
// are "node:NAME", "pod:NODE/POD", "switch:NAME" and "cluster". On a parse_topology result it
// throws nothing but bad_alloc; on a hand-made Topology with a cluster, what plan_cluster throws.
[[nodiscard]] std::string to_dot(const Topology& topology, const PodAddresses& pods = {});

// `text` as a DOT double-quoted string: '"' and '\' escaped (so a label shows them as written),
// a newline as the label line break "\n", other control bytes and invalid UTF-8 as '?'.
[[nodiscard]] std::string dot_quote(std::string_view text);

// A bit rate as tc writes it, in the largest exact unit: 100000000 -> "100mbit", 1500 -> "1500bit".
[[nodiscard]] std::string format_rate(std::uint64_t bits_per_second);

}  // namespace nsnet::lab
