// firewall through its real binary, chained by hand after our bridge plugin (bridge's ADD result
// is firewall's prevResult), in sandboxes: two bridges with containers, the TCP and ICMP
// reachability matrix for ingressPolicy open / same-bridge / isolated, the nft ruleset it
// leaves, the admin chain surviving ADD/DEL/GC, DEL without prevResult or netns, GC, CHECK,
// and bad configs with their codes and no residue. No differential test: the reference has no
// nftables backend (it needs iptables or firewalld).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <deque>
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "netcore/base/unique_fd.hpp"
#include "netcore/fw/firewall.hpp"
#include "netcore/net/netns.hpp"
#include "support/plugin_runner.hpp"
#include "support/sandbox.hpp"

namespace {

namespace net = netcore::net;
namespace fw = netcore::fw;
using netcore::UniqueFd;
using nlohmann::json;
using nsnet::testing::PluginRun;
using nsnet::testing::run_in_netns;

// True when a TCP connection from `from` to addr:port reaches a listener in `to` within 1 s.
bool tcp_connects(const net::Netns& from, const net::Netns& to, const std::string& addr,
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
  return from.run([&] {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 &&
        errno != EINPROGRESS)
      return false;
    pollfd pfd{.fd = fd.get(), .events = POLLOUT, .revents = 0};
    int error = 0;
    socklen_t len = sizeof error;
    return ::poll(&pfd, 1, 1000) == 1 &&
           ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &len) == 0 && error == 0;
  });
}

std::uint16_t icmp_checksum(const void* data, std::size_t size) {
  const auto* p = static_cast<const std::uint8_t*>(data);
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i + 1 < size; i += 2) sum += (p[i] << 8) | p[i + 1];
  if (size % 2) sum += p[size - 1] << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return htons(static_cast<std::uint16_t>(~sum));
}

// True when an ICMP echo from `from` to `addr` is answered within 1 s.
bool pings(const net::Netns& from, const std::string& addr) {
  return from.run([&] {
    UniqueFd fd(::socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP));
    if (!fd) return false;
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    ::inet_pton(AF_INET, addr.c_str(), &sa.sin_addr);
    icmphdr echo{};
    echo.type = ICMP_ECHO;
    echo.un.echo.id = htons(0x4e53);
    echo.un.echo.sequence = htons(1);
    echo.checksum = icmp_checksum(&echo, sizeof echo);
    if (::sendto(fd.get(), &echo, sizeof echo, 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0)
      return false;
    for (int i = 0; i < 10; ++i) {
      pollfd pfd{.fd = fd.get(), .events = POLLIN, .revents = 0};
      if (::poll(&pfd, 1, 1000) != 1) return false;
      std::uint8_t buf[256];
      const ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
      if (n < static_cast<ssize_t>(sizeof(iphdr) + sizeof(icmphdr))) continue;
      const auto* ip = reinterpret_cast<const iphdr*>(buf);
      const auto* reply = reinterpret_cast<const icmphdr*>(buf + std::size_t{ip->ihl} * 4);
      if (ip->saddr == sa.sin_addr.s_addr && reply->type == ICMP_ECHOREPLY &&
          reply->un.echo.id == echo.un.echo.id)
        return true;
    }
    return false;
  });
}

class FirewallTest : public nsnet::testing::SandboxTest {
 protected:
  struct Container {
    std::string id, netns_path, address, network;
    json bridge_conf, firewall_conf, bridge_result;
    const net::Netns* netns = nullptr;
  };

  void TearDown() override {
    for (const auto& name : persisted_) net::Netns::delete_persisted_if_exists(name);
    extra_.clear();
    SandboxTest::TearDown();
  }

  PluginRun call(const std::string& type, const std::string& command, const json& conf,
                 const std::string& cid, const std::string& netns) {
    const std::map<std::string, std::string> env = {
        {"CNI_CONTAINERID", cid}, {"CNI_NETNS", netns}, {"CNI_IFNAME", "eth0"}};
    return host_->run([&] {
      return nsnet::testing::exec_plugin(nsnet::testing::plugin_dir(), type, command, env,
                                         conf.dump());
    });
  }

  json firewall_conf(const std::string& network, const json& extra = json::object()) {
    json conf = {{"cniVersion", "1.0.0"}, {"name", network}, {"type", "firewall"}};
    conf.merge_patch(extra);
    return conf;
  }

  // A new container on network `index` (0: bridge A, 10.71.0.0/24; 1: bridge B, 10.72.0.0/24):
  // bridge ADD, then firewall ADD with bridge's result as prevResult.
  Container& attach(int index, const json& firewall_extra = json::object()) {
    Container c;
    c.network = index == 0 ? "fwneta" : "fwnetb";
    c.id = "ctr" + std::to_string(containers_.size());
    extra_.push_back(net::Netns::create());
    c.netns = &extra_.back();
    const std::string name = unique_name("f" + std::to_string(persisted_.size()));
    extra_.back().persist(name);
    persisted_.push_back(name);
    c.netns_path = "/run/netns/" + name;
    const std::string subnet = index == 0 ? "10.71.0.0/24" : "10.72.0.0/24";
    c.bridge_conf = {{"cniVersion", "1.0.0"},
                     {"name", c.network},
                     {"type", "bridge"},
                     {"bridge", unique_name(index == 0 ? "fwa" : "fwb")},
                     {"isGateway", true},
                     {"ipam",
                      {{"type", "host-local"},
                       {"dataDir", (temp_dir() / "ipam").string()},
                       {"routes", {{{"dst", "0.0.0.0/0"}}}},
                       {"ranges", {{{{"subnet", subnet}}}}}}}};
    const auto bridge = call("bridge", "ADD", c.bridge_conf, c.id, c.netns_path);
    EXPECT_EQ(bridge.exit_code, 0) << bridge.out;
    c.bridge_result = bridge.json();
    std::string cidr = c.bridge_result["ips"][0]["address"];
    c.address = cidr.substr(0, cidr.find('/'));
    c.firewall_conf = firewall_conf(c.network, firewall_extra);
    c.firewall_conf["prevResult"] = c.bridge_result;
    const auto add = call("firewall", "ADD", c.firewall_conf, c.id, c.netns_path);
    EXPECT_EQ(add.exit_code, 0) << add.out;
    if (add.exit_code == 0) {  // the result is prevResult, in the config's version
      EXPECT_EQ(add.json(), c.bridge_result);
    }
    containers_.push_back(std::move(c));
    return containers_.back();
  }

  PluginRun del(const Container& c, bool with_prev) {
    json conf = with_prev ? c.firewall_conf : firewall_conf(c.network);
    return call("firewall", "DEL", conf, c.id, with_prev ? c.netns_path : "");
  }

  bool tcp(const Container& from, const Container& to) {
    return tcp_connects(*from.netns, *to.netns, to.address, next_port_++);
  }
  bool host_tcp(const Container& to) {
    return tcp_connects(*host_, *to.netns, to.address, next_port_++);
  }

  std::vector<fw::FirewallEntry> entries() {
    return host_->run([] { return fw::list_firewall(); });
  }
  std::string ruleset() { return run_in_netns(*host_, "nft -j list ruleset"); }

  std::deque<Container> containers_;
  std::deque<net::Netns> extra_;
  std::vector<std::string> persisted_;
  std::uint16_t next_port_ = 7100;
};

TEST_F(FirewallTest, OpenPolicyLetsEverythingThroughAndSetsUpTheTable) {
  auto& a1 = attach(0);
  auto& a2 = attach(0);
  auto& b1 = attach(1);
  EXPECT_TRUE(tcp(a1, b1));
  EXPECT_TRUE(tcp(b1, a1));
  EXPECT_TRUE(tcp(a1, a2));
  EXPECT_TRUE(pings(*a1.netns, b1.address));
  EXPECT_TRUE(host_tcp(a1));

  // The kernel's view through nft itself: table, chains, hook, tagged addresses.
  const auto rs = json::parse(ruleset());
  bool forward_hook = false, admin = false;
  std::map<std::string, std::string> addresses;  // address -> tag
  for (const auto& item : rs["nftables"]) {
    if (item.contains("chain") && item["chain"]["table"] == "nsnet_firewall" &&
        item["chain"]["family"] == "inet") {
      if (item["chain"]["name"] == "forward")
        forward_hook = item["chain"].value("hook", "") == "forward";
      if (item["chain"]["name"] == "CNI-ADMIN") admin = true;
    }
    if (item.contains("set") && item["set"]["name"] == "fw_addr4")
      for (const auto& e : item["set"].value("elem", json::array()))
        addresses[e["elem"]["val"]] = e["elem"]["comment"];
  }
  EXPECT_TRUE(forward_hook);
  EXPECT_TRUE(admin);
  ASSERT_EQ(addresses.size(), 3u);
  EXPECT_EQ(addresses[a1.address], fw::firewall_tag({"fwneta", a1.id, "eth0"}));
  EXPECT_EQ(addresses[b1.address], fw::firewall_tag({"fwnetb", b1.id, "eth0"}));
  // open installs no isolation
  for (const auto& e : entries()) EXPECT_EQ(e.kind, "address");
}

TEST_F(FirewallTest, SameBridgeIsolatesBridgesFromEachOtherButNotWithin) {
  const json policy = {{"ingressPolicy", "same-bridge"}};
  auto& a1 = attach(0, policy);
  auto& a2 = attach(0, policy);
  auto& b1 = attach(1, policy);
  EXPECT_FALSE(tcp(a1, b1));
  EXPECT_FALSE(tcp(b1, a1));
  EXPECT_FALSE(pings(*b1.netns, a1.address));
  EXPECT_TRUE(tcp(a1, a2));
  EXPECT_TRUE(pings(*a1.netns, a2.address));
  EXPECT_TRUE(host_tcp(a1));  // the host is no other bridge
  EXPECT_TRUE(host_tcp(b1));
  // Docker's rule: only traffic between two isolated bridges is dropped.
  ASSERT_EQ(del(b1, true).exit_code, 0);
  EXPECT_TRUE(tcp(a1, b1));
}

TEST_F(FirewallTest, IsolatedAlsoSeparatesContainersOfOneBridge) {
  const json policy = {{"ingressPolicy", "isolated"}};
  auto& a1 = attach(0, policy);
  auto& a2 = attach(0, policy);
  auto& b1 = attach(1, policy);
  EXPECT_FALSE(tcp(a1, a2));
  EXPECT_FALSE(pings(*a2.netns, a1.address));
  EXPECT_FALSE(tcp(a1, b1));
  EXPECT_TRUE(host_tcp(a1));  // the gateway is the bridge itself, not a port
  EXPECT_TRUE(pings(*a1.netns, a1.bridge_result["ips"][0]["gateway"].get<std::string>()));
  // The port elements are the host veths bridge made.
  std::set<std::string> ports;
  for (const auto& e : entries())
    if (e.kind == "port") ports.insert(e.key);
  EXPECT_EQ(ports, (std::set<std::string>{a1.bridge_result["interfaces"][1]["name"],
                                          a2.bridge_result["interfaces"][1]["name"],
                                          b1.bridge_result["interfaces"][1]["name"]}));
  // Once a1 and a2 leave, nothing isolated remains on that bridge.
  ASSERT_EQ(del(a2, false).exit_code, 0);
  ASSERT_EQ(del(a1, false).exit_code, 0);
  auto& a3 = attach(0);
  auto& a4 = attach(0);
  EXPECT_TRUE(tcp(a3, a4));
  EXPECT_TRUE(tcp(a3, b1));  // bridge A is no longer isolated
}

TEST_F(FirewallTest, AdminChainIsJumpedToAndSurvivesAddDelGc) {
  auto& a1 = attach(0);
  auto& b1 = attach(1);
  EXPECT_TRUE(tcp(a1, b1));
  // The user's rule in the admin chain runs before nsnet's accepts.
  (void)run_in_netns(*host_, "nft add rule inet nsnet_firewall CNI-ADMIN ip daddr " + b1.address +
                           " tcp dport 7000-7999 drop");
  EXPECT_FALSE(tcp(a1, b1));
  auto& a2 = attach(0, {{"ingressPolicy", "same-bridge"}});
  ASSERT_EQ(del(a2, false).exit_code, 0);
  json gc = firewall_conf("fwneta", {{"cniVersion", "1.1.0"}});
  gc["cni.dev/valid-attachments"] = json::array();
  ASSERT_EQ(call("firewall", "GC", gc, "", "").exit_code, 0);
  ASSERT_EQ(del(a1, true).exit_code, 0);
  const std::string admin = run_in_netns(*host_, "nft list chain inet nsnet_firewall CNI-ADMIN");
  EXPECT_NE(admin.find("ip daddr " + b1.address + " tcp dport 7000-7999 drop"), std::string::npos)
      << admin;
  // A custom admin chain name is another chain, jumped to as well.
  auto& a3 = attach(0, {{"iptablesAdminChainName", "MY-ADMIN"}});
  const std::string forward = run_in_netns(*host_, "nft list chain inet nsnet_firewall forward");
  EXPECT_NE(forward.find("jump MY-ADMIN"), std::string::npos) << forward;
  EXPECT_NE(forward.find("jump CNI-ADMIN"), std::string::npos) << forward;
  EXPECT_FALSE(tcp(a3, b1));  // CNI-ADMIN still applies
}

TEST_F(FirewallTest, DelWithoutPrevResultOrNetnsRemovesTheAttachmentsElements) {
  auto& a1 = attach(0, {{"ingressPolicy", "isolated"}});
  auto& a2 = attach(0, {{"ingressPolicy", "isolated"}});
  EXPECT_EQ(entries().size(), 6u);  // address, member, port each
  ASSERT_EQ(del(a1, false).exit_code, 0);
  const auto left = entries();
  ASSERT_EQ(left.size(), 3u);
  for (const auto& e : left) EXPECT_EQ(e.tag, fw::firewall_tag({"fwneta", a2.id, "eth0"}));
  EXPECT_EQ(del(a1, false).exit_code, 0);  // idempotent
  ASSERT_EQ(del(a2, true).exit_code, 0);
  EXPECT_TRUE(entries().empty());
  // The bridge's isolation went with its last member.
  const std::string inet = run_in_netns(*host_, "nft list table inet nsnet_firewall");
  EXPECT_EQ(inet.find("chain iso_"), std::string::npos) << inet;
}

TEST_F(FirewallTest, GcKeepsOnlyValidAttachmentsOfItsNetwork) {
  auto& a1 = attach(0, {{"ingressPolicy", "same-bridge"}});
  auto& a2 = attach(0, {{"ingressPolicy", "same-bridge"}});
  auto& b1 = attach(1);
  json gc = firewall_conf("fwneta", {{"cniVersion", "1.1.0"}});
  gc["cni.dev/valid-attachments"] = json::array({{{"containerID", a2.id}, {"ifname", "eth0"}}});
  const auto run = call("firewall", "GC", gc, "", "");
  ASSERT_EQ(run.exit_code, 0) << run.out;
  std::set<std::string> tags;
  for (const auto& e : entries()) tags.insert(e.tag);
  EXPECT_EQ(tags, (std::set<std::string>{fw::firewall_tag({"fwneta", a2.id, "eth0"}),
                                         fw::firewall_tag({"fwnetb", b1.id, "eth0"})}));
  EXPECT_FALSE(tags.contains(fw::firewall_tag({"fwneta", a1.id, "eth0"})));
}

TEST_F(FirewallTest, CheckPassesAfterAddAndFailsWhenARuleIsGone) {
  auto& a1 = attach(0, {{"ingressPolicy", "isolated"}});
  json conf = a1.firewall_conf;
  conf["cniVersion"] = "1.0.0";
  auto check = call("firewall", "CHECK", conf, a1.id, a1.netns_path);
  EXPECT_EQ(check.exit_code, 0) << check.out;
  (void)run_in_netns(*host_, "nft delete element bridge nsnet_firewall fw_isolated_ports '{ \"" +
                           a1.bridge_result["interfaces"][1]["name"].get<std::string>() + "\" }'");
  check = call("firewall", "CHECK", conf, a1.id, a1.netns_path);
  EXPECT_EQ(check.exit_code, 1);
  EXPECT_EQ(check.json()["code"], 999) << check.out;
  // Without prevResult, CHECK cannot know what to look for.
  check = call("firewall", "CHECK", firewall_conf("fwneta"), a1.id, a1.netns_path);
  EXPECT_EQ(check.json()["code"], 7) << check.out;
  EXPECT_EQ(call("firewall", "STATUS", firewall_conf("fwneta", {{"cniVersion", "1.1.0"}}), "", "")
                .exit_code,
            0);
}

TEST_F(FirewallTest, BadConfigsFailWithCodesAndLeaveNothing) {
  auto& a1 = attach(0);  // a bridge result to chain after
  ASSERT_EQ(del(a1, false).exit_code, 0);
  auto empty_tables = [&] {
    EXPECT_TRUE(entries().empty());
  };
  struct Case {
    json extra;
    int code;
    std::string key;
  };
  json ptp_like = a1.bridge_result;  // no bridge among the host interfaces
  ptp_like["interfaces"] = json::array({ptp_like["interfaces"][2]});
  ptp_like["ips"][0].erase("interface");
  const std::vector<Case> cases = {
      {{{"backend", "iptables"}}, 2, "backend"},
      {{{"backend", "firewalld"}}, 2, "backend"},
      {{{"firewalldZone", "trusted"}}, 2, "firewalldZone"},
      {{{"ingressPolicy", "closed"}}, 7, "ingressPolicy"},
      {{{"iptablesAdminChainName", "no spaces"}}, 7, "iptablesAdminChainName"},
      {{{"prevResult", nullptr}}, 7, "chained"},
      {{{"ingressPolicy", "same-bridge"}, {"prevResult", ptp_like}}, 7, "bridge"},
  };
  for (const auto& c : cases) {
    json conf = a1.firewall_conf;
    conf.merge_patch(c.extra);
    const auto run = call("firewall", "ADD", conf, "bad", a1.netns_path);
    EXPECT_EQ(run.exit_code, 1) << conf.dump();
    EXPECT_EQ(run.json()["code"], c.code) << run.out;
    EXPECT_NE(run.json()["msg"].get<std::string>().find(c.key), std::string::npos) << run.out;
    empty_tables();
  }
}

TEST_F(FirewallTest, ChainsInEverySpecVersionWithPrevResult) {
  auto& a1 = attach(0);
  ASSERT_EQ(del(a1, false).exit_code, 0);
  for (const std::string version : {"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"}) {
    SCOPED_TRACE(version);
    json conf = a1.firewall_conf;
    conf["cniVersion"] = version;
    const auto add = call("firewall", "ADD", conf, a1.id, a1.netns_path);
    ASSERT_EQ(add.exit_code, 0) << add.out;
    EXPECT_EQ(add.json()["cniVersion"], version);
    EXPECT_EQ(add.json()["ips"][0]["address"], a1.bridge_result["ips"][0]["address"]);
    EXPECT_EQ(entries().size(), 1u);
    if (version != "0.3.0" && version != "0.3.1") {
      EXPECT_EQ(call("firewall", "CHECK", conf, a1.id, a1.netns_path).exit_code, 0);
    }
    ASSERT_EQ(call("firewall", "DEL", conf, a1.id, a1.netns_path).exit_code, 0);
    EXPECT_TRUE(entries().empty());
  }
}

}  // namespace
