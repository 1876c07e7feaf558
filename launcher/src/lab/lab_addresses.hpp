#pragma once

// What a topology says about a node's own interfaces, in file order (links, then switches):
// for the summary `up` prints, the checks' "NODE" targets and the graph.

#include <optional>
#include <string>
#include <vector>

#include "lab/topology.hpp"

namespace nsnet::lab {

struct NodeInterface {
  std::string ifname;
  std::vector<netcore::net::Prefix> addresses;
};

[[nodiscard]] std::vector<NodeInterface> node_interfaces(const Topology& topology,
                                                         const std::string& node);

// The address a check to "NODE" goes to: the first of node_interfaces'; nullopt when none.
[[nodiscard]] std::optional<netcore::net::IpAddress> node_address(const Topology& topology,
                                                                  const std::string& node);

}  // namespace nsnet::lab
