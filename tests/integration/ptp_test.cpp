// ptp through its real binary, with host-local as its IPAM (run in-process by the multi-call
// binary): every spec version, kernel state on both sides, connectivity, masquerade, DEL without
// context, and zero residue after a failed ADD.

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

#include "netcore/base/unique_fd.hpp"
#include "netcore/cni/version.hpp"
#include "netcore/fw/masquerade.hpp"
#include "netcore/net/address.hpp"
#include "netcore/net/link.hpp"
#include "netcore/net/netlink.hpp"
#include "netcore/net/route.hpp"
#include "support/ipam_files.hpp"
#include "support/plugin_runner.hpp"
#include "support/sandbox.hpp"

namespace {

namespace fs = std::filesystem;
namespace net = netcore::net;
using netcore::cni::version_at_least;
using nlohmann::json;
using nsnet::testing::PluginRun;

class PtpTest : public nsnet::testing::SandboxTest {
 protected:
  void SetUp() override {
    SandboxTest::SetUp();
    if (IsSkipped()) return;
    netns_name_ = unique_name("ptp");
    container_->persist(netns_name_);
    netns_path_ = "/run/netns/" + netns_name_;
  }
  void TearDown() override {
    if (!netns_name_.empty()) net::Netns::delete_persisted_if_exists(netns_name_);
    SandboxTest::TearDown();
  }

  json config(const std::string& version, const json& extra = json::object()) {
    json conf = {{"cniVersion", version},
                 {"name", "ptpnet"},
                 {"type", "ptp"},
                 {"ipam",
                  {{"type", "host-local"},
                   {"dataDir", (temp_dir() / "ipam").string()},
                   {"ranges", {{{{"subnet", "10.61.0.0/24"}}}}},
                   {"routes", {{{"dst", "0.0.0.0/0"}}}}}}};
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
      return nsnet::testing::exec_plugin(nsnet::testing::plugin_dir(), "ptp", command, env,
                                         conf.dump());
    });
  }

  net::Netlink host_nl() { return host_->run([] { return net::Netlink::connect(); }); }
  net::Netlink ctr_nl() { return container_->run([] { return net::Netlink::connect(); }); }

  // Links other than lo in a namespace.
  static size_t link_count(const net::Netlink& nl) {
    size_t n = 0;
    for (const auto& l : net::list_links(nl))
      if (l.name != "lo") ++n;
    return n;
  }
  size_t reservations() {
    return nsnet::testing::reserved_addresses(temp_dir() / "ipam" / "ptpnet").size();
  }

  std::string netns_name_;
  std::string netns_path_;
};

TEST_F(PtpTest, LifecycleInEverySpecVersion) {
  for (const auto& version : netcore::cni::all_spec_versions()) {
    SCOPED_TRACE(version);
    const auto conf = config(version, {{"mtu", 1400}});
    const auto add = call("ADD", conf);
    ASSERT_EQ(add.exit_code, 0) << add.out;
    const auto result = add.json();
    EXPECT_EQ(result.at("cniVersion"), version);
    std::string host_name;
    if (version_at_least(version, "0.3.0")) {
      ASSERT_EQ(result.at("interfaces").size(), 2u);
      host_name = result["interfaces"][0].at("name");
      EXPECT_EQ(result["interfaces"][1].at("name"), "eth0");
      EXPECT_EQ(result["interfaces"][1].at("sandbox"), netns_path_);
      EXPECT_EQ(result["ips"][0].at("interface"), 1);
      EXPECT_EQ(result["ips"][0].at("address"), "10.61.0.2/24");
      EXPECT_EQ(result["ips"][0].at("gateway"), "10.61.0.1");
    } else {
      EXPECT_EQ(result.at("ip4").at("ip"), "10.61.0.2/24");
    }

    // Container: the address without its subnet route, the gateway on-link, subnet and default
    // through the gateway; MTU on both ends.
    const auto cnl = ctr_nl();
    const auto eth0 = net::get_link(cnl, "eth0");
    EXPECT_TRUE(eth0.up);
    EXPECT_EQ(eth0.mtu, 1400u);
    const auto addresses = net::list_addresses(cnl, eth0.index, AF_INET);
    ASSERT_EQ(addresses.size(), 1u);
    EXPECT_EQ(addresses[0].prefix.to_string(), "10.61.0.2/24");
    std::set<std::string> routes;
    for (const auto& r : net::list_routes(cnl, AF_INET, eth0.index))
      routes.insert(r.dst.to_string() + (r.gateway ? " via " + r.gateway->to_string() : ""));
    EXPECT_EQ(routes, (std::set<std::string>{"10.61.0.1/32", "10.61.0.0/24 via 10.61.0.1",
                                             "0.0.0.0/0 via 10.61.0.1"}));
    // Host: the gateway as a /32 on the host end and a route to the container's address.
    const auto hnl = host_nl();
    const auto links = net::list_links(hnl);
    const auto host_end = std::find_if(links.begin(), links.end(),
                                       [](const net::LinkInfo& l) { return l.kind == "veth"; });
    ASSERT_NE(host_end, links.end());
    if (!host_name.empty()) {
      EXPECT_EQ(host_end->name, host_name);
    }
    EXPECT_EQ(host_end->mtu, 1400u);
    EXPECT_EQ(net::list_addresses(hnl, host_end->index, AF_INET).at(0).prefix.to_string(),
              "10.61.0.1/32");
    const auto host_routes = net::list_routes(hnl, AF_INET, host_end->index);
    EXPECT_TRUE(std::any_of(host_routes.begin(), host_routes.end(), [](const net::Route& r) {
      return r.dst.to_string() == "10.61.0.2/32";
    }));

    if (version_at_least(version, "0.4.0")) {
      auto check_conf = conf;
      check_conf["prevResult"] = result;
      const auto check = call("CHECK", check_conf);
      EXPECT_EQ(check.exit_code, 0) << check.out;
    }
    for (int i = 0; i < 2; ++i) EXPECT_EQ(call("DEL", conf).exit_code, 0);
    EXPECT_EQ(link_count(ctr_nl()), 0u);
    EXPECT_EQ(link_count(host_nl()), 0u);
    EXPECT_EQ(reservations(), 0u);
    fs::remove_all(temp_dir() / "ipam");  // restart round-robin: each version gets .2
  }
}

TEST_F(PtpTest, TcpBetweenContainerAndGateway) {
  ASSERT_EQ(call("ADD", config("1.1.0")).exit_code, 0);
  // A listener on the host's gateway address, a client in the container.
  netcore::UniqueFd listener = host_->run([] {
    netcore::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr{.sin_family = AF_INET, .sin_port = htons(7071)};
    addr.sin_addr.s_addr = htonl(0x0a3d0001);  // 10.61.0.1
    EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(fd.get(), 1), 0);
    return fd;
  });
  const bool connected = container_->run([] {
    netcore::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr{.sin_family = AF_INET, .sin_port = htons(7071)};
    addr.sin_addr.s_addr = htonl(0x0a3d0001);
    return ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
           ::write(fd.get(), "ping", 4) == 4;
  });
  ASSERT_TRUE(connected);
  sockaddr_in peer{};
  socklen_t len = sizeof peer;
  netcore::UniqueFd conn(::accept(listener.get(), reinterpret_cast<sockaddr*>(&peer), &len));
  ASSERT_TRUE(conn.valid());
  EXPECT_EQ(ntohl(peer.sin_addr.s_addr), 0x0a3d0002u);  // from the container's 10.61.0.2
  EXPECT_EQ(call("DEL", config("1.1.0")).exit_code, 0);
}

TEST_F(PtpTest, MasqueradeIsAddedCheckedAndRemovedWithoutPrevResult) {
  const auto conf = config("1.1.0", {{"ipMasq", true}});
  const auto add = call("ADD", conf);
  ASSERT_EQ(add.exit_code, 0) << add.out;
  auto masq = host_->run([] { return netcore::fw::list_masquerade("ptpnet"); });
  ASSERT_EQ(masq.size(), 1u);
  EXPECT_EQ(masq[0].address.to_string(), "10.61.0.2");
  // DEL with neither prevResult nor a live netns still removes the rules and the reservation.
  container_.reset();
  net::Netns::delete_persisted_if_exists(netns_name_);
  EXPECT_EQ(call("DEL", conf).exit_code, 0);
  masq = host_->run([] { return netcore::fw::list_masquerade("ptpnet"); });
  EXPECT_TRUE(masq.empty());
  EXPECT_EQ(reservations(), 0u);
  EXPECT_EQ(call("DEL", conf, {{"CNI_NETNS", ""}}).exit_code, 0);
}

TEST_F(PtpTest, FailedAddLeavesNothingBehind) {
  // A /30 holds one address: the second container's ADD fails inside IPAM.
  auto conf = config("1.1.0", {{"ipMasq", true}});
  conf["ipam"]["ranges"] = {{{{"subnet", "10.61.0.0/30"}}}};
  ASSERT_EQ(call("ADD", conf, {{"CNI_CONTAINERID", "first"}}).exit_code, 0);
  const auto links_before = link_count(host_nl());
  const auto add = call("ADD", conf, {{"CNI_CONTAINERID", "second"}, {"CNI_IFNAME", "eth1"}});
  EXPECT_NE(add.exit_code, 0);
  EXPECT_EQ(link_count(host_nl()), links_before);
  EXPECT_FALSE(net::find_link(ctr_nl(), "eth1"));
  EXPECT_EQ(reservations(), 1u);
  // An interface name that exists already in the container: refused before IPAM is asked.
  const auto again = call("ADD", conf, {{"CNI_CONTAINERID", "third"}});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.json().value("msg", "").find("already exists"), std::string::npos) << again.out;
  EXPECT_EQ(reservations(), 1u);
  EXPECT_EQ(host_->run([] { return netcore::fw::list_masquerade("ptpnet"); }).size(), 1u);
}

TEST_F(PtpTest, GcAndStatusReachIpamAndRules) {
  const auto conf = config("1.1.0", {{"ipMasq", true}});
  ASSERT_EQ(call("ADD", conf).exit_code, 0);
  EXPECT_EQ(call("STATUS", conf).exit_code, 0);
  auto gc = config("1.1.0", {{"ipMasq", true}});
  gc["cni.dev/valid-attachments"] = json::array();
  const auto run = host_->run([&] {
    return nsnet::testing::exec_plugin(nsnet::testing::plugin_dir(), "ptp", "GC", {}, gc.dump());
  });
  EXPECT_EQ(run.exit_code, 0) << run.out;
  EXPECT_EQ(reservations(), 0u);
  EXPECT_TRUE(host_->run([] { return netcore::fw::list_masquerade("ptpnet"); }).empty());
}

TEST_F(PtpTest, RejectsBadConfigWithTheRightCode) {
  EXPECT_EQ(call("ADD", config("1.1.0", {{"ipMasqBackend", "iptables"}})).json().value("code", 0), 2);
  json no_ipam = config("1.1.0");
  no_ipam.erase("ipam");
  EXPECT_EQ(call("ADD", no_ipam).json().value("code", 0), 7);
  EXPECT_EQ(call("ADD", config("1.1.0", {{"mtu", 20}})).json().value("code", 0), 7);
  EXPECT_EQ(link_count(host_nl()), 0u);
  EXPECT_EQ(reservations(), 0u);
}

}  // namespace
