// portmap through its real binary, chained after a container made by hand in the sandbox:
//   container (eth0 10.77.0.2/24, fd77::2/64) -- veth -- host (10.77.0.1, fd77::1)
//   outside   (eth0 192.168.77.2/24, fd78::2/64) -- veth -- host (192.168.77.1, fd78::1)
// Published ports are reached from outside, from the host (its addresses and 127.0.0.1) and
// from the container itself (hairpin); the server in the container reports the source it saw,
// which shows what was masqueraded. Kernel state is read back with `nft -j`. A differential
// test runs the same through the reference plugin (nftables backend).

#include <netinet/in.h>
#include <sys/socket.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "netcore/fw/portmap.hpp"
#include "netcore/net/sysctl.hpp"
#include "support/plugin_runner.hpp"
#include "support/sandbox.hpp"
#include "support/socket_probe.hpp"

namespace {

namespace fs = std::filesystem;
namespace fw = netcore::fw;
namespace net = netcore::net;
using nlohmann::json;
using nsnet::testing::PluginRun;
using nsnet::testing::run_in_netns;
using nsnet::testing::tcp_peer;
using nsnet::testing::udp_peer;

constexpr int kMissTimeoutMs = 400;  // how long a connection that must not arrive is awaited
// Probes that should connect return as soon as they do; on a loaded machine the first IPv6
// connection (neighbour discovery, then the handshake) can take well over a second.
constexpr int kReachTimeoutMs = 3000;

class PortmapTest : public nsnet::testing::SandboxTest {
 protected:
  void SetUp() override {
    SandboxTest::SetUp();
    if (IsSkipped()) return;
    outside_.emplace(net::Netns::create());
    ctr_name_ = persist(*container_, "pmc");
    out_name_ = persist(*outside_, "pmx");
    // No DAD, not even for link-local addresses: a tentative one delays neighbour discovery
    // of forwarded IPv6 for seconds.
    for (const auto* netns : {&*host_, &*container_, &*outside_})
      (void)run_in_netns(*netns, "echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad");
    host_if_ = unique_name("pmh");
    out_if_ = unique_name("pmo");
    (void)run_in_netns(*host_,
                       "set -e; ip link set lo up;"
                       "ip link add " + host_if_ + " type veth peer name eth0 netns " + ctr_name_ +
                       "; ip link add " + out_if_ + " type veth peer name eth0 netns " + out_name_ +
                       "; ip addr add 10.77.0.1/24 dev " + host_if_ +
                       "; ip -6 addr add fd77::1/64 dev " + host_if_ + " nodad" +
                       "; ip addr add 192.168.77.1/24 dev " + out_if_ +
                       "; ip -6 addr add fd78::1/64 dev " + out_if_ + " nodad" +
                       "; ip link set " + host_if_ + " up; ip link set " + out_if_ + " up" +
                       "; echo 1 > /proc/sys/net/ipv4/ip_forward" +
                       "; echo 1 > /proc/sys/net/ipv6/conf/all/forwarding");
    (void)run_in_netns(*container_,
                       "set -e; ip link set lo up; ip addr add 10.77.0.2/24 dev eth0;"
                       "ip -6 addr add fd77::2/64 dev eth0 nodad; ip link set eth0 up;"
                       "ip route add default via 10.77.0.1; ip -6 route add default via fd77::1");
    (void)run_in_netns(*outside_,
                       "set -e; ip link set lo up; ip addr add 192.168.77.2/24 dev eth0;"
                       "ip -6 addr add fd78::2/64 dev eth0 nodad; ip link set eth0 up;"
                       "ip route add default via 192.168.77.1; ip -6 route add default via fd78::1");
  }
  void TearDown() override {
    for (const auto& name : persisted_) net::Netns::delete_persisted_if_exists(name);
    outside_.reset();
    SandboxTest::TearDown();
  }

  std::string persist(const net::Netns& netns, const std::string& prefix) {
    const std::string name = unique_name(prefix);
    netns.persist(name);
    persisted_.push_back(name);
    return name;
  }

  json prev_result() const {
    return {{"cniVersion", "1.0.0"},
            {"interfaces", {{{"name", host_if_}}, {{"name", "eth0"}, {"sandbox", ctr_path()}}}},
            {"ips",
             {{{"address", "10.77.0.2/24"}, {"gateway", "10.77.0.1"}, {"interface", 1}},
              {{"address", "fd77::2/64"}, {"gateway", "fd77::1"}, {"interface", 1}}}}};
  }
  std::string ctr_path() const { return "/run/netns/" + ctr_name_; }

  json config(const std::vector<json>& mappings, const json& extra = json::object()) const {
    json conf = {{"cniVersion", "1.0.0"},
                 {"name", "pmnet"},
                 {"type", "portmap"},
                 {"runtimeConfig", {{"portMappings", json(mappings)}}},
                 {"prevResult", prev_result()}};
    conf.merge_patch(extra);
    return conf;
  }

  PluginRun call(const std::string& command, const json& conf, const std::string& container_id = "ctr1",
                 const fs::path& dir = nsnet::testing::plugin_dir()) {
    const std::map<std::string, std::string> env = {
        {"CNI_CONTAINERID", container_id}, {"CNI_NETNS", ctr_path()}, {"CNI_IFNAME", "eth0"},
        {"PATH", "/usr/sbin:/usr/bin:/sbin:/bin"}};  // the reference runs iptables from PATH
    return host_->run(
        [&] { return nsnet::testing::exec_plugin(dir, "portmap", command, env, conf.dump()); });
  }

  std::vector<fw::PortmapEntry> entries() {
    return host_->run([] { return fw::list_portmap(); });
  }
  std::string host_sysctl(const std::string& key) {
    return host_->run([&] { return net::read_sysctl(key); });
  }

  // TCP and UDP servers on the container's port 80 (v4 and v6 listeners).
  struct Servers {
    netcore::UniqueFd tcp4, tcp6, udp4;
  };
  Servers serve(std::uint16_t port = 80) {
    Servers s{nsnet::testing::bound_socket(*container_, AF_INET, SOCK_STREAM, port),
              nsnet::testing::bound_socket(*container_, AF_INET6, SOCK_STREAM, port),
              nsnet::testing::bound_socket(*container_, AF_INET, SOCK_DGRAM, port)};
    EXPECT_GE(s.tcp4.get(), 0);
    EXPECT_GE(s.tcp6.get(), 0);
    EXPECT_GE(s.udp4.get(), 0);
    return s;
  }

  std::optional<net::Netns> outside_;
  std::string ctr_name_, out_name_, host_if_, out_if_;
  std::vector<std::string> persisted_;
};

json tcp(int host_port, int container_port, const json& extra = json::object()) {
  json m = {{"hostPort", host_port}, {"containerPort", container_port}, {"protocol", "tcp"}};
  m.merge_patch(extra);
  return m;
}

TEST_F(PortmapTest, PublishesTcpToOutsideHostLocalhostAndHairpin) {
  const auto servers = serve();
  const auto add = call("ADD", config({tcp(8080, 80)}));
  ASSERT_EQ(add.exit_code, 0) << add.out;
  EXPECT_EQ(add.json(), prev_result()) << "a chained plugin passes prevResult through";

  // From outside: DNATed, source kept.
  EXPECT_EQ(tcp_peer(*outside_, "192.168.77.1", 8080, servers.tcp4.get()), "192.168.77.2");
  EXPECT_EQ(tcp_peer(*outside_, "fd78::1", 8080, servers.tcp6.get()), "fd78::2");
  // From the host, to any of its addresses.
  EXPECT_EQ(tcp_peer(*host_, "192.168.77.1", 8080, servers.tcp4.get()), "192.168.77.1");
  EXPECT_EQ(tcp_peer(*host_, "fd77::1", 8080, servers.tcp6.get()), "fd77::1");
  // 127.0.0.1: routed out through route_localnet, masqueraded to the host end's address.
  EXPECT_EQ(host_sysctl("net/ipv4/conf/" + host_if_ + "/route_localnet"), "1");
  EXPECT_EQ(tcp_peer(*host_, "127.0.0.1", 8080, servers.tcp4.get()), "10.77.0.1");
  // Hairpin: the container reaches its own published port through the host, masqueraded.
  EXPECT_EQ(tcp_peer(*container_, "192.168.77.1", 8080, servers.tcp4.get()), "10.77.0.1");
  EXPECT_EQ(tcp_peer(*container_, "fd78::1", 8080, servers.tcp6.get()), "fd77::1");
  // An unpublished port stays closed.
  EXPECT_EQ(tcp_peer(*outside_, "192.168.77.1", 8081, servers.tcp4.get(), kMissTimeoutMs),
            std::nullopt);

  // Kernel state through nft itself: one map element per family, tagged with the attachment.
  const auto listing = json::parse(run_in_netns(*host_, "nft -j list table ip nsnet_portmap"));
  bool found = false;
  for (const auto& item : listing.at("nftables")) {
    if (!item.contains("map") || item["map"].value("name", "") != "hostport_dnat") continue;
    ASSERT_EQ(item["map"].at("elem").size(), 1u);
    const auto& elem = item["map"]["elem"][0];
    EXPECT_EQ(elem[0]["elem"]["val"], json({{"concat", {"tcp", 8080}}}));
    EXPECT_EQ(elem[0]["elem"]["comment"], fw::portmap_tag({"pmnet", "ctr1", "eth0"}));
    EXPECT_EQ(elem[1], json({{"concat", {"10.77.0.2", 80}}}));
    found = true;
  }
  EXPECT_TRUE(found);
  const auto v6 = run_in_netns(*host_, "nft list map ip6 nsnet_portmap hostport_dnat");
  EXPECT_NE(v6.find("tcp . 8080"), std::string::npos) << v6;
  EXPECT_NE(v6.find("fd77::2 . 80"), std::string::npos) << v6;

  // CHECK passes on what ADD made.
  const auto check = call("CHECK", config({tcp(8080, 80)}));
  EXPECT_EQ(check.exit_code, 0) << check.out;
}

TEST_F(PortmapTest, WithoutMappingsPassesThroughAndTouchesNothing) {
  json conf = config({});
  conf.erase("runtimeConfig");
  const auto add = call("ADD", conf);
  ASSERT_EQ(add.exit_code, 0) << add.out;
  EXPECT_EQ(add.json(), prev_result());
  EXPECT_EQ(run_in_netns(*host_, "nft list tables").find("nsnet_portmap"), std::string::npos);
  EXPECT_EQ(call("CHECK", conf).exit_code, 0);
  json status = {{"cniVersion", "1.1.0"}, {"name", "pmnet"}, {"type", "portmap"}};
  EXPECT_EQ(call("STATUS", status).exit_code, 0);
}

TEST_F(PortmapTest, DelWithoutPortMappingsRemovesEverything) {
  const auto servers = serve();
  ASSERT_EQ(call("ADD", config({tcp(8080, 80), tcp(9090, 80, {{"hostIP", "192.168.77.1"}})}))
                .exit_code,
            0);
  EXPECT_FALSE(entries().empty());
  // The runtime sends neither portMappings nor prevResult on DEL, and no netns.
  json del = {{"cniVersion", "1.0.0"}, {"name", "pmnet"}, {"type", "portmap"}};
  const std::map<std::string, std::string> env = {{"CNI_CONTAINERID", "ctr1"},
                                                  {"CNI_NETNS", ""},
                                                  {"CNI_IFNAME", "eth0"}};
  for (int i = 0; i < 2; ++i) {  // idempotent
    const auto run = host_->run([&] {
      return nsnet::testing::exec_plugin(nsnet::testing::plugin_dir(), "portmap", "DEL", env,
                                         del.dump());
    });
    EXPECT_EQ(run.exit_code, 0) << run.out;
  }
  EXPECT_TRUE(entries().empty());
  EXPECT_EQ(tcp_peer(*outside_, "192.168.77.1", 8080, servers.tcp4.get(), kMissTimeoutMs),
            std::nullopt);
  // CHECK now fails: the rules are gone.
  EXPECT_NE(call("CHECK", config({tcp(8080, 80)})).exit_code, 0);
}

TEST_F(PortmapTest, UdpReachesContainerAndStaleConntrackIsFlushed) {
  const auto servers = serve(53);
  // A client that talks to the host port before it is published leaves an un-NATed conntrack
  // entry for its flow (source port 40053).
  EXPECT_EQ(udp_peer(*outside_, "192.168.77.1", 5353, servers.udp4.get(), 40053, kMissTimeoutMs),
            std::nullopt);
  const json mapping = {{"hostPort", 5353}, {"containerPort", 53}, {"protocol", "UDP"}};
  const auto add = call("ADD", config({mapping}));
  ASSERT_EQ(add.exit_code, 0) << add.out;
  // The same flow now reaches the container: ADD deleted the stale entry.
  EXPECT_EQ(udp_peer(*outside_, "192.168.77.1", 5353, servers.udp4.get(), 40053),
            "192.168.77.2");
}

TEST_F(PortmapTest, HostIpRestrictsTheAddress) {
  const auto servers = serve();
  ASSERT_EQ(call("ADD", config({tcp(8080, 80, {{"hostIP", "192.168.77.1"}})})).exit_code, 0);
  EXPECT_EQ(tcp_peer(*outside_, "192.168.77.1", 8080, servers.tcp4.get()), "192.168.77.2");
  EXPECT_EQ(tcp_peer(*host_, "10.77.0.1", 8080, servers.tcp4.get(), kMissTimeoutMs), std::nullopt);
  // IPv4-only hostIP: nothing published on IPv6.
  EXPECT_EQ(tcp_peer(*outside_, "fd78::1", 8080, servers.tcp6.get(), kMissTimeoutMs), std::nullopt);
  EXPECT_EQ(call("CHECK", config({tcp(8080, 80, {{"hostIP", "192.168.77.1"}})})).exit_code, 0);
  // CHECK with other mappings than ADD's fails.
  EXPECT_NE(call("CHECK", config({tcp(8080, 80)})).exit_code, 0);
}

TEST_F(PortmapTest, ConditionsLimitWhoIsDnated) {
  const auto servers = serve();
  const json extra = {{"conditionsV4", {"ip saddr 192.168.77.0/24"}},
                      {"conditionsV6", {"ip6 saddr fd78::/64"}}};
  const auto add = call("ADD", config({tcp(8080, 80)}, extra));
  ASSERT_EQ(add.exit_code, 0) << add.out;
  EXPECT_EQ(tcp_peer(*outside_, "192.168.77.1", 8080, servers.tcp4.get()), "192.168.77.2");
  EXPECT_EQ(tcp_peer(*outside_, "fd78::1", 8080, servers.tcp6.get()), "fd78::2");
  // The host's own connections do not match the conditions.
  EXPECT_EQ(tcp_peer(*host_, "10.77.0.1", 8080, servers.tcp4.get(), kMissTimeoutMs), std::nullopt);
  EXPECT_EQ(call("CHECK", config({tcp(8080, 80)}, extra)).exit_code, 0);
  ASSERT_EQ(call("DEL", config({tcp(8080, 80)}, extra)).exit_code, 0);
  EXPECT_TRUE(entries().empty());
  const auto chains = run_in_netns(*host_, "nft list table ip nsnet_portmap");
  EXPECT_EQ(chains.find("chain pm_"), std::string::npos) << chains;
}

TEST_F(PortmapTest, MasqAllMasqueradesOutsideClientsAndSnatFalseDoesNot) {
  const auto servers = serve();
  ASSERT_EQ(call("ADD", config({tcp(8080, 80)}, {{"masqAll", true}})).exit_code, 0);
  EXPECT_EQ(tcp_peer(*outside_, "192.168.77.1", 8080, servers.tcp4.get()), "10.77.0.1");
  ASSERT_EQ(call("DEL", config({tcp(8080, 80)})).exit_code, 0);

  ASSERT_EQ(call("ADD", config({tcp(8080, 80)}, {{"snat", false}})).exit_code, 0);
  EXPECT_EQ(tcp_peer(*outside_, "192.168.77.1", 8080, servers.tcp4.get()), "192.168.77.2");
  for (const auto& e : entries())
    EXPECT_TRUE(e.object != "snat_hairpin" && e.object != "snat_local" && e.object != "masq_all")
        << e.object << " " << e.key;
}

TEST_F(PortmapTest, GcRemovesOnlyAttachmentsNotInTheValidSet) {
  const auto servers = serve();
  ASSERT_EQ(call("ADD", config({tcp(8080, 80)}), "keep").exit_code, 0);
  ASSERT_EQ(call("ADD", config({tcp(8081, 80)}), "gone").exit_code, 0);
  json other = config({tcp(8082, 80)});
  other["name"] = "othernet";
  ASSERT_EQ(call("ADD", other, "gone").exit_code, 0);

  json gc = {{"cniVersion", "1.1.0"},
             {"name", "pmnet"},
             {"type", "portmap"},
             {"cni.dev/valid-attachments", {{{"containerID", "keep"}, {"ifname", "eth0"}}}}};
  const auto run = host_->run([&] {
    return nsnet::testing::exec_plugin(nsnet::testing::plugin_dir(), "portmap", "GC", {},
                                       gc.dump());
  });
  ASSERT_EQ(run.exit_code, 0) << run.out;
  std::set<std::string> tags;
  for (const auto& e : entries()) tags.insert(e.tag);
  EXPECT_EQ(tags, (std::set<std::string>{fw::portmap_tag({"pmnet", "keep", "eth0"}),
                                         fw::portmap_tag({"othernet", "gone", "eth0"})}));
  EXPECT_EQ(tcp_peer(*outside_, "192.168.77.1", 8080, servers.tcp4.get()), "192.168.77.2");
  EXPECT_EQ(tcp_peer(*outside_, "192.168.77.1", 8081, servers.tcp4.get(), kMissTimeoutMs),
            std::nullopt);
}

TEST_F(PortmapTest, BadConfigsFailWithTheirCodeAndLeaveNothing) {
  struct Case {
    std::string what;
    json conf;
    int code;
  };
  const json good = config({tcp(8080, 80)});
  auto with = [&](const json& patch) {
    json c = good;
    c.merge_patch(patch);
    return c;
  };
  auto mapping = [&](const json& m) { return config({m}); };
  json no_prev = good;
  no_prev.erase("prevResult");
  const std::vector<Case> cases = {
      {"iptables backend", with({{"backend", "iptables"}}), 2},
      {"unknown backend", with({{"backend", "pf"}}), 7},
      {"markMasqBit", with({{"markMasqBit", 13}}), 2},
      {"externalSetMarkChain", with({{"externalSetMarkChain", "KUBE-MARK-MASQ"}}), 2},
      {"iptables conditions", with({{"conditionsV4", {"-s 10.0.0.0/8"}}}), 2},
      {"host port 0", mapping(tcp(0, 80)), 7},
      {"host port 70000", mapping(tcp(70000, 80)), 7},
      {"container port -1", mapping(tcp(8080, -1)), 7},
      {"protocol icmp", mapping(tcp(8080, 80, {{"protocol", "icmp"}})), 7},
      {"bad hostIP", mapping(tcp(8080, 80, {{"hostIP", "300.1.1.1"}})), 7},
      {"duplicate", config({tcp(8080, 80), tcp(8080, 81)}), 7},
      {"no prevResult", no_prev, 7},
      {"condition injecting a command", with({{"conditionsV4", {"ip saddr 1.2.3.4; flush ruleset"}}}), 7},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    const auto run = call("ADD", c.conf);
    EXPECT_EQ(run.exit_code, 1);
    EXPECT_EQ(run.json().value("code", 0), c.code) << run.out;
    EXPECT_TRUE(entries().empty());
  }
  // A condition nft refuses fails the whole batch: nothing half-made.
  const auto run = call("ADD", with({{"conditionsV4", {"ip frobnicate 3"}}}));
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_TRUE(entries().empty());
}

// The reference plugin and ours, the same mappings, the same probes: what is reachable, and the
// source the container sees, must agree. Debian's reference (1.1.1) predates the nftables
// backend: it ignores "backend" and programs iptables (iptables-nft here), in the sandbox.
TEST_F(PortmapTest, DifferentialDataPathMatchesReference) {
  if (!fs::exists(nsnet::testing::kReferencePluginDir / "portmap"))
    GTEST_SKIP() << "reference portmap not installed";
  const auto servers = serve();
  const std::vector<json> mappings = {tcp(8080, 80), tcp(9090, 80, {{"hostIP", "192.168.77.1"}})};
  auto probe = [&] {
    std::vector<std::optional<std::string>> seen;
    seen.push_back(tcp_peer(*outside_, "192.168.77.1", 8080, servers.tcp4.get(), kReachTimeoutMs));
    seen.push_back(tcp_peer(*outside_, "fd78::1", 8080, servers.tcp6.get(), kReachTimeoutMs));
    seen.push_back(tcp_peer(*outside_, "192.168.77.1", 9090, servers.tcp4.get(), kReachTimeoutMs));
    seen.push_back(tcp_peer(*host_, "10.77.0.1", 8080, servers.tcp4.get(), kReachTimeoutMs));
    seen.push_back(tcp_peer(*host_, "10.77.0.1", 9090, servers.tcp4.get(), kMissTimeoutMs));
    seen.push_back(tcp_peer(*host_, "127.0.0.1", 8080, servers.tcp4.get(), kReachTimeoutMs));
    seen.push_back(tcp_peer(*container_, "192.168.77.1", 8080, servers.tcp4.get(), kReachTimeoutMs));
    return seen;
  };
  const json conf = config(mappings, {{"backend", "nftables"}});
  const auto ref_add = call("ADD", conf, "ctr1", nsnet::testing::kReferencePluginDir);
  ASSERT_EQ(ref_add.exit_code, 0) << ref_add.out << ref_add.err;
  const auto reference = probe();
  ASSERT_EQ(call("DEL", conf, "ctr1", nsnet::testing::kReferencePluginDir).exit_code, 0);

  const auto add = call("ADD", conf);
  ASSERT_EQ(add.exit_code, 0) << add.out;
  const auto ours = probe();
  EXPECT_EQ(ours, reference);
  EXPECT_EQ(ours[0], "192.168.77.2");
}

}  // namespace
