// The `nsnet lab` topology model: the shipped examples parse, defaults, derived pod CIDRs, and
// bad files refused with the JSON path of the culprit.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "lab/topology.hpp"
#include "netcore/base/error.hpp"

namespace lab_topology_test {
namespace {

namespace fs = std::filesystem;
using nsnet::lab::ClusterMode;
using nsnet::lab::parse_topology;
using nsnet::lab::plan_cluster;
using nsnet::lab::Proto;
using nsnet::lab::Topology;
using Doc = nlohmann::ordered_json;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

Topology load_example(const std::string& name) {
  return parse_topology(read_text(fs::path(NSNET_CONF_DIR) / "lab" / name));
}

// A valid lab to break one field at a time: two cluster nodes on a link, a router node.
Doc base_doc() {
  return Doc::parse(R"({
    "name": "t",
    "nodes": {
      "n1": {"sysctls": {"net.ipv4.ip_forward": "1"},
             "pods": {"p1": {"networks": ["cluster"]}, "p2": {"networks": ["cluster"]}}},
      "n2": {"pods": {"p1": {"networks": ["cluster"]}}},
      "r": {"routes": [{"dst": "10.2.0.0/24", "via": "10.1.0.1"}]}
    },
    "links": [
      {"a": "n1:eth0", "b": "n2:eth0",
       "addresses": {"a": ["192.168.0.1/24"], "b": ["192.168.0.2/24"]}},
      {"a": "n1:eth1", "b": "r:eth0", "addresses": {"a": ["10.1.0.1/24"], "b": ["10.1.0.2/24"]}}
    ],
    "cluster": {"cidr": "10.244.0.0/16", "mode": "host-gw",
                "nodes": {"n1": {"underlay": "eth0"}, "n2": {"underlay": "eth0"}}},
    "checks": {"reach": [{"from": "n1/p1", "to": "n2/p1"}]}
  })");
}

// The message parse_topology throws for `text`; fails the test when it does not throw Error.
std::string error_of(const std::string& text) {
  try {
    (void)parse_topology(text);
  } catch (const netcore::Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "parsed without error: " << text;
  return "";
}

std::string error_of(const std::function<void(Doc&)>& mutate) {
  Doc doc = base_doc();
  mutate(doc);
  return error_of(doc.dump());
}

TEST(LabTopology, EveryExampleParses) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(fs::path(NSNET_CONF_DIR) / "lab")) {
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() != ".json" || name == "topology.schema.json") continue;
    names.push_back(name);
    SCOPED_TRACE(name);
    const Topology t = load_example(name);
    EXPECT_FALSE(t.reach.empty()) << "an example without checks proves nothing";
    if (t.cluster) {
      EXPECT_EQ(plan_cluster(t).nodes.size(), t.cluster->nodes.size());
    }
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"hostgw-2nodes.json", "rootless.json", "router.json",
                                             "vxlan-4nodes.json"}));
}

TEST(LabTopology, ExampleHostGwTwoNodes) {
  const Topology t = load_example("hostgw-2nodes.json");
  EXPECT_EQ(t.name, "hostgw2");
  ASSERT_EQ(t.nodes.size(), 2u);
  EXPECT_EQ(t.nodes[0].hostname, "node1");
  ASSERT_TRUE(t.cluster);
  const auto plan = plan_cluster(t);
  EXPECT_EQ(plan.mode, ClusterMode::kHostGw);
  EXPECT_FALSE(plan.vni);
  ASSERT_EQ(plan.nodes.size(), 2u);
  EXPECT_EQ(plan.nodes[0].pod_cidr.to_string(), "10.244.0.0/24");
  EXPECT_EQ(plan.nodes[0].gateway.to_string(), "10.244.0.1");
  EXPECT_EQ(plan.nodes[1].pod_cidr.to_string(), "10.244.1.0/24");
  EXPECT_EQ(plan.nodes[1].underlay_address.to_string(), "192.168.50.2/24");
  EXPECT_EQ(plan.nodes[1].pod_mtu, 1500u);
  EXPECT_EQ(t.reach[2].proto, Proto::kTcp);
  EXPECT_EQ(t.reach[2].port, 80);
}

TEST(LabTopology, ExampleVxlanFourNodes) {
  const Topology t = load_example("vxlan-4nodes.json");
  const auto plan = plan_cluster(t);
  EXPECT_EQ(plan.mode, ClusterMode::kVxlan);
  EXPECT_EQ(plan.vni, 42u);
  std::vector<std::string> cidrs;
  for (const auto& n : plan.nodes) {
    cidrs.push_back(n.pod_cidr.to_string());
    EXPECT_EQ(n.underlay_mtu, 1500u);
    EXPECT_EQ(n.pod_mtu, 1450u);
  }
  EXPECT_EQ(cidrs, (std::vector<std::string>{"10.245.0.0/24", "10.245.1.0/24", "10.245.2.0/24",
                                             "10.245.100.0/24"}));
  ASSERT_EQ(t.switches.size(), 1u);
  EXPECT_EQ(t.switches[0].members.size(), 4u);
  EXPECT_EQ(t.switches[0].members[3].endpoint.to_string(), "n4:eth0");
}

TEST(LabTopology, ExampleRouter) {
  const Topology t = load_example("router.json");
  const auto* r1 = t.find_node("r1");
  ASSERT_NE(r1, nullptr);
  EXPECT_EQ(r1->hostname, "router");
  ASSERT_EQ(r1->sysctls.size(), 2u);
  EXPECT_EQ(r1->sysctls[0].first, "net.ipv4.ip_forward");
  EXPECT_EQ(r1->sysctls[0].second, "1");
  ASSERT_EQ(t.links.size(), 3u);
  EXPECT_EQ(t.links[1].rate, 100'000'000u);
  EXPECT_EQ(t.links[2].mtu, 1400u);
  EXPECT_EQ(t.links[0].b_addresses.at(1).to_string(), "fd00:1::1/64");
  ASSERT_EQ(t.find_node("h1")->routes.size(), 2u);
  EXPECT_EQ(t.find_node("h1")->routes[1].via.to_string(), "fd00:1::1");
  EXPECT_EQ(t.find_node("h2")->commands.at(0).at(0), "python3");
  EXPECT_EQ(std::count_if(t.reach.begin(), t.reach.end(), [](const auto& c) { return !c.expect; }),
            2);
  EXPECT_EQ(t.reach[2].to.ip->to_string(), "fd00:2::2");
}

TEST(LabTopology, ExampleRootlessSingleNode) {
  const Topology t = load_example("rootless.json");
  ASSERT_EQ(t.nodes.size(), 1u);
  const auto& n = t.nodes[0];
  ASSERT_EQ(n.networks.size(), 2u);
  EXPECT_EQ(n.networks[0].name, "blue");
  ASSERT_TRUE(n.networks[0].conflist);
  EXPECT_EQ(n.networks[0].conflist->plugins.at(0).at("bridge"), "blue0");
  EXPECT_EQ(n.pods.back().networks, (std::vector<std::string>{"blue", "red"}));
  EXPECT_FALSE(t.cluster);
}

TEST(LabTopology, Defaults) {
  const Topology t = parse_topology(R"({
    "name": "d",
    "nodes": {"a": {"networks": ["nsnet"], "pods": {"x": {"networks": ["nsnet"]}}}, "b": {}},
    "links": [{"a": "a:e0", "b": "b:e0", "addresses": {"b": ["10.9.0.2/24"]}}],
    "checks": {"reach": [{"from": "a/x", "to": "b"}]}
  })");
  EXPECT_EQ(t.nodes[0].hostname, "a");
  EXPECT_TRUE(t.nodes[0].sysctls.empty());
  EXPECT_EQ(t.nodes[0].networks[0].name, "nsnet");
  EXPECT_FALSE(t.nodes[0].networks[0].conflist);  // installed, looked up by name
  EXPECT_EQ(t.links[0].mtu, nsnet::lab::kDefaultMtu);
  EXPECT_FALSE(t.links[0].rate);
  EXPECT_TRUE(t.links[0].a_addresses.empty());
  EXPECT_EQ(t.reach[0].proto, Proto::kIcmp);
  EXPECT_FALSE(t.reach[0].port);
  EXPECT_TRUE(t.reach[0].expect);
  EXPECT_EQ(t.reach[0].from.node, "a");
  EXPECT_EQ(t.reach[0].from.pod, "x");
  EXPECT_TRUE(t.reach[0].to.pod.empty());
}

TEST(LabTopology, ClusterDefaultsVxlanAndIpv6) {
  Doc doc = base_doc();
  doc["cluster"]["mode"] = "vxlan";
  Topology t = parse_topology(doc.dump());
  EXPECT_EQ(t.cluster->node_prefix, 24u);
  EXPECT_EQ(plan_cluster(t).vni, nsnet::lab::kDefaultVni);
  EXPECT_TRUE(t.cluster->static_neighbours);
  doc["cluster"]["staticNeighbours"] = false;
  EXPECT_FALSE(parse_topology(doc.dump()).cluster->static_neighbours);

  doc = base_doc();
  doc["cluster"]["cidr"] = "fd10::/48";
  doc["cluster"]["mode"] = "vxlan";  // over the IPv4 underlay
  t = parse_topology(doc.dump());
  EXPECT_EQ(t.cluster->node_prefix, 64u);
  const auto plan = plan_cluster(t);
  EXPECT_EQ(plan.nodes[1].pod_cidr.to_string(), "fd10:0:0:1::/64");
  EXPECT_EQ(plan.nodes[1].gateway.to_string(), "fd10:0:0:1::1");
  EXPECT_EQ(plan.nodes[1].underlay_address.to_string(), "192.168.0.2/24");
  EXPECT_EQ(plan.nodes[1].pod_mtu, 1450u);

  doc = base_doc();  // an IPv6 underlay: the outer header is 20 bytes longer
  doc["cluster"]["mode"] = "vxlan";
  doc["links"][0]["addresses"]["a"] = Doc::array({"fd00::1/64"});
  doc["links"][0]["addresses"]["b"] = Doc::array({"fd00::2/64"});
  const auto plan6 = plan_cluster(parse_topology(doc.dump()));
  EXPECT_EQ(plan6.nodes[0].underlay_address.to_string(), "fd00::1/64");
  EXPECT_EQ(plan6.nodes[0].pod_mtu, 1430u);
  doc["cluster"]["mode"] = "host-gw";  // routes via an address of the other family: refused
  EXPECT_THAT(error_of(doc.dump()), StartsWith("cluster.nodes.n1.underlay: n1:eth0 has no IPv4"));
}

TEST(LabTopology, PodCidrsSkipThoseGiven) {
  Doc doc = base_doc();
  doc["cluster"]["nodes"]["n2"]["podCidr"] = "10.244.0.0/23";  // larger than a block
  auto plan = plan_cluster(parse_topology(doc.dump()));
  EXPECT_EQ(plan.nodes[0].pod_cidr.to_string(), "10.244.2.0/24");
  EXPECT_EQ(plan.nodes[1].pod_cidr.to_string(), "10.244.0.0/23");

  doc = base_doc();
  doc["cluster"]["nodes"]["n2"]["podCidr"] = "10.244.0.64/26";  // inside the first block
  plan = plan_cluster(parse_topology(doc.dump()));
  EXPECT_EQ(plan.nodes[0].pod_cidr.to_string(), "10.244.1.0/24");

  doc = base_doc();
  doc["cluster"]["nodePrefix"] = 20;
  doc["cluster"]["nodes"]["n1"]["podCidr"] = "10.244.16.0/20";
  plan = plan_cluster(parse_topology(doc.dump()));
  EXPECT_EQ(plan.nodes[1].pod_cidr.to_string(), "10.244.0.0/20");
}

TEST(LabTopology, NodeOrderIsFileOrder) {
  Doc doc = base_doc();
  Doc nodes = Doc::object();
  nodes["n2"] = doc["nodes"]["n2"];  // n2 first now
  nodes["n1"] = doc["nodes"]["n1"];
  nodes["r"] = doc["nodes"]["r"];
  doc["nodes"] = nodes;
  const Topology t = parse_topology(doc.dump());
  EXPECT_EQ(t.nodes[0].name, "n2");
  const auto plan = plan_cluster(t);
  EXPECT_EQ(plan.nodes[0].node, "n2");
  EXPECT_EQ(plan.nodes[0].pod_cidr.to_string(), "10.244.0.0/24");
}

TEST(LabTopology, Rates) {
  using nsnet::lab::parse_rate;
  EXPECT_EQ(parse_rate("100mbit"), 100'000'000u);
  EXPECT_EQ(parse_rate("1.5Gbit"), 1'500'000'000u);
  EXPECT_EQ(parse_rate("10mbps"), 80'000'000u);
  EXPECT_EQ(parse_rate("1kibit"), 1024u);
  EXPECT_EQ(parse_rate("64000"), 64000u);
  EXPECT_EQ(parse_rate("8bit"), 8u);
  EXPECT_THROW((void)parse_rate("4bit"), netcore::Error);
  EXPECT_THROW((void)parse_rate("20gbps"), netcore::Error);  // above libnl's tbf limit
  EXPECT_THROW((void)parse_rate("mbit"), netcore::Error);
  EXPECT_THROW((void)parse_rate("-5mbit"), netcore::Error);
  EXPECT_THROW((void)parse_rate("5 mbit"), netcore::Error);
}

TEST(LabTopology, PodInterfaceNames) {
  EXPECT_EQ(nsnet::lab::pod_ifname(0), "eth0");
  EXPECT_EQ(nsnet::lab::pod_ifname(1), "net1");
  EXPECT_EQ(nsnet::lab::pod_ifname(7), "net7");
}

TEST(LabTopology, BadJsonIsADecodingError) {
  try {
    (void)parse_topology("{\"name\": ");
    FAIL();
  } catch (const netcore::Error& e) {
    EXPECT_EQ(e.code(), netcore::ErrorCode::kDecodingFailure);
    EXPECT_THAT(e.msg(), StartsWith("topology: "));
  }
  EXPECT_THAT(error_of(std::string(100, '[') + std::string(100, ']')),
              HasSubstr("nesting deeper than 64"));
  EXPECT_THAT(error_of("[]"), StartsWith("topology: expected an object, got array"));
}

struct BadCase {
  const char* what;
  std::function<void(Doc&)> mutate;
  std::string expected;  // the start of the message: the JSON path, ": ", the cause
};

Doc node_with_pods(std::size_t count) {
  Doc pods = Doc::object();
  for (std::size_t i = 0; i < count; ++i)
    pods["p" + std::to_string(i)] = Doc::parse(R"({"networks": ["cluster"]})");
  return pods;
}

TEST(LabTopology, BadInputNamesTheJsonPath) {
  const std::vector<BadCase> cases = {
      {"sysctl value not a string",
       [](Doc& d) { d["nodes"]["n1"]["sysctls"]["net.ipv4.ip_forward"] = 1; },
       R"(nodes.n1.sysctls["net.ipv4.ip_forward"]: expected a string, got number)"},
      {"link to an unknown node", [](Doc& d) { d["links"][1]["a"] = "n9:eth0"; },
       R"(links[1].a: unknown node "n9")"},
      {"lab name with capitals", [](Doc& d) { d["name"] = "Lab"; },
       R"(name: "Lab" must match [a-z0-9][a-z0-9-]*)"},
      {"lab name too long", [](Doc& d) { d["name"] = "abcdefghijklm"; },
       R"(name: "abcdefghijklm" is longer than 12 bytes)"},
      {"missing nodes", [](Doc& d) { d.erase("nodes"); }, "nodes: required field is missing"},
      {"unknown top-level field", [](Doc& d) { d["node"] = Doc::object(); }, "node: unknown field"},
      {"unknown node field", [](Doc& d) { d["nodes"]["n1"]["sysclts"] = Doc::object(); },
       "nodes.n1.sysclts: unknown field"},
      {"node name with an underscore", [](Doc& d) { d["nodes"]["n_3"] = Doc::object(); },
       R"(nodes.n_3: "n_3" must match)"},
      {"sysctl outside net", [](Doc& d) { d["nodes"]["n1"]["sysctls"]["kernel.panic"] = "1"; },
       R"(nodes.n1.sysctls["kernel.panic"]: only net.* sysctls)"},
      {"bad hostname", [](Doc& d) { d["nodes"]["r"]["hostname"] = "-r"; },
       R"(nodes.r.hostname: hostname "-r" is not a valid)"},
      {"empty command", [](Doc& d) { d["nodes"]["r"]["commands"] = Doc::parse("[[]]"); },
       "nodes.r.commands[0]: a command needs at least a program"},
      {"command argument not a string",
       [](Doc& d) { d["nodes"]["r"]["commands"] = Doc::parse(R"([["sleep", 5]])"); },
       "nodes.r.commands[0][1]: expected a string, got number"},
      {"interface name too long", [](Doc& d) { d["links"][0]["b"] = "n2:averyveryverylong"; },
       R"(links[0].b: interface name "averyveryverylong" is longer than 15 bytes)"},
      {"endpoint without interface", [](Doc& d) { d["links"][0]["b"] = "n2"; },
       R"(links[0].b: "n2" is not an endpoint (NODE:IFNAME))"},
      {"interface with a slash", [](Doc& d) { d["links"][0]["b"] = "n2:a/b"; },
       R"(links[0].b: interface name "a/b" is not valid)"},
      {"interface used twice", [](Doc& d) { d["links"][1]["a"] = "n1:eth0"; },
       "links[1].a: interface n1:eth0 is already used at links[0].a"},
      {"address without a prefix length",
       [](Doc& d) { d["links"][0]["addresses"]["a"][0] = "192.168.0.1"; },
       R"(links[0].addresses.a[0]: "192.168.0.1" needs a prefix length)"},
      {"address that does not parse",
       [](Doc& d) { d["links"][0]["addresses"]["b"][0] = "192.168.0.300/24"; },
       "links[0].addresses.b[0]: "},
      {"network address as an interface address",
       [](Doc& d) { d["links"][1]["addresses"]["b"][0] = "10.1.0.0/24"; },
       R"(links[1].addresses.b[0]: "10.1.0.0/24" is the subnet's network or broadcast address)"},
      {"address used twice in the lab",
       [](Doc& d) { d["links"][1]["addresses"]["b"][0] = "192.168.0.1/24"; },
       "links[1].addresses.b[0]: address 192.168.0.1 is already used at "
       "links[0].addresses.a[0]"},
      {"MTU too small", [](Doc& d) { d["links"][0]["mtu"] = 40; },
       "links[0].mtu: must be between 68 and 65535, got 40"},
      {"IPv6 on a small MTU",
       [](Doc& d) {
         d["links"][1]["mtu"] = 1000;
         d["links"][1]["addresses"]["a"].push_back("fd00::1/64");
       },
       "links[1].addresses.a[1]: IPv6 needs an MTU of at least 1280"},
      {"rate with an unknown unit", [](Doc& d) { d["links"][0]["rate"] = "100mbits"; },
       R"(links[0].rate: rate "100mbits": unknown unit "mbits")"},
      {"link addresses for a third end",
       [](Doc& d) { d["links"][0]["addresses"]["c"] = Doc::array(); },
       "links[0].addresses.c: unknown field"},
      {"route gateway off-link", [](Doc& d) { d["nodes"]["r"]["routes"][0]["via"] = "10.3.0.1"; },
       "nodes.r.routes[0].via: gateway 10.3.0.1 is on none of the node's subnets"},
      {"route destination with host bits",
       [](Doc& d) { d["nodes"]["r"]["routes"][0]["dst"] = "10.2.0.1/24"; },
       R"(nodes.r.routes[0].dst: "10.2.0.1/24" has host bits set (did you mean 10.2.0.0/24?))"},
      {"route across families", [](Doc& d) { d["nodes"]["r"]["routes"][0]["dst"] = "fd00::/64"; },
       "nodes.r.routes[0].via: gateway 10.1.0.1 is not of the family of fd00::/64"},
      {"unknown cluster mode", [](Doc& d) { d["cluster"]["mode"] = "ipip"; },
       R"(cluster.mode: "ipip" is not host-gw or vxlan)"},
      {"vni for host-gw", [](Doc& d) { d["cluster"]["vni"] = 7; },
       "cluster.vni: only for mode vxlan"},
      {"staticNeighbours not a boolean",
       [](Doc& d) { d["cluster"]["staticNeighbours"] = "yes"; },
       "cluster.staticNeighbours: expected a boolean, got string"},
      {"node prefix shorter than the cluster CIDR", [](Doc& d) { d["cluster"]["nodePrefix"] = 8; },
       "cluster.nodePrefix: must be between 16 and 30, got 8"},
      {"cluster node that does not exist",
       [](Doc& d) { d["cluster"]["nodes"]["n9"] = Doc::parse(R"({"underlay": "eth0"})"); },
       R"(cluster.nodes.n9: unknown node "n9")"},
      {"underlay that is not an interface of the node",
       [](Doc& d) { d["cluster"]["nodes"]["n2"]["underlay"] = "eth7"; },
       R"(cluster.nodes.n2.underlay: node n2 has no interface "eth7")"},
      {"underlay address not on the interface",
       [](Doc& d) { d["cluster"]["nodes"]["n2"]["address"] = "192.168.0.9"; },
       "cluster.nodes.n2.address: 192.168.0.9 is not an address of n2:eth0"},
      {"host-gw nodes on different subnets",
       [](Doc& d) { d["cluster"]["nodes"]["r"] = Doc::parse(R"({"underlay": "eth0"})"); },
       "cluster.nodes.r.underlay: underlay address 10.1.0.2 is not on n1's underlay subnet "
       "192.168.0.0/24"},
      {"pod CIDR outside the cluster CIDR",
       [](Doc& d) { d["cluster"]["nodes"]["n2"]["podCidr"] = "10.99.0.0/24"; },
       "cluster.nodes.n2.podCidr: 10.99.0.0/24 is not inside the cluster CIDR 10.244.0.0/16"},
      {"pod CIDRs overlapping",
       [](Doc& d) {
         d["cluster"]["nodes"]["n1"]["podCidr"] = "10.244.0.0/23";
         d["cluster"]["nodes"]["n2"]["podCidr"] = "10.244.1.0/24";
       },
       "cluster.nodes.n2.podCidr: 10.244.1.0/24 overlaps n1's 10.244.0.0/23"},
      {"cluster CIDR overlapping a link subnet",
       [](Doc& d) { d["cluster"]["cidr"] = "10.0.0.0/8"; },
       "cluster.cidr: 10.0.0.0/8 overlaps the subnet of 10.1.0.1/24 at links[1].addresses.a[0]"},
      {"cluster CIDR exhausted",
       [](Doc& d) {
         d["cluster"]["cidr"] = "10.244.0.0/24";
         d["cluster"]["nodePrefix"] = 25;
         d["cluster"]["nodes"]["n1"]["podCidr"] = "10.244.0.0/25";
         d["cluster"]["nodes"]["n2"].erase("podCidr");
         d["nodes"]["r"]["routes"] = Doc::array();
         d["cluster"]["nodes"]["r"] = Doc::parse(R"({"underlay": "eth0"})");
         d["cluster"]["mode"] = "vxlan";
       },
       "cluster.nodes.r: no free /25 left in the cluster CIDR 10.244.0.0/24"},
      {"VXLAN over a too small underlay MTU",
       [](Doc& d) {
         d["cluster"]["mode"] = "vxlan";
         d["links"][0]["mtu"] = 100;
       },
       "cluster.nodes.n1.underlay: MTU 100 of n1:eth0 leaves less than 68 for the VXLAN overlay"},
      {"cluster bridge name used by a link", [](Doc& d) { d["links"][1]["a"] = "n1:cni0"; },
       R"(links[1].a: interface name "cni0" is reserved for the cluster on n1)"},
      {"pod on the cluster network of a non-cluster node",
       [](Doc& d) { d["nodes"]["r"]["pods"] = Doc::parse(R"({"x": {"networks": ["cluster"]}})"); },
       "nodes.r.pods.x.networks[0]: node r is not in the cluster (cluster.nodes)"},
      {"pod on a network the node lacks",
       [](Doc& d) { d["nodes"]["n1"]["pods"]["p1"]["networks"][0] = "blue"; },
       R"(nodes.n1.pods.p1.networks[0]: node n1 has no network "blue")"},
      {"pod without networks",
       [](Doc& d) { d["nodes"]["n1"]["pods"]["p1"]["networks"] = Doc::array(); },
       "nodes.n1.pods.p1.networks: a pod needs at least one network"},
      {"pods beyond the pod CIDR", [](Doc& d) { d["cluster"]["nodePrefix"] = 30; },
       "nodes.n1.pods.p2.networks[0]: pod CIDR 10.244.0.0/30 of node n1 has room for 1 pods"},
      {"too many nodes",
       [](Doc& d) {
         for (int i = 0; i < 62; ++i) d["nodes"]["x" + std::to_string(i)] = Doc::object();
       },
       "nodes: too many entries: 65 (at most 64)"},
      {"too many pods on a node", [](Doc& d) { d["nodes"]["n1"]["pods"] = node_with_pods(65); },
       "nodes.n1.pods: too many entries: 65 (at most 64)"},
      {"network name reserved",
       [](Doc& d) { d["nodes"]["r"]["networks"] = Doc::parse(R"(["cluster"])"); },
       R"(nodes.r.networks[0]: network name "cluster" is reserved)"},
      {"inline conflist without plugins",
       [](Doc& d) {
         d["nodes"]["r"]["networks"] = Doc::parse(R"([{"cniVersion": "1.0.0", "name": "x"}])");
       },
       "nodes.r.networks[0]: network list x: no \"plugins\""},
      {"network listed twice",
       [](Doc& d) { d["nodes"]["r"]["networks"] = Doc::parse(R"(["a", "a"])"); },
       R"(nodes.r.networks[1]: network "a" is listed twice)"},
      {"switch with one member",
       [](Doc& d) { d["switches"]["sw"] = Doc::parse(R"({"members": {"r:eth5": []}})"); },
       "switches.sw.members: a switch needs at least two members"},
      {"switch named like a node",
       [](Doc& d) {
         d["switches"]["r"] = Doc::parse(R"({"members": {"r:eth5": [], "n2:eth5": []}})");
       },
       R"(switches.r: switch "r" has the name of a node)"},
      {"switch member on an unknown node",
       [](Doc& d) {
         d["switches"]["sw"] = Doc::parse(R"({"members": {"r:eth5": [], "q:eth5": []}})");
       },
       R"(switches.sw.members["q:eth5"]: unknown node "q")"},
      {"switch member address bad",
       [](Doc& d) {
         d["switches"]["sw"] =
             Doc::parse(R"({"members": {"r:eth5": ["10.7.0.1/24"], "n2:eth5": [7]}})");
       },
       R"(switches.sw.members["n2:eth5"][0]: expected a string, got number)"},
      {"check to an unknown pod", [](Doc& d) { d["checks"]["reach"][0]["to"] = "n2/p9"; },
       R"(checks.reach[0].to: node n2 has no pod "p9")"},
      {"check from an IP", [](Doc& d) { d["checks"]["reach"][0]["from"] = "10.1.0.1"; },
       R"(checks.reach[0].from: "10.1.0.1" is not NODE or NODE/POD)"},
      {"check to a bad IP", [](Doc& d) { d["checks"]["reach"][0]["to"] = "10.1.0.300"; },
       "checks.reach[0].to: "},
      {"tcp check without a port", [](Doc& d) { d["checks"]["reach"][0]["proto"] = "tcp"; },
       "checks.reach[0].port: required for tcp"},
      {"icmp check with a port", [](Doc& d) { d["checks"]["reach"][0]["port"] = 80; },
       "checks.reach[0].port: only for tcp and udp"},
      {"unknown protocol", [](Doc& d) { d["checks"]["reach"][0]["proto"] = "sctp"; },
       R"(checks.reach[0].proto: "sctp" is not tcp, udp or icmp)"},
      {"port out of range",
       [](Doc& d) {
         d["checks"]["reach"][0]["proto"] = "udp";
         d["checks"]["reach"][0]["port"] = 70000;
       },
       "checks.reach[0].port: must be between 1 and 65535, got 70000"},
      {"expect not a boolean", [](Doc& d) { d["checks"]["reach"][0]["expect"] = "no"; },
       "checks.reach[0].expect: expected a boolean, got string"},
      {"check to a node without addresses",
       [](Doc& d) {
         d["nodes"]["lone"] = Doc::object();
         d["checks"]["reach"][0]["to"] = "lone";
       },
       "checks.reach[0].to: node lone has no address on a link or switch"},
      {"checks as a list", [](Doc& d) { d["checks"] = Doc::array(); },
       "checks: expected an object, got array"},
      {"mesh without among", [](Doc& d) { d["checks"]["mesh"] = Doc::parse("[{}]"); },
       "checks.mesh[0].among: required field is missing"},
      {"mesh among an unknown word",
       [](Doc& d) { d["checks"]["mesh"] = Doc::parse(R"([{"among": "all"}])"); },
       R"(checks.mesh[0].among: "all" is not "pods", "nodes" or a list)"},
      {"mesh among a number", [](Doc& d) { d["checks"]["mesh"] = Doc::parse(R"([{"among": 3}])"); },
       R"(checks.mesh[0].among: expected "pods", "nodes" or an array, got number)"},
      {"mesh over one peer",
       [](Doc& d) { d["checks"]["mesh"] = Doc::parse(R"([{"among": ["n1/p1"]}])"); },
       "checks.mesh[0].among: a mesh needs at least two peers"},
      {"mesh over no peers", [](Doc& d) { d["checks"]["mesh"] = Doc::parse(R"([{"among": []}])"); },
       "checks.mesh[0].among: a mesh needs at least two peers"},
      {"mesh over the pods of a lab with one pod",
       [](Doc& d) {
         d["nodes"]["n1"].erase("pods");
         d["checks"].erase("reach");
         d["checks"]["mesh"] = Doc::parse(R"([{"among": "pods"}])");
       },
       "checks.mesh[0].among: the lab has 1 pod; a mesh needs at least two peers"},
      {"mesh listing a peer twice",
       [](Doc& d) {
         d["checks"]["mesh"] = Doc::parse(R"([{"among": "pods"},
                                              {"among": ["n1/p1", "n2", "n1/p1"]}])");
       },
       R"(checks.mesh[1].among[2]: "n1/p1" is already listed at checks.mesh[1].among[0])"},
      {"mesh among an IP",
       [](Doc& d) { d["checks"]["mesh"] = Doc::parse(R"([{"among": ["n1", "10.1.0.2"]}])"); },
       R"(checks.mesh[0].among[1]: "10.1.0.2" is not NODE or NODE/POD)"},
      {"mesh among an unknown pod",
       [](Doc& d) { d["checks"]["mesh"] = Doc::parse(R"([{"among": ["n1", "n2/p7"]}])"); },
       R"(checks.mesh[0].among[1]: node n2 has no pod "p7")"},
      {"mesh among a node without addresses",
       [](Doc& d) {
         d["nodes"]["lone"] = Doc::object();
         d["checks"]["mesh"] = Doc::parse(R"([{"among": ["n1", "lone"]}])");
       },
       "checks.mesh[0].among[1]: node lone has no address on a link or switch"},
      {"mesh among nodes when one has no address",
       [](Doc& d) {
         d["nodes"]["lone"] = Doc::object();
         d["checks"]["mesh"] = Doc::parse(R"([{"among": "nodes"}])");
       },
       "checks.mesh[0].among: node lone has no address on a link or switch; list the peers"},
      {"tcp mesh without a port",
       [](Doc& d) { d["checks"]["mesh"] = Doc::parse(R"([{"among": "pods", "proto": "tcp"}])"); },
       "checks.mesh[0].port: required for tcp"},
      {"icmp mesh with a port",
       [](Doc& d) { d["checks"]["mesh"] = Doc::parse(R"([{"among": "pods", "port": 80}])"); },
       "checks.mesh[0].port: only for tcp and udp"},
      {"mesh with an unknown protocol",
       [](Doc& d) { d["checks"]["mesh"] = Doc::parse(R"([{"among": "pods", "proto": "x"}])"); },
       R"(checks.mesh[0].proto: "x" is not tcp, udp or icmp)"},
      {"mesh with a from",
       [](Doc& d) { d["checks"]["mesh"] = Doc::parse(R"([{"among": "pods", "from": "n1"}])"); },
       "checks.mesh[0].from: unknown field"},
      {"mesh expect not a boolean",
       [](Doc& d) { d["checks"]["mesh"] = Doc::parse(R"([{"among": "pods", "expect": 0}])"); },
       "checks.mesh[0].expect: expected a boolean, got number"},
      {"mesh as an object",
       [](Doc& d) { d["checks"]["mesh"] = Doc::parse(R"({"among": "pods"})"); },
       "checks.mesh: expected an array, got object"},
      {"too many meshes",
       [](Doc& d) {
         d["checks"]["mesh"] = Doc::array();
         for (int i = 0; i < 65; ++i) d["checks"]["mesh"].push_back({{"among", "pods"}});
       },
       "checks.mesh: too many entries: 65 (at most 64)"},
  };
  ASSERT_GE(cases.size(), 25u);
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.what);
    EXPECT_THAT(error_of(c.mutate), StartsWith(c.expected));
  }
}

TEST(LabTopology, ExampleVxlanHasAPodMesh) {
  const Topology t = load_example("vxlan-4nodes.json");
  ASSERT_EQ(t.mesh.size(), 1u);
  ASSERT_EQ(t.mesh[0].among.size(), 8u);  // 4 nodes x 2 pods, in file order
  EXPECT_EQ(t.mesh[0].among[0].to_string(), "n1/p1");
  EXPECT_EQ(t.mesh[0].among[1].to_string(), "n1/p2");
  EXPECT_EQ(t.mesh[0].among[7].to_string(), "n4/p2");
  EXPECT_EQ(t.mesh[0].proto, Proto::kIcmp);
  const auto checks = nsnet::lab::all_checks(t);
  EXPECT_EQ(checks.size(), t.reach.size() + std::size_t{8} * 7);
}

TEST(LabTopology, MeshAmongPodsNodesAndAList) {
  Doc doc = base_doc();
  doc["checks"]["mesh"] = Doc::parse(R"([
    {"among": "pods"},
    {"among": "nodes", "proto": "udp", "port": 53, "expect": false},
    {"among": ["n1", "n2/p1", "r"], "proto": "tcp", "port": 80}
  ])");
  const Topology t = parse_topology(doc.dump());
  ASSERT_EQ(t.mesh.size(), 3u);
  const auto names = [](const nsnet::lab::MeshCheck& m) {
    std::vector<std::string> out;
    for (const auto& p : m.among) out.push_back(p.to_string());
    return out;
  };
  EXPECT_EQ(names(t.mesh[0]), (std::vector<std::string>{"n1/p1", "n1/p2", "n2/p1"}));
  EXPECT_TRUE(t.mesh[0].expect);
  EXPECT_FALSE(t.mesh[0].port);
  EXPECT_EQ(names(t.mesh[1]), (std::vector<std::string>{"n1", "n2", "r"}));
  EXPECT_EQ(t.mesh[1].proto, Proto::kUdp);
  EXPECT_EQ(t.mesh[1].port, 53);
  EXPECT_FALSE(t.mesh[1].expect);
  EXPECT_EQ(names(t.mesh[2]), (std::vector<std::string>{"n1", "n2/p1", "r"}));
  EXPECT_EQ(t.mesh[2].among[1].node, "n2");
  EXPECT_EQ(t.mesh[2].among[1].pod, "p1");
  EXPECT_EQ(t.mesh[2].proto, Proto::kTcp);
  EXPECT_EQ(t.mesh[2].port, 80);
}

TEST(LabTopology, AllChecksIsReachThenEveryOrderedPair) {
  Doc doc = base_doc();
  doc["checks"]["mesh"] = Doc::parse(R"([
    {"among": ["n1/p1", "n1/p2", "n2/p1"], "proto": "tcp", "port": 80},
    {"among": ["n1", "n2"], "expect": false}
  ])");
  const Topology t = parse_topology(doc.dump());
  const auto checks = nsnet::lab::all_checks(t);
  std::vector<std::string> pairs;
  for (const auto& c : checks) pairs.push_back(c.from.to_string() + ">" + c.to.to_string());
  EXPECT_EQ(pairs,
            (std::vector<std::string>{"n1/p1>n2/p1",  // the reach list first
                                      "n1/p1>n1/p2", "n1/p1>n2/p1", "n1/p2>n1/p1", "n1/p2>n2/p1",
                                      "n2/p1>n1/p1", "n2/p1>n1/p2", "n1>n2", "n2>n1"}));
  EXPECT_EQ(checks[0].proto, Proto::kIcmp);
  for (std::size_t i = 1; i <= 6; ++i) {
    EXPECT_EQ(checks[i].proto, Proto::kTcp);
    EXPECT_EQ(checks[i].port, 80);
    EXPECT_TRUE(checks[i].expect);
  }
  EXPECT_EQ(checks[7].proto, Proto::kIcmp);
  EXPECT_FALSE(checks[7].port);
  EXPECT_FALSE(checks[8].expect);

  doc.erase("checks");  // no checks at all
  EXPECT_TRUE(nsnet::lab::all_checks(parse_topology(doc.dump())).empty());
}

// A lab of `nodes` cluster nodes with `pods` pods each on one switch, checks left empty.
Doc lab_of_pods(int nodes, int pods) {
  Doc doc = Doc::parse(R"({"name": "big", "nodes": {}, "switches": {"u": {"members": {}}},
                           "cluster": {"cidr": "10.244.0.0/16", "mode": "vxlan", "nodes": {}},
                           "checks": {}})");
  for (int n = 0; n < nodes; ++n) {
    const std::string node = "n" + std::to_string(n);
    Doc pod_list = Doc::object();
    for (int p = 0; p < pods; ++p) pod_list["p" + std::to_string(p)] = {{"networks", {"cluster"}}};
    doc["nodes"][node] = {{"pods", pod_list}};
    doc["switches"]["u"]["members"][node + ":eth0"] = {"192.168.0." + std::to_string(n + 1) +
                                                       "/24"};
    doc["cluster"]["nodes"][node] = {{"underlay", "eth0"}};
  }
  return doc;
}

// The issue's scale target: 16 nodes x 8 pods, full mesh = 16256 pairs from one line, past
// kMaxChecks (which bounds only the reach list).
TEST(LabTopology, MeshExpansionIsNotBoundByMaxChecks) {
  Doc doc = lab_of_pods(16, 8);
  doc["checks"]["mesh"] = Doc::parse(R"([{"among": "pods"}])");
  const Topology t = parse_topology(doc.dump());
  const auto checks = nsnet::lab::all_checks(t);
  ASSERT_EQ(checks.size(), 16256u);
  EXPECT_GT(checks.size(), nsnet::lab::kMaxChecks);
  EXPECT_EQ(checks.front().from.to_string(), "n0/p0");
  EXPECT_EQ(checks.front().to.to_string(), "n0/p1");
  EXPECT_EQ(checks.back().from.to_string(), "n15/p7");
  EXPECT_EQ(checks.back().to.to_string(), "n15/p6");
  for (const auto& c : checks) ASSERT_NE(c.from, c.to);
}

// The expansion has a bound of its own, far above kMaxChecks: reach plus every mesh's pairs.
TEST(LabTopology, MeshExpansionHasItsOwnBound) {
  Doc doc = lab_of_pods(64, 16);  // 1024 pods: one mesh is 1047552 pairs
  doc["checks"]["mesh"] = Doc::parse(R"([{"among": "pods"}])");
  doc["checks"]["reach"] = Doc::array();
  for (int i = 0; i < 1024; ++i)
    doc["checks"]["reach"].push_back({{"from", "n0"}, {"to", "n1/p0"}});
  const Topology t = parse_topology(doc.dump());  // exactly kMaxExpandedChecks
  EXPECT_EQ(t.reach.size() + t.mesh[0].among.size() * (t.mesh[0].among.size() - 1),
            nsnet::lab::kMaxExpandedChecks);
  doc["checks"]["reach"].push_back({{"from", "n0"}, {"to", "n1/p0"}});
  EXPECT_EQ(error_of(doc.dump()),
            "checks.mesh[0].among: expands to 1047552 checks; with those before it, more than "
            "1048576");
  doc["checks"].erase("reach");
  doc["checks"]["mesh"].push_back({{"among", {"n0", "n1"}}});
  EXPECT_NO_THROW((void)parse_topology(doc.dump()));
  doc["checks"]["mesh"].push_back({{"among", "nodes"}});  // 64 * 63 more
  EXPECT_THAT(error_of(doc.dump()), StartsWith("checks.mesh[2].among: expands to 4032 checks"));
}

TEST(LabTopology, BadInputIsAnInvalidConfig) {
  try {
    Doc doc = base_doc();
    doc["links"][1]["a"] = "n9:eth0";
    (void)parse_topology(doc.dump());
    FAIL();
  } catch (const netcore::Error& e) {
    EXPECT_EQ(e.code(), netcore::ErrorCode::kInvalidNetworkConfig);
  }
}

}  // namespace
}  // namespace lab_topology_test
