#include "lab/lab_addresses.hpp"

namespace nsnet::lab {

std::vector<NodeInterface> node_interfaces(const Topology& topology, const std::string& node) {
  std::vector<NodeInterface> out;
  for (const auto& link : topology.links) {
    if (link.a.node == node) out.push_back({link.a.ifname, link.a_addresses});
    if (link.b.node == node) out.push_back({link.b.ifname, link.b_addresses});
  }
  for (const auto& sw : topology.switches)
    for (const auto& member : sw.members)
      if (member.endpoint.node == node) out.push_back({member.endpoint.ifname, member.addresses});
  return out;
}

std::optional<netcore::net::IpAddress> node_address(const Topology& topology,
                                                    const std::string& node) {
  for (const auto& iface : node_interfaces(topology, node))
    if (!iface.addresses.empty()) return iface.addresses.front().address();
  return std::nullopt;
}

}  // namespace nsnet::lab
