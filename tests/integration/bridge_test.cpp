// bridge through its real binary, with host-local as its IPAM (run in-process by the multi-call
// binary): every spec version, kernel state on both sides, traffic across the bridge,
// masquerade and MAC spoof checks by rule and by packet, DEL without context, zero residue after
// failed ADDs, and config errors with their codes.

#include <arpa/inet.h>
#include <net/if.h>  // before linux/if.h, which then defers to it
#include <linux/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "netcore/base/unique_fd.hpp"
#include "netcore/cni/version.hpp"
#include "netcore/fw/mac_spoof.hpp"
#include "netcore/fw/masquerade.hpp"
#include "netcore/net/address.hpp"
#include "netcore/net/link.hpp"
#include "netcore/net/netlink.hpp"
#include "netcore/net/route.hpp"
#include "netcore/net/sysctl.hpp"
#include "support/ipam_files.hpp"
#include "support/plugin_runner.hpp"
#include "support/sandbox.hpp"

namespace {

namespace fs = std::filesystem;
namespace net = netcore::net;
using netcore::UniqueFd;
using netcore::cni::version_at_least;
using nlohmann::json;
using nsnet::testing::PluginRun;

class BridgeTest : public nsnet::testing::SandboxTest {
 protected:
  void SetUp() override {
    SandboxTest::SetUp();
    if (IsSkipped()) return;
    bridge_ = unique_name("br");
    netns_path_ = persist(*container_, "c");
  }
  void TearDown() override {
    for (const auto& name : persisted_) net::Netns::delete_persisted_if_exists(name);
    extra_.clear();
    SandboxTest::TearDown();
  }

  // Persists `netns` under /run/netns with a unique name; returns its path.
  std::string persist(const net::Netns& netns, const std::string& prefix) {
    const std::string name = unique_name(prefix + std::to_string(persisted_.size()));
    netns.persist(name);
    persisted_.push_back(name);
    return "/run/netns/" + name;
  }
  // Another container namespace; returns its path.
  std::string add_container() {
    extra_.push_back(net::Netns::create());
    return persist(extra_.back(), "x");
  }

  json config(const std::string& version, const json& extra = json::object()) {
    json conf = {{"cniVersion", version},
                 {"name", "brnet"},
                 {"type", "bridge"},
                 {"bridge", bridge_},
                 {"isGateway", true},
                 {"ipam",
                  {{"type", "host-local"},
                   {"dataDir", (temp_dir() / "ipam").string()},
                   {"ranges", {{{{"subnet", "10.62.0.0/24"}}}}}}}};
    conf.merge_patch(extra);
    return conf;
  }

  // Runs the plugin from inside the test's "host" namespace, as a runtime on that host would.
  PluginRun call(const std::string& command, const json& conf,
                 std::map<std::string, std::string> env = {}) {
    env.emplace("CNI_CONTAINERID", "ctr1");
    env.emplace("CNI_NETNS", netns_path_);
    env.emplace("CNI_IFNAME", "eth0");
    return host_->run([&] {
      return nsnet::testing::exec_plugin(nsnet::testing::plugin_dir(), "bridge", command, env,
                                         conf.dump());
    });
  }
  PluginRun check(json conf, const PluginRun& add, std::map<std::string, std::string> env = {}) {
    conf["prevResult"] = add.json();
    return call("CHECK", conf, std::move(env));
  }

  net::Netlink host_nl() { return host_->run([] { return net::Netlink::connect(); }); }
  net::Netlink ctr_nl() { return container_->run([] { return net::Netlink::connect(); }); }

  std::vector<net::LinkInfo> host_veths() {
    std::vector<net::LinkInfo> out;
    for (const auto& l : net::list_links(host_nl()))
      if (l.kind == "veth") out.push_back(l);
    return out;
  }
  size_t reservations() {
    return nsnet::testing::reserved_addresses(temp_dir() / "ipam" / "brnet").size();
  }
  std::vector<netcore::fw::MasqueradeEntry> masquerade() {
    return host_->run([] { return netcore::fw::list_masquerade("brnet"); });
  }
  std::vector<netcore::fw::MacSpoofEntry> spoof_checks() {
    return host_->run([] { return netcore::fw::list_mac_spoof_checks(); });
  }

  std::string bridge_;
  std::string netns_path_;
  std::vector<std::string> persisted_;
  std::deque<net::Netns> extra_;
};

// A TCP connection from `from` to addr:port, where a listener in `to` accepts it; returns the
// peer address the listener saw, or "" when the connection failed within 1.5 s.
std::string bridge_tcp_source(const net::Netns& from, const net::Netns& to, const std::string& addr,
                              std::uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  ::inet_pton(AF_INET, addr.c_str(), &sa.sin_addr);
  UniqueFd listener = to.run([&] {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    const int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0) << addr;
    EXPECT_EQ(::listen(fd.get(), 4), 0);
    return fd;
  });
  const bool connected = from.run([&] {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 &&
        errno != EINPROGRESS)
      return false;
    pollfd pfd{.fd = fd.get(), .events = POLLOUT, .revents = 0};
    int error = 0;
    socklen_t len = sizeof error;
    return ::poll(&pfd, 1, 1500) == 1 &&
           ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &len) == 0 && error == 0;
  });
  if (!connected) return "";
  sockaddr_in peer{};
  socklen_t len = sizeof peer;
  UniqueFd conn(::accept4(listener.get(), reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC));
  if (!conn) return "";
  char text[INET_ADDRSTRLEN];
  return ::inet_ntop(AF_INET, &peer.sin_addr, text, sizeof text);
}

TEST_F(BridgeTest, LifecycleInEverySpecVersion) {
  for (const auto& version : netcore::cni::all_spec_versions()) {
    SCOPED_TRACE(version);
    const auto conf = config(version, {{"mtu", 1400}, {"isDefaultGateway", true}});
    const auto add = call("ADD", conf);
    ASSERT_EQ(add.exit_code, 0) << add.out;
    const auto result = add.json();
    EXPECT_EQ(result.at("cniVersion"), version);
    std::string host_name;
    if (version_at_least(version, "0.3.0")) {
      ASSERT_EQ(result.at("interfaces").size(), 3u);
      EXPECT_EQ(result["interfaces"][0].at("name"), bridge_);
      EXPECT_FALSE(result["interfaces"][0].contains("sandbox"));
      host_name = result["interfaces"][1].at("name");
      EXPECT_TRUE(host_name.starts_with("veth"));
      EXPECT_EQ(result["interfaces"][2].at("name"), "eth0");
      EXPECT_EQ(result["interfaces"][2].at("sandbox"), netns_path_);
      ASSERT_EQ(result.at("ips").size(), 1u);
      EXPECT_EQ(result["ips"][0].at("interface"), 2);
      EXPECT_EQ(result["ips"][0].at("address"), "10.62.0.2/24");
      EXPECT_EQ(result["ips"][0].at("gateway"), "10.62.0.1");
      EXPECT_EQ(result.at("routes"), json::parse(R"([{"dst":"0.0.0.0/0","gw":"10.62.0.1"}])"));
    } else {
      EXPECT_EQ(result.at("ip4").at("ip"), "10.62.0.2/24");
      EXPECT_EQ(result.at("ip4").at("gateway"), "10.62.0.1");
    }

    // Container: the address with its subnet route, the default route, MTU, sysctls.
    const auto cnl = ctr_nl();
    const auto eth0 = net::get_link(cnl, "eth0");
    EXPECT_TRUE(eth0.up);
    EXPECT_EQ(eth0.kind, "veth");
    EXPECT_EQ(eth0.mtu, 1400u);
    const auto addresses = net::list_addresses(cnl, eth0.index, AF_INET);
    ASSERT_EQ(addresses.size(), 1u);
    EXPECT_EQ(addresses[0].prefix.to_string(), "10.62.0.2/24");
    std::set<std::string> routes;
    for (const auto& r : net::list_routes(cnl, AF_INET, eth0.index))
      routes.insert(r.dst.to_string() + (r.gateway ? " via " + r.gateway->to_string() : ""));
    EXPECT_EQ(routes, (std::set<std::string>{"10.62.0.0/24", "0.0.0.0/0 via 10.62.0.1"}));
    container_->run([] {
      EXPECT_EQ(net::read_sysctl("net/ipv6/conf/eth0/accept_dad"), "0");
      EXPECT_EQ(net::read_sysctl("net/ipv4/conf/eth0/arp_notify"), "1");
    });

    // Host: the bridge with the gateway, the host end on it, up, forwarding on.
    const auto hnl = host_nl();
    const auto bridge = net::get_link(hnl, bridge_);
    EXPECT_EQ(bridge.kind, "bridge");
    EXPECT_EQ(bridge.mtu, 1400u);
    EXPECT_EQ(net::list_addresses(hnl, bridge.index, AF_INET).at(0).prefix.to_string(),
              "10.62.0.1/24");
    const auto veths = host_veths();
    ASSERT_EQ(veths.size(), 1u);
    if (!host_name.empty()) {
      EXPECT_EQ(veths[0].name, host_name);
    }
    EXPECT_EQ(veths[0].master_index, bridge.index);
    EXPECT_EQ(veths[0].operstate, IF_OPER_UP);
    EXPECT_EQ(veths[0].mtu, 1400u);
    EXPECT_EQ(veths[0].index, eth0.link_index);
    host_->run([] { EXPECT_EQ(net::read_sysctl("net/ipv4/ip_forward"), "1"); });
    if (version_at_least(version, "0.3.0")) {
      EXPECT_EQ(result["interfaces"][0].at("mac"), bridge.mac.to_string());
      EXPECT_EQ(result["interfaces"][1].at("mac"), veths[0].mac.to_string());
      EXPECT_EQ(result["interfaces"][2].at("mac"), eth0.mac.to_string());
    }

    if (version_at_least(version, "0.4.0")) {
      const auto checked = check(conf, add);
      EXPECT_EQ(checked.exit_code, 0) << checked.out;
    }
    for (int i = 0; i < 2; ++i) EXPECT_EQ(call("DEL", conf).exit_code, 0);
    EXPECT_FALSE(net::find_link(ctr_nl(), "eth0"));
    EXPECT_TRUE(host_veths().empty());
    EXPECT_TRUE(net::find_link(host_nl(), bridge_));  // the bridge stays, like the reference's
    EXPECT_EQ(reservations(), 0u);
    fs::remove_all(temp_dir() / "ipam");  // restart round-robin: each version gets .2
  }
}

TEST_F(BridgeTest, KernelStateSeenByIpMatches) {
  const auto conf = config("1.1.0", {{"hairpinMode", true}, {"portIsolation", true}});
  const auto add = call("ADD", conf);
  ASSERT_EQ(add.exit_code, 0) << add.out;
  const std::string host_name = add.json()["interfaces"][1].at("name");
  const auto link = json::parse(
      nsnet::testing::run_in_netns(*host_, "ip -j -d link show dev " + host_name)).at(0);
  EXPECT_EQ(link.at("master"), bridge_);
  EXPECT_EQ(link.at("operstate"), "UP");
  EXPECT_EQ(link.at("linkinfo").at("info_slave_kind"), "bridge");
  EXPECT_EQ(link.at("linkinfo").at("info_slave_data").at("hairpin"), true);
  EXPECT_EQ(link.at("linkinfo").at("info_slave_data").at("isolated"), true);
  const auto addr = json::parse(nsnet::testing::run_in_netns(*container_, "ip -j addr show eth0"));
  bool found = false;
  for (const auto& a : addr.at(0).at("addr_info"))
    found |= a.at("local") == "10.62.0.2" && a.at("prefixlen") == 24;
  EXPECT_TRUE(found) << addr.dump();
  EXPECT_EQ(call("DEL", conf).exit_code, 0);
}

TEST_F(BridgeTest, TcpToTheGatewayAndBetweenContainers) {
  const auto conf = config("1.1.0");
  ASSERT_EQ(call("ADD", conf).exit_code, 0);
  const auto second = add_container();
  ASSERT_EQ(call("ADD", conf, {{"CNI_CONTAINERID", "ctr2"}, {"CNI_NETNS", second}}).exit_code, 0);
  EXPECT_EQ(host_veths().size(), 2u);
  EXPECT_EQ(bridge_tcp_source(*container_, *host_, "10.62.0.1", 7101), "10.62.0.2");
  EXPECT_EQ(bridge_tcp_source(*container_, extra_.back(), "10.62.0.3", 7102), "10.62.0.2");
  EXPECT_EQ(bridge_tcp_source(extra_.back(), *container_, "10.62.0.2", 7103), "10.62.0.3");
  EXPECT_EQ(call("DEL", conf).exit_code, 0);
  EXPECT_EQ(call("DEL", conf, {{"CNI_CONTAINERID", "ctr2"}, {"CNI_NETNS", second}}).exit_code, 0);
  EXPECT_TRUE(host_veths().empty());
  EXPECT_EQ(reservations(), 0u);
}

TEST_F(BridgeTest, PortIsolationSeparatesContainersButNotTheGateway) {
  const auto conf = config("1.1.0", {{"portIsolation", true}});
  ASSERT_EQ(call("ADD", conf).exit_code, 0);
  const auto second = add_container();
  ASSERT_EQ(call("ADD", conf, {{"CNI_CONTAINERID", "ctr2"}, {"CNI_NETNS", second}}).exit_code, 0);
  EXPECT_EQ(bridge_tcp_source(*container_, *host_, "10.62.0.1", 7111), "10.62.0.2");
  EXPECT_EQ(bridge_tcp_source(*container_, extra_.back(), "10.62.0.3", 7112), "");
}

TEST_F(BridgeTest, MasqueradeByRuleAndByPacket) {
  // An "outside" namespace behind the host, which has no route back to the containers.
  net::Netns outside = net::Netns::create();
  const auto hnl = host_nl();
  const auto uplink = net::create_veth(
      hnl, {.name = unique_name("up"), .peer_name = "eth0", .peer_netns = &outside});
  net::add_address(hnl, uplink.index, net::Prefix::parse("198.18.0.1/24"));
  net::set_up(hnl, uplink.index);
  const auto onl = outside.run([] { return net::Netlink::connect(); });
  const auto out_eth0 = net::get_link(onl, "eth0");
  net::add_address(onl, out_eth0.index, net::Prefix::parse("198.18.0.2/24"));
  net::set_up(onl, out_eth0.index);

  const auto conf = config("1.1.0", {{"isDefaultGateway", true}, {"ipMasq", true},
                                     {"ipMasqExclude", {"198.18.1.0/24"}}});
  const auto add = call("ADD", conf);
  ASSERT_EQ(add.exit_code, 0) << add.out;
  const auto entries = masquerade();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].address.to_string(), "10.62.0.2");
  EXPECT_EQ(entries[0].attachment, "ctr1/eth0");
  EXPECT_EQ(bridge_tcp_source(*container_, outside, "198.18.0.2", 7121), "198.18.0.1");
  EXPECT_EQ(check(conf, add).exit_code, 0);

  // Tampering is noticed by CHECK.
  host_->run([] { netcore::fw::remove_masquerade({"brnet", "ctr1", "eth0"}); });
  EXPECT_NE(check(conf, add).exit_code, 0);
  EXPECT_EQ(call("DEL", conf).exit_code, 0);
}

TEST_F(BridgeTest, MacSpoofCheckDropsForeignSourceMacs) {
  const auto conf = config("1.1.0", {{"macspoofchk", true}});
  const auto add = call("ADD", conf);
  ASSERT_EQ(add.exit_code, 0) << add.out;
  const auto result = add.json();
  const auto checks = spoof_checks();
  ASSERT_EQ(checks.size(), 1u);
  EXPECT_EQ(checks[0].port, result["interfaces"][1].at("name").get<std::string>());
  EXPECT_EQ(checks[0].mac->to_string(), result["interfaces"][2].at("mac").get<std::string>());
  EXPECT_EQ(bridge_tcp_source(*container_, *host_, "10.62.0.1", 7131), "10.62.0.2");
  EXPECT_EQ(check(conf, add).exit_code, 0);

  // The container takes another MAC: its frames no longer enter the bridge.
  const auto cnl = ctr_nl();
  const auto eth0 = net::get_link(cnl, "eth0");
  net::set_mac(cnl, eth0.index, net::MacAddress::parse("02:00:00:00:be:ef"));
  EXPECT_EQ(bridge_tcp_source(*container_, *host_, "10.62.0.1", 7132), "");
  EXPECT_NE(check(conf, add).exit_code, 0);  // the MAC differs from prevResult's
  net::set_mac(cnl, eth0.index, eth0.mac);
  EXPECT_EQ(bridge_tcp_source(*container_, *host_, "10.62.0.1", 7133), "10.62.0.2");

  EXPECT_EQ(call("DEL", conf).exit_code, 0);
  EXPECT_TRUE(spoof_checks().empty());
}

TEST_F(BridgeTest, DelReleasesEverythingWithoutNetnsOrPrevResult) {
  const auto conf = config("1.1.0", {{"ipMasq", true}, {"macspoofchk", true}});
  ASSERT_EQ(call("ADD", conf).exit_code, 0);
  EXPECT_EQ(masquerade().size(), 1u);
  EXPECT_EQ(spoof_checks().size(), 1u);
  // The runtime removed the namespace first, and passes neither it nor prevResult.
  container_.reset();
  for (const auto& name : persisted_) net::Netns::delete_persisted_if_exists(name);
  EXPECT_EQ(call("DEL", conf, {{"CNI_NETNS", ""}}).exit_code, 0);
  EXPECT_TRUE(masquerade().empty());
  EXPECT_TRUE(spoof_checks().empty());
  EXPECT_EQ(reservations(), 0u);
  // The kernel tears a dropped namespace down asynchronously; its veth pair goes with it.
  for (int i = 0; i < 200 && !host_veths().empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(host_veths().empty());
  EXPECT_EQ(call("DEL", conf).exit_code, 0);  // a gone path, a second time
}

TEST_F(BridgeTest, FailedAddLeavesNothingBehind) {
  // A /30 holds one address: the second ADD fails inside IPAM, after the veth and spoof check.
  auto conf = config("1.1.0", {{"ipMasq", true}, {"macspoofchk", true}});
  conf["ipam"]["ranges"] = {{{{"subnet", "10.62.0.0/30"}}}};
  const auto before_first = net::list_links(host_nl()).size();
  ASSERT_EQ(call("ADD", conf).exit_code, 0);
  const auto second = add_container();
  const auto add = call("ADD", conf, {{"CNI_CONTAINERID", "ctr2"}, {"CNI_NETNS", second}});
  EXPECT_NE(add.exit_code, 0);
  EXPECT_EQ(host_veths().size(), 1u);
  EXPECT_EQ(reservations(), 1u);
  EXPECT_EQ(masquerade().size(), 1u);
  EXPECT_EQ(spoof_checks().size(), 1u);
  const auto ctr2 = extra_.back().run([] { return net::Netlink::connect(); });
  EXPECT_FALSE(net::find_link(ctr2, "eth0"));
  // An interface name taken in the container: refused before anything is made.
  const auto again = call("ADD", conf, {{"CNI_CONTAINERID", "ctr3"}});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.json().value("msg", "").find("already exists"), std::string::npos) << again.out;
  EXPECT_EQ(reservations(), 1u);
  EXPECT_EQ(call("DEL", conf).exit_code, 0);

  // A bridge this ADD created goes with its failure: IPAM refuses a bad subnet.
  auto fresh = config("1.1.0", {{"bridge", unique_name("nb")}});
  fresh["ipam"]["ranges"] = {{{{"subnet", "10.62.9.1/24"}}}};  // host bits set
  EXPECT_NE(call("ADD", fresh).exit_code, 0);
  EXPECT_EQ(net::list_links(host_nl()).size(), before_first + 1);  // only bridge_ is left
  EXPECT_TRUE(spoof_checks().empty());
}

TEST_F(BridgeTest, GatewayAddressConflictFailsAfterIpamAndUndoesIt) {
  const auto hnl = host_nl();
  const auto bridge = net::ensure_bridge(hnl, {.name = bridge_});
  net::add_address(hnl, bridge.index, net::Prefix::parse("10.62.0.254/24"));
  const auto conf = config("1.1.0");
  const auto add = call("ADD", conf);
  EXPECT_NE(add.exit_code, 0);
  EXPECT_NE(add.json().value("msg", "").find("already has an IP address"), std::string::npos)
      << add.out;
  EXPECT_EQ(reservations(), 0u);
  EXPECT_TRUE(host_veths().empty());
  EXPECT_FALSE(net::find_link(ctr_nl(), "eth0"));
  EXPECT_TRUE(net::find_link(host_nl(), bridge_));  // it was not ours to delete

  // forceAddress replaces the bridge's address.
  const auto forced = call("ADD", config("1.1.0", {{"forceAddress", true}}));
  ASSERT_EQ(forced.exit_code, 0) << forced.out;
  const auto addresses = net::list_addresses(host_nl(), bridge.index, AF_INET);
  ASSERT_EQ(addresses.size(), 1u);
  EXPECT_EQ(addresses[0].prefix.to_string(), "10.62.0.1/24");
}

TEST_F(BridgeTest, DualStackGetsBothFamiliesWithoutDad) {
  auto conf = config("1.1.0", {{"isDefaultGateway", true}});
  conf["ipam"]["ranges"] = {{{{"subnet", "10.62.0.0/24"}}}, {{{"subnet", "fd62::/64"}}}};
  const auto add = call("ADD", conf);
  ASSERT_EQ(add.exit_code, 0) << add.out;
  const auto result = add.json();
  ASSERT_EQ(result.at("ips").size(), 2u);
  EXPECT_EQ(result["ips"][1].at("address"), "fd62::2/64");
  EXPECT_EQ(result["ips"][1].at("gateway"), "fd62::1");
  EXPECT_EQ(result.at("routes").size(), 2u);
  const auto cnl = ctr_nl();
  const auto eth0 = net::get_link(cnl, "eth0");
  bool v6 = false;
  for (const auto& a : net::list_addresses(cnl, eth0.index, AF_INET6)) {
    if (a.prefix.to_string() != "fd62::2/64") continue;
    v6 = true;
    EXPECT_EQ(a.flags & IFA_F_TENTATIVE, 0u);  // usable at once: no DAD
  }
  EXPECT_TRUE(v6);
  const auto bridge = net::get_link(host_nl(), bridge_);
  bool gw6 = false;
  for (const auto& a : net::list_addresses(host_nl(), bridge.index, AF_INET6))
    gw6 |= a.prefix.to_string() == "fd62::1/64";
  EXPECT_TRUE(gw6);
  host_->run([] { EXPECT_EQ(net::read_sysctl("net/ipv6/conf/all/forwarding"), "1"); });
  EXPECT_EQ(check(conf, add).exit_code, 0);
  EXPECT_EQ(call("DEL", conf).exit_code, 0);
}

TEST_F(BridgeTest, EnableDadTurnsDuplicateDetectionOn) {
  auto conf = config("1.1.0", {{"enabledad", true}});
  conf["ipam"]["ranges"] = {{{{"subnet", "fd62::/64"}}}};
  ASSERT_EQ(call("ADD", conf).exit_code, 0);
  container_->run([] {
    EXPECT_EQ(net::read_sysctl("net/ipv6/conf/eth0/accept_dad"), "1");
    EXPECT_EQ(net::read_sysctl("net/ipv6/conf/eth0/enhanced_dad"), "1");
  });
}

TEST_F(BridgeTest, LayerTwoOnlyAndDisabledContainerInterface) {
  auto l2 = config("1.1.0", {{"isGateway", false}});
  l2["ipam"] = json::object();
  const auto add = call("ADD", l2);
  ASSERT_EQ(add.exit_code, 0) << add.out;
  EXPECT_FALSE(add.json().contains("ips"));
  EXPECT_EQ(add.json().at("interfaces").size(), 3u);
  EXPECT_TRUE(net::get_link(ctr_nl(), "eth0").up);
  EXPECT_TRUE(net::list_addresses(ctr_nl(), net::get_link(ctr_nl(), "eth0").index, AF_INET).empty());
  EXPECT_EQ(check(l2, add).exit_code, 0);
  EXPECT_EQ(call("DEL", l2).exit_code, 0);

  auto down = l2;
  down["disableContainerInterface"] = true;
  ASSERT_EQ(call("ADD", down).exit_code, 0);
  EXPECT_FALSE(net::get_link(ctr_nl(), "eth0").up);
  EXPECT_EQ(call("DEL", down).exit_code, 0);
}

TEST_F(BridgeTest, PromiscModeAndHostVethNames) {
  const auto conf = config("1.1.0", {{"promiscMode", true}, {"hostVethName", "hv-fixed"}});
  const auto add = call("ADD", conf);
  ASSERT_EQ(add.exit_code, 0) << add.out;
  EXPECT_TRUE(net::get_link(host_nl(), bridge_).promisc);
  EXPECT_EQ(add.json()["interfaces"][1].at("name"), "hv-fixed");
  EXPECT_TRUE(net::find_link(host_nl(), "hv-fixed"));
  EXPECT_EQ(check(conf, add).exit_code, 0);
  EXPECT_EQ(call("DEL", conf).exit_code, 0);

  const auto prefixed = config("1.1.0", {{"hostVethPrefix", "nsv"}});
  const auto add2 = call("ADD", prefixed);
  ASSERT_EQ(add2.exit_code, 0) << add2.out;
  const std::string name = add2.json()["interfaces"][1].at("name");
  EXPECT_TRUE(name.starts_with("nsv") && name.size() == 11u) << name;
}

TEST_F(BridgeTest, ContainerMacFromRuntimeConfigArgsOrCniArgs) {
  auto conf = config("1.1.0");
  // IgnoreUnknown: host-local, like the reference's, refuses a MAC key it does not know.
  const auto from_env = call("ADD", conf, {{"CNI_ARGS", "IgnoreUnknown=1;MAC=02:aa:00:00:00:01"}});
  ASSERT_EQ(from_env.exit_code, 0) << from_env.out;
  EXPECT_EQ(net::get_link(ctr_nl(), "eth0").mac.to_string(), "02:aa:00:00:00:01");
  EXPECT_EQ(call("DEL", conf).exit_code, 0);

  conf["args"] = {{"cni", {{"mac", "02:aa:00:00:00:02"}}}};
  conf["runtimeConfig"] = {{"mac", "02:aa:00:00:00:03"}};  // wins, as in the reference
  const auto both = call("ADD", conf, {{"CNI_ARGS", "IgnoreUnknown=1;MAC=02:aa:00:00:00:01"}});
  ASSERT_EQ(both.exit_code, 0) << both.out;
  EXPECT_EQ(both.json()["interfaces"][2].at("mac"), "02:aa:00:00:00:03");
  EXPECT_EQ(call("DEL", conf).exit_code, 0);

  // An unknown CNI_ARGS key is refused unless IgnoreUnknown, like the reference.
  EXPECT_EQ(call("ADD", config("1.1.0"), {{"CNI_ARGS", "FOO=1"}}).json().value("code", 0), 4);
  EXPECT_EQ(call("ADD", config("1.1.0"), {{"CNI_ARGS", "IgnoreUnknown=1;FOO=1"}}).exit_code, 0);
}

TEST_F(BridgeTest, RejectsBadConfigWithTheRightCodeAndLeavesNothing) {
  const std::vector<std::pair<json, int>> cases = {
      {{{"ipMasqBackend", "iptables"}}, 2},
      {{{"vlan", 100}}, 2},
      {{{"vlanTrunk", {{{"id", 101}}}}}, 2},
      {{{"preserveDefaultVlan", false}}, 2},
      {{{"vlan", 5000}}, 7},
      {{{"hairpinMode", true}, {"promiscMode", true}}, 7},
      {{{"disableContainerInterface", true}}, 7},
      {{{"mtu", 20}}, 7},
      {{{"bridge", "way-too-long-bridge-name"}}, 7},
      {{{"runtimeConfig", {{"mac", "01:00:5e:00:00:01"}}}}, 7},
      {{{"runtimeConfig", {{"mac", "not-a-mac"}}}}, 7},
      {{{"hostVethPrefix", "much-too-long"}}, 7},
      {{{"isGateway", "yes"}}, 6},
  };
  for (const auto& [extra, code] : cases) {
    SCOPED_TRACE(extra.dump());
    const auto run = call("ADD", config("1.1.0", extra));
    EXPECT_NE(run.exit_code, 0);
    EXPECT_EQ(run.json().value("code", 0), code) << run.out;
  }
  EXPECT_FALSE(net::find_link(host_nl(), bridge_));
  EXPECT_TRUE(host_veths().empty());
  EXPECT_EQ(reservations(), 0u);
}

TEST_F(BridgeTest, GcAndStatusReachIpamAndRules) {
  const auto conf = config("1.1.0", {{"ipMasq", true}, {"macspoofchk", true}});
  ASSERT_EQ(call("ADD", conf).exit_code, 0);
  const auto second = add_container();
  ASSERT_EQ(call("ADD", conf, {{"CNI_CONTAINERID", "ctr2"}, {"CNI_NETNS", second}}).exit_code, 0);
  EXPECT_EQ(call("STATUS", conf).exit_code, 0);
  auto gc = conf;
  gc["cni.dev/valid-attachments"] = {{{"containerID", "ctr2"}, {"ifname", "eth0"}}};
  const auto run = host_->run([&] {
    return nsnet::testing::exec_plugin(nsnet::testing::plugin_dir(), "bridge", "GC", {}, gc.dump());
  });
  EXPECT_EQ(run.exit_code, 0) << run.out;
  EXPECT_EQ(reservations(), 1u);
  const auto entries = masquerade();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].attachment, "ctr2/eth0");
  const auto checks = spoof_checks();
  ASSERT_EQ(checks.size(), 1u);
  EXPECT_EQ(checks[0].tag, netcore::fw::spoof_tag({"brnet", "ctr2", "eth0"}));
}

TEST_F(BridgeTest, ParallelAddsOnAFreshBridgeGetDistinctAddresses) {
  constexpr int kContainers = 8;
  std::vector<std::string> paths;
  for (int i = 0; i < kContainers; ++i) paths.push_back(add_container());
  const auto conf = config("1.1.0");
  std::vector<PluginRun> runs(kContainers);
  std::vector<std::thread> threads;
  for (int i = 0; i < kContainers; ++i)
    threads.emplace_back([&, i] {
      runs[i] = call("ADD", conf, {{"CNI_CONTAINERID", "p" + std::to_string(i)},
                                   {"CNI_NETNS", paths[i]}});
    });
  for (auto& t : threads) t.join();
  std::set<std::string> addresses;
  for (const auto& run : runs) {
    ASSERT_EQ(run.exit_code, 0) << run.out;
    addresses.insert(run.json()["ips"][0].at("address"));
  }
  EXPECT_EQ(addresses.size(), static_cast<size_t>(kContainers));
  EXPECT_EQ(host_veths().size(), static_cast<size_t>(kContainers));
}

}  // namespace
