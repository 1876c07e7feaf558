// nsnet lab, end to end: the example topologies come up, pass their checks and leave nothing;
// bad files create nothing; an interrupted `up` is removed by `down`; and multi-node cluster
// behaviour (pod addresses kept across nodes, masquerade to the rest) tested through the harness.

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "integration/nsnet_lab_fixture.hpp"

namespace nsnet::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// A cluster of `nodes` nodes with `pods` pods each on one underlay switch.
json cluster_topology(const std::string& name, int nodes, int pods, const std::string& mode) {
  json t = {{"name", name},
            {"nodes", json::object()},
            {"switches", {{"underlay", {{"members", json::object()}}}}},
            {"cluster", {{"cidr", "10.210.0.0/16"}, {"mode", mode}, {"nodes", json::object()}}},
            {"checks", {{"mesh", json::array({{{"among", "pods"}}})}}}};
  for (int n = 1; n <= nodes; ++n) {
    const std::string node = "n" + std::to_string(n);
    json node_pods = json::object();
    for (int p = 1; p <= pods; ++p) node_pods["p" + std::to_string(p)] = {{"networks", {"cluster"}}};
    t["nodes"][node] = {{"pods", node_pods}};
    t["switches"]["underlay"]["members"][node + ":eth0"] = {"192.168.80." + std::to_string(n) + "/24"};
    t["cluster"]["nodes"][node] = {{"underlay", "eth0"}};
  }
  return t;
}

class NsnetLabExampleTest : public NsnetLabTest,
                            public ::testing::WithParamInterface<const char*> {};

TEST_P(NsnetLabExampleTest, ComesUpPassesItsChecksAndLeavesNothing) {
  const auto file = (kLabExamples / GetParam()).string();
  const auto name = json::parse(file_text(file)).at("name").get<std::string>();
  const auto before = lab_snapshot();

  const auto up = nsnet({"lab", "up", file});
  ASSERT_EQ(up.status, 0) << up.err;
  EXPECT_NE(up.out.find("lab " + name + " is up"), std::string::npos) << up.out;
  const auto ls = nsnet({"lab", "ls", "--json"});
  ASSERT_EQ(ls.status, 0) << ls.err;
  EXPECT_EQ(json::parse(ls.out).at(0).value("status", ""), "up") << ls.out;

  const auto check = nsnet({"lab", "check", "--json", name});
  EXPECT_EQ(check.status, 0) << check.out << check.err;
  const auto report = json::parse(check.out, nullptr, false);
  ASSERT_TRUE(report.is_object()) << check.out;
  EXPECT_EQ(report.value("failed", -1), 0) << check.out;
  EXPECT_GT(report.value("passed", 0), 0);

  const auto down = nsnet({"lab", "down", name});
  EXPECT_EQ(down.status, 0) << down.err;
  EXPECT_EQ(wait_for_snapshot(before) + lab_leftovers(kLabRoot), before);
}

INSTANTIATE_TEST_SUITE_P(Examples, NsnetLabExampleTest,
                         ::testing::Values("hostgw-2nodes.json", "vxlan-4nodes.json",
                                           "router.json", "rootless.json"),
                         [](const auto& info) {
                           std::string name = info.param;
                           name = name.substr(0, name.find('.'));
                           std::erase(name, '-');
                           return name;
                         });

TEST_F(NsnetLabTest, UpAgainWithTheSameFileChangesNothing) {
  const auto file = (kLabExamples / "hostgw-2nodes.json").string();
  ASSERT_EQ(nsnet({"lab", "up", "-q", file}).status, 0);
  const auto state = file_text(kLabRoot / "hostgw2" / "state.json");
  const auto again = nsnet({"lab", "up", file});
  EXPECT_EQ(again.status, 0) << again.err;
  EXPECT_NE(again.out.find("already up"), std::string::npos) << again.out;
  EXPECT_EQ(file_text(kLabRoot / "hostgw2" / "state.json"), state);
}

TEST_F(NsnetLabTest, AChangedFileRebuildsTheLab) {
  auto topology = cluster_topology("grow", 2, 1, "host-gw");
  ASSERT_EQ(nsnet({"lab", "up", "-q", topology_file(topology)}).status, 0);
  topology["nodes"]["n2"]["pods"]["p2"] = {{"networks", {"cluster"}}};
  const auto up = nsnet({"lab", "up", topology_file(topology)});
  ASSERT_EQ(up.status, 0) << up.err;
  EXPECT_NE(up.out.find("rebuilding"), std::string::npos) << up.out;
  EXPECT_EQ(nsnet({"lab", "exec", "grow", "n2/p2", "--", "true"}).status, 0);
  EXPECT_EQ(nsnet({"lab", "check", "grow"}).status, 0);
}

TEST_F(NsnetLabTest, BadTopologiesAreRefusedWithTheCulpritAndCreateNothing) {
  const auto before = lab_snapshot();
  struct Case {
    std::string text;
    std::string message;
  };
  auto router = json::parse(file_text(kLabExamples / "router.json"));
  auto bad_link = router;
  bad_link["links"][1]["a"] = "h9:eth0";
  auto bad_mtu = router;
  bad_mtu["links"][2]["mtu"] = 20;
  auto missing_network = router;
  missing_network["nodes"]["h1"]["networks"] = {"nowhere"};
  missing_network["nodes"]["h1"]["pods"] = {{"p", {{"networks", {"nowhere"}}}}};
  const Case cases[] = {
      {"{\"name\": \"x\", ", "parse error"},
      {bad_link.dump(), "links[1].a"},
      {bad_mtu.dump(), "links[2].mtu"},
      {missing_network.dump(), "network nowhere not found"},
  };
  for (const auto& c : cases) {
    const auto path = temp_dir() / "bad.json";
    std::ofstream(path) << c.text;
    const auto up = nsnet({"lab", "up", path.string()});
    EXPECT_EQ(up.status, 1) << c.text;
    EXPECT_NE(up.err.find(c.message), std::string::npos) << up.err;
    EXPECT_EQ(std::count(up.err.begin(), up.err.end(), '\n'), 1) << up.err;
    EXPECT_EQ(lab_snapshot(), before) << c.text;
  }
}

TEST_F(NsnetLabTest, AFailureHalfwayRemovesWhatWasBuilt) {
  const auto before = lab_snapshot();
  auto topology = cluster_topology("half", 2, 2, "vxlan");
  // Everything is built before the commands start; this one cannot.
  topology["nodes"]["n2"]["commands"] = {{"/nonexistent/server"}};
  const auto up = nsnet({"lab", "up", topology_file(topology)});
  EXPECT_EQ(up.status, 1);
  EXPECT_NE(up.err.find("node n2: cannot run /nonexistent/server"), std::string::npos) << up.err;
  EXPECT_EQ(wait_for_snapshot(before) + lab_leftovers(kLabRoot), before);
}

TEST_F(NsnetLabTest, DownAfterUpWasKilledHalfwayRemovesEverything) {
  const auto before = lab_snapshot();
  const auto file = topology_file(cluster_topology("killed", 8, 8, "vxlan"));
  auto up = start({"lab", "up", file});
  // Kill it while pods are being attached: some namespaces exist, some do not yet.
  const auto ns_dir = kLabRoot / "killed" / "ns";
  const auto deadline = std::chrono::steady_clock::now() + scaled(20s);
  auto count = [&] {
    std::error_code ec;
    std::size_t n = 0;
    for (auto it = std::filesystem::directory_iterator(ns_dir, ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
      ++n;
    return n;
  };
  while (count() < 30 && !up.finished() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(1ms);
  up.signal(SIGKILL);
  (void)up.wait(scaled(10s));
  ASSERT_GT(count(), 0u);

  const auto ls = nsnet({"lab", "ls"});
  EXPECT_NE(ls.out.find("killed"), std::string::npos) << ls.out;
  const auto down = nsnet({"lab", "down", "killed"});
  EXPECT_EQ(down.status, 0) << down.err;
  EXPECT_EQ(wait_for_snapshot(before) + lab_leftovers(kLabRoot), before);
  EXPECT_EQ(nsnet({"lab", "down", "killed"}).status, 1);  // nothing left to remove
}

TEST_F(NsnetLabTest, ChecksPassOnExpectedIsolationAndFailOnSurprises) {
  auto topology = json::parse(file_text(kLabExamples / "rootless.json"));
  topology["name"] = "iso";
  // a1 and b1 are on separate bridges without a gateway: isolated.
  topology["checks"] = {{"reach",
                         {{{"from", "n1/a1"}, {"to", "n1/b1"}, {"expect", false}},
                          {{"from", "n1/a1"}, {"to", "n1/a2"}, {"proto", "tcp"}, {"port", 8080}},
                          {{"from", "n1/b1"}, {"to", "n1/a1"}}}}};
  ASSERT_EQ(nsnet({"lab", "up", "-q", topology_file(topology)}).status, 0);
  const auto check = nsnet({"lab", "check", "--json", "--timeout", "500", "iso"});
  EXPECT_EQ(check.status, 1);
  const auto report = json::parse(check.out, nullptr, false);
  ASSERT_TRUE(report.is_object()) << check.out;
  EXPECT_EQ(report.value("passed", 0), 2);
  EXPECT_EQ(report.value("failed", 0), 1);
  const auto& checks = report.at("checks");
  ASSERT_EQ(checks.size(), 3u);
  EXPECT_TRUE(checks[0].value("passed", false)) << checks[0];
  EXPECT_FALSE(checks[0].value("reached", true)) << checks[0];
  EXPECT_TRUE(checks[1].value("reached", false)) << checks[1];
  EXPECT_FALSE(checks[2].value("passed", true)) << checks[2];

  const auto matrix = nsnet({"lab", "check", "--timeout", "500", "iso"});
  EXPECT_EQ(matrix.status, 1);
  EXPECT_NE(matrix.out.find("FAIL"), std::string::npos) << matrix.out;
  EXPECT_NE(matrix.out.find("2 passed, 1 failed"), std::string::npos) << matrix.out;
}

TEST_F(NsnetLabTest, ExecRunsInTheNodeOrPodAndPassesTheStatusOn) {
  ASSERT_EQ(nsnet({"lab", "up", "-q", (kLabExamples / "router.json").string()}).status, 0);
  const auto hostname = lab_exec("router", "r1", "hostname");
  EXPECT_EQ(hostname.status, 0) << hostname.err;
  EXPECT_EQ(hostname.out, "router\n");
  const auto addresses = lab_exec("router", "h3", "ip -br -4 addr show eth0");
  EXPECT_NE(addresses.out.find("10.0.3.2/24"), std::string::npos) << addresses.out;
  // The link options of the example: h3's link has MTU 1400, h2's a 100 Mbit/s tbf both ways.
  EXPECT_NE(lab_exec("router", "h3", "ip link show eth0").out.find("mtu 1400"), std::string::npos);
  for (const auto& [node, ifname] : {std::pair{"h2", "eth0"}, std::pair{"r1", "eth2"}}) {
    const auto qdisc = lab_exec("router", node, std::string("tc qdisc show dev ") + ifname);
    EXPECT_NE(qdisc.out.find("tbf"), std::string::npos) << qdisc.out;
    EXPECT_NE(qdisc.out.find("rate 100Mbit"), std::string::npos) << qdisc.out;
  }
  EXPECT_EQ(lab_exec("router", "h1", "exit 7").status, 7);
  const auto unknown = nsnet({"lab", "exec", "router", "h9", "--", "true"});
  EXPECT_EQ(unknown.status, 1);
  EXPECT_NE(unknown.err.find("no node h9"), std::string::npos) << unknown.err;
  EXPECT_EQ(nsnet({"lab", "exec", "nolab", "h1", "--", "true"}).status, 1);
}

TEST_F(NsnetLabTest, NodeCommandsRunInTheirNodeAndEndWithTheLab) {
  auto topology = json::parse(file_text(kLabExamples / "router.json"));
  topology["name"] = "cmds";
  topology["nodes"]["h3"]["commands"] = {{"sh", "-c", "hostname; exec sleep 600"}};
  ASSERT_EQ(nsnet({"lab", "up", "-q", topology_file(topology)}).status, 0);
  const auto state = json::parse(file_text(kLabRoot / "cmds" / "state.json"));
  ASSERT_EQ(state.at("processes").size(), 2u) << state;
  std::vector<pid_t> pids;
  for (const auto& p : state.at("processes")) pids.push_back(p.at("pid").get<pid_t>());
  const auto h3_net = std::filesystem::read_symlink("/proc/" + std::to_string(pids[1]) + "/ns/net");
  const auto log = kLabRoot / "cmds" / "log" / "h3.0.log";
  for (int i = 0; i < 200 && file_text(log).empty(); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(file_text(log), "h3\n");
  // The http.server of h2 answers h1 through the router.
  const auto get = lab_exec("cmds", "h1",
                            "for i in $(seq 50); do python3 -c 'import urllib.request as u; "
                            "u.urlopen(\"http://10.0.2.2:8000/\", timeout=1)' && exit 0; "
                            "sleep 0.1; done; exit 1");
  EXPECT_EQ(get.status, 0) << get.err;

  ASSERT_EQ(nsnet({"lab", "down", "cmds"}).status, 0);
  for (const pid_t pid : pids) {
    const auto status = file_text("/proc/" + std::to_string(pid) + "/stat");
    // Gone, or a zombie its (absent) parent never reaped.
    EXPECT_TRUE(status.empty() || status.find(") Z") != std::string::npos) << status;
  }
  EXPECT_FALSE(h3_net.empty());
}

// The harness as a multi-node test of the bridge plugin: pod-to-pod traffic across nodes keeps
// the pod's address (ipMasqExclude holds the cluster CIDR), traffic to anything else leaves
// masqueraded as the node's underlay address.
TEST_F(NsnetLabTest, ClusterTrafficKeepsPodAddressesAndMasqueradesTheRest) {
  for (const char* mode : {"host-gw", "vxlan"}) {
    SCOPED_TRACE(mode);
    const std::string name = std::string("masq-") + (mode[0] == 'h' ? "gw" : "vx");
    ASSERT_EQ(nsnet({"lab", "up", "-q", topology_file(cluster_topology(name, 2, 1, mode))}).status, 0);
    const auto state = json::parse(file_text(kLabRoot / name / "state.json"));
    const auto client = state.at("pods").at(0).at("attachments").at(0).at("addresses").at(0)
                            .get<std::string>();
    const auto server = state.at("pods").at(1).at("attachments").at(0).at("addresses").at(0)
                            .get<std::string>();
    const auto peer_of = [&](const std::string& where, const std::string& address) {
      // One connection: the server prints the address it came from.
      auto listener = start({"lab", "exec", name, where, "--", "python3", "-c",
                             "import socket; s = socket.create_server(('" + address +
                                 "', 7070)); print('ready', flush=True); c, a = s.accept(); "
                                 "print(a[0], flush=True)"});
      EXPECT_TRUE(listener.wait_for_output("ready", scaled(10s))) << listener.err();
      const auto connect = lab_exec(name, "n1/p1", "exec 3<>/dev/tcp/" + address + "/7070");
      EXPECT_EQ(connect.status, 0) << connect.err;
      const auto result = listener.wait(scaled(10s));
      return result.out.substr(result.out.find('\n') + 1);
    };
    EXPECT_EQ(peer_of("n2/p1", server.substr(0, server.find('/'))),
              client.substr(0, client.find('/')) + "\n");
    EXPECT_EQ(peer_of("n2", "192.168.80.2"), "192.168.80.1\n");
    ASSERT_EQ(nsnet({"lab", "down", name}).status, 0);
  }
}

TEST_F(NsnetLabTest, GraphDrawsTheRunningLab) {
  ASSERT_EQ(nsnet({"lab", "up", "-q", (kLabExamples / "hostgw-2nodes.json").string()}).status, 0);
  const auto dot = nsnet({"lab", "graph", "hostgw2"});
  ASSERT_EQ(dot.status, 0) << dot.err;
  EXPECT_TRUE(dot.out.starts_with("graph \"hostgw2\" {")) << dot.out;
  EXPECT_NE(dot.out.find("10.244.1.2/24"), std::string::npos) << dot.out;  // n2/web's address
  if (std::filesystem::exists("/usr/bin/dot")) {
    const auto svg = nsnet({"lab", "graph", "--svg", "hostgw2"});
    EXPECT_EQ(svg.status, 0) << svg.err;
    EXPECT_NE(svg.out.find("<svg"), std::string::npos);
  }
  EXPECT_EQ(nsnet({"lab", "graph", "nolab"}).status, 1);
}

TEST_F(NsnetLabTest, LabNamesFromTheCommandLineStayInsideTheLabRoot) {
  const auto victim = temp_dir() / "victim";
  std::filesystem::create_directories(victim / "ns");
  const auto relative = std::filesystem::relative(victim, kLabRoot).string();
  for (const char* verb : {"down", "check", "exec"}) {  // graph reads a path with a / as a file
    const auto result = verb == std::string("exec") ? nsnet({"lab", verb, relative, "n1", "--", "true"})
                                                   : nsnet({"lab", verb, relative});
    EXPECT_EQ(result.status, 1) << verb;
    EXPECT_NE(result.err.find("no lab can be called"), std::string::npos) << verb << result.err;
  }
  EXPECT_TRUE(std::filesystem::exists(victim / "ns"));
}

TEST_F(NsnetLabTest, HelpAndUsage) {
  const auto help = nsnet({"lab", "--help"});
  EXPECT_EQ(help.status, 0);
  for (const char* verb : {"up", "down", "ls", "exec", "check", "graph"}) {
    EXPECT_NE(help.out.find(std::string("  ") + verb), std::string::npos) << verb;
    const auto verb_help = nsnet({"lab", verb, "--help"});
    EXPECT_EQ(verb_help.status, 0) << verb;
    EXPECT_NE(verb_help.out.find("Usage: nsnet lab " + std::string(verb)), std::string::npos);
  }
  EXPECT_EQ(nsnet({"lab", "frobnicate"}).status, 2);
  EXPECT_EQ(nsnet({"lab", "up"}).status, 2);
  EXPECT_EQ(nsnet({"lab", "up", "--parallel", "0", "x.json"}).status, 2);
}

}  // namespace
}  // namespace nsnet::testing
