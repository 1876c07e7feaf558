#pragma once

// The model of an `nsnet lab` topology file and its parser (issue #8). The format is documented
// by conf/lab/topology.schema.json; conf/lab/*.json are examples. Parsing is pure: no files, no
// kernel, no CNI config dir. Everything the builder needs is validated here, so a bad file is
// refused before anything is created.
//
// Value types; the functions are reentrant and thread-safe.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "netcore/cni/conflist.hpp"
#include "netcore/net/ip.hpp"

namespace nsnet::lab {

// Limits, so that a lab fits this machine and every derived name fits its kernel limit.
inline constexpr std::size_t kMaxLabNameLength = 12;   // part of netns and link names
inline constexpr std::size_t kMaxNodeNameLength = 15;  // nodes and switches
inline constexpr std::size_t kMaxPodNameLength = 32;
inline constexpr std::size_t kMaxIfnameLength = 15;  // IFNAMSIZ - 1
inline constexpr std::size_t kMaxNodes = 64;
inline constexpr std::size_t kMaxSwitches = 64;
inline constexpr std::size_t kMaxLinks = 1024;
inline constexpr std::size_t kMaxSwitchMembers = 64;
inline constexpr std::size_t kMaxPodsPerNode = 64;
inline constexpr std::size_t kMaxNetworksPerNode = 8;
inline constexpr std::size_t kMaxAddressesPerEndpoint = 16;
inline constexpr std::size_t kMaxRoutesPerNode = 256;
inline constexpr std::size_t kMaxCommandsPerNode = 16;
inline constexpr std::size_t kMaxSysctlsPerNode = 64;
inline constexpr std::size_t kMaxChecks = 4096;    // reach entries
inline constexpr std::size_t kMaxMeshChecks = 64;  // mesh entries
// Peers in one mesh's list: every node and every pod.
inline constexpr std::size_t kMaxMeshPeers = kMaxNodes * (1 + kMaxPodsPerNode);
// What all_checks() may expand to (reach plus every mesh's ordered pairs): a full mesh over 1024
// peers. Bounds the checker's memory; kMaxChecks does not apply to the expansion.
inline constexpr std::size_t kMaxExpandedChecks = std::size_t{1} << 20;

inline constexpr unsigned kDefaultMtu = 1500;
inline constexpr unsigned kMinMtu = 68;
inline constexpr unsigned kMinIpv6Mtu = 1280;
inline constexpr unsigned kMaxMtu = 65535;
// VXLAN's encapsulation: outer IPv4 (20) or IPv6 (40) + UDP (8) + VXLAN (8) + inner Ethernet (14).
inline constexpr unsigned kVxlanOverhead = 50;
inline constexpr unsigned kVxlanOverheadV6 = 70;
inline constexpr std::uint16_t kVxlanPort = 4789;  // IANA
inline constexpr std::uint32_t kDefaultVni = 1;
inline constexpr std::uint32_t kMaxVni = (1u << 24) - 1;
inline constexpr unsigned kDefaultNodePrefixV4 = 24;
inline constexpr unsigned kDefaultNodePrefixV6 = 64;

// The network that `cluster` gives every cluster node (a bridge on the node's pod CIDR); the
// name is reserved for it. The cluster's devices on each cluster node, reserved too.
inline constexpr std::string_view kClusterNetwork = "cluster";
inline constexpr std::string_view kClusterBridge = "cni0";
inline constexpr std::string_view kClusterVxlanDevice = "nsnet.vxlan";

// One end of a veth: "NODE:IFNAME".
struct Endpoint {
  std::string node;
  std::string ifname;
  [[nodiscard]] std::string to_string() const { return node + ":" + ifname; }
  friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

// A veth pair between two nodes (or two interfaces of one node).
struct Link {
  Endpoint a;
  Endpoint b;
  std::vector<netcore::net::Prefix> a_addresses;  // interface addresses ("10.0.0.1/24")
  std::vector<netcore::net::Prefix> b_addresses;
  unsigned mtu = kDefaultMtu;
  std::optional<std::uint64_t> rate;  // bits per second; a tbf on both ends
};

// A switch: a bridge in its own network namespace, one veth to each member endpoint.
struct SwitchMember {
  Endpoint endpoint;
  std::vector<netcore::net::Prefix> addresses;
};
struct Switch {
  std::string name;
  std::vector<SwitchMember> members;  // in file order
  unsigned mtu = kDefaultMtu;
};

struct Route {
  netcore::net::Prefix dst;  // network address (host bits cleared)
  netcore::net::IpAddress via;
};

// A CNI network on a node: inline (conflist set) or installed in the CNI config dir (by name).
struct NodeNetwork {
  std::string name;
  std::optional<netcore::cni::NetworkList> conflist;
};

// A pod: a network namespace on a node, attached to networks (first as eth0, then net1, ...).
struct Pod {
  std::string name;
  std::vector<std::string> networks;
};

struct Node {
  std::string name;
  std::string hostname;                                      // defaults to the name
  std::vector<std::pair<std::string, std::string>> sysctls;  // net.* keys as written, in order
  std::vector<std::vector<std::string>> commands;            // argv of each, started in order
  std::vector<Route> routes;
  std::vector<NodeNetwork> networks;
  std::vector<Pod> pods;
};

enum class ClusterMode { kHostGw, kVxlan };

struct ClusterNode {
  std::string node;
  std::string underlay;  // an interface of the node (a link end or switch member)
  std::optional<netcore::net::IpAddress> address;  // which of its addresses; default: the first
  std::optional<netcore::net::Prefix> pod_cidr;    // default: assigned from the cluster CIDR
};

// A multi-node pod network: each cluster node gets a pod CIDR; pods on it use a bridge; nodes
// reach each other's pods by host-gw routes or a VXLAN overlay.
struct Cluster {
  netcore::net::Prefix cidr;  // network address
  unsigned node_prefix = kDefaultNodePrefixV4;
  ClusterMode mode = ClusterMode::kHostGw;
  std::uint32_t vni = kDefaultVni;  // vxlan only
  // Permanent ARP/NDP entries between each node's pods and its bridge, instead of learning them:
  // every namespace of a lab shares the kernel's one neighbour table, whose default limit
  // (gc_thresh3, 1024 learnt entries) a full mesh of 128 pods overflows.
  bool static_neighbours = true;
  std::vector<ClusterNode> nodes;   // in the order of the top-level "nodes"
};

enum class Proto { kIcmp, kTcp, kUdp };

// Where a check runs from or goes to: a node, a pod on a node, or (only as a destination) an IP.
struct CheckPeer {
  std::string node;  // empty when ip is set
  std::string pod;   // empty for the node itself
  std::optional<netcore::net::IpAddress> ip;
  // "NODE", "NODE/POD" or the IP, as the file writes it.
  [[nodiscard]] std::string to_string() const;
  friend bool operator==(const CheckPeer&, const CheckPeer&) = default;
};

struct ReachCheck {
  CheckPeer from;
  CheckPeer to;
  Proto proto = Proto::kIcmp;
  std::optional<std::uint16_t> port;  // tcp and udp only
  bool expect = true;
};

// Reachability between every two peers of a list, both ways: stands for a ReachCheck per ordered
// pair (see all_checks). The peers are distinct nodes or pods (no IPs), at least two.
struct MeshCheck {
  std::vector<CheckPeer> among;  // "pods": every pod of every node, "nodes": every node, in order
  Proto proto = Proto::kIcmp;
  std::optional<std::uint16_t> port;  // tcp and udp only
  bool expect = true;
};

struct Topology {
  std::string name;
  std::vector<Node> nodes;  // in file order
  std::vector<Link> links;
  std::vector<Switch> switches;
  std::optional<Cluster> cluster;
  std::vector<ReachCheck> reach;
  std::vector<MeshCheck> mesh;

  [[nodiscard]] const Node* find_node(std::string_view name) const noexcept;
};

// Parses and validates a topology document. Throws netcore::Error whose message starts with the
// JSON path of the culprit ("links[2].a: unknown node \"n9\""): kDecodingFailure for text that
// is not JSON, kInvalidNetworkConfig for everything else.
[[nodiscard]] Topology parse_topology(std::string_view text);

// Every check the topology asks for: the reach list, then for each mesh every ordered pair (a, b)
// of its peers with a != b, in list order (a outer, b inner). parse_topology bounds the total by
// kMaxExpandedChecks.
[[nodiscard]] std::vector<ReachCheck> all_checks(const Topology& topology);

// A tc rate ("100mbit", "1.5gbit", "10mbps" = bytes, a bare number = bits) in bits per second,
// 8 .. 8 * netcore::net::kMaxTbfValue. Throws Error(kInvalidNetworkConfig) quoting the text.
[[nodiscard]] std::uint64_t parse_rate(std::string_view text);

// What the builder derives for one cluster node.
struct ClusterNodePlan {
  std::string node;
  netcore::net::Prefix pod_cidr;          // network address
  netcore::net::IpAddress gateway;        // the pod CIDR's first address, on the node's bridge
  std::string underlay;                   // the underlay interface
  netcore::net::Prefix underlay_address;  // with its prefix length
  unsigned underlay_mtu = kDefaultMtu;
  unsigned pod_mtu = kDefaultMtu;  // host-gw: the underlay's; vxlan: minus 50 (70 on IPv6)
};

struct ClusterPlan {
  ClusterMode mode = ClusterMode::kHostGw;
  netcore::net::Prefix cidr;
  std::optional<std::uint32_t> vni;  // vxlan only
  std::vector<ClusterNodePlan> nodes;
};

// Derives the cluster's per-node facts. Pod CIDRs given in the file are kept; the others are the
// lowest free /nodePrefix blocks of the cluster CIDR, assigned in node order. parse_topology
// already ran this, so on its result it does not throw; on a hand-made Topology it throws what
// parse_topology would. Requires topology.cluster.
[[nodiscard]] ClusterPlan plan_cluster(const Topology& topology);

// The interface name of a pod's i-th network: "eth0", "net1", "net2", ...
[[nodiscard]] std::string pod_ifname(std::size_t index);

[[nodiscard]] std::string_view to_string(ClusterMode mode) noexcept;
[[nodiscard]] std::string_view to_string(Proto proto) noexcept;

}  // namespace nsnet::lab
