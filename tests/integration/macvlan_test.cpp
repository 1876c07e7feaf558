// macvlan through its real binary, with host-local (in-process) as IPAM: every spec version,
// kernel state in the container, each option, traffic to a sibling macvlan on the same master,
// DEL without context, error codes and zero residue after a failed ADD.

#include <gtest/gtest.h>
#include <linux/rtnetlink.h>

#include "netcore/cni/version.hpp"
#include "netcore/net/address.hpp"
#include "netcore/net/link.hpp"
#include "netcore/net/route.hpp"
#include "netcore/net/sysctl.hpp"
#include "support/l2_plugin_test.hpp"

namespace {

namespace net = netcore::net;
using netcore::cni::version_at_least;
using nlohmann::json;
using nsnet::testing::tcp_source;

class MacvlanTest : public nsnet::testing::L2PluginTest {
 protected:
  MacvlanTest() : L2PluginTest("macvlan") {}

  void SetUp() override {
    L2PluginTest::SetUp();
    if (IsSkipped()) return;
    master_ = unique_name("mst");
    master_index_ = make_master(*host_, master_);
  }

  // A veth pair standing in for a physical NIC: both ends up, so the master has a carrier.
  static int make_master(const net::Netns& netns, const std::string& name) {
    return netns.run([&] {
      const auto nl = net::Netlink::connect();
      const auto link = net::create_veth(nl, {.name = name, .peer_name = name + "p"});
      net::set_up(nl, net::get_link(nl, name + "p").index);
      net::set_up(nl, link.index);
      return link.index;
    });
  }

  // extra is merged into the config (RFC 7386), except that an "ipam" in it replaces ours.
  json config(const std::string& version, json extra = json::object()) {
    json conf = {{"master", master_}, {"ipam", ipam()}};
    if (extra.contains("ipam")) conf["ipam"] = extra["ipam"];
    extra.erase("ipam");
    conf.merge_patch(extra);
    return plugin_config(version, conf);
  }

  std::string master_;
  int master_index_ = 0;
};

TEST_F(MacvlanTest, LifecycleInEverySpecVersion) {
  for (const auto& version : netcore::cni::all_spec_versions()) {
    SCOPED_TRACE(version);
    const auto conf = config(version, {{"mtu", 1400}});
    const auto add = call("ADD", conf);
    ASSERT_EQ(add.exit_code, 0) << add.out;
    const auto result = add.json();
    EXPECT_EQ(result.at("cniVersion"), version);
    const auto cnl = ctr_nl();
    const auto eth0 = net::get_link(cnl, "eth0");
    if (version_at_least(version, "0.3.0")) {
      ASSERT_EQ(result.at("interfaces").size(), 1u);
      EXPECT_EQ(result["interfaces"][0].at("name"), "eth0");
      EXPECT_EQ(result["interfaces"][0].at("mac"), eth0.mac.to_string());
      EXPECT_EQ(result["interfaces"][0].at("sandbox"), netns_path_);
      EXPECT_EQ(result["ips"][0].at("interface"), 0);
      EXPECT_EQ(result["ips"][0].at("address"), "10.62.0.2/24");
    } else {
      EXPECT_EQ(result.at("ip4").at("ip"), "10.62.0.2/24");
    }
    EXPECT_EQ(eth0.kind, "macvlan");
    EXPECT_TRUE(eth0.up);
    EXPECT_EQ(eth0.mtu, 1400u);
    EXPECT_EQ(eth0.link_index, master_index_);
    const auto addresses = net::list_addresses(cnl, eth0.index, AF_INET);
    ASSERT_EQ(addresses.size(), 1u);
    EXPECT_EQ(addresses[0].prefix.to_string(), "10.62.0.2/24");
    const auto routes = net::list_routes(cnl, AF_INET, eth0.index);
    EXPECT_TRUE(std::any_of(routes.begin(), routes.end(), [](const net::Route& r) {
      return r.dst.length() == 0 && r.gateway && r.gateway->to_string() == "10.62.0.1";
    }));
    container_->run([] {
      EXPECT_EQ(net::read_sysctl("net/ipv4/conf/eth0/arp_notify"), "1");
      EXPECT_EQ(net::read_sysctl("net/ipv6/conf/eth0/ndisc_notify"), "1");
    });
    EXPECT_EQ(link_count(host_nl()), 2u);  // only the master pair: nothing left in the host

    if (version_at_least(version, "0.4.0")) {
      const auto check = call("CHECK", with_prev(conf, add));
      EXPECT_EQ(check.exit_code, 0) << check.out;
    }
    const auto del = call("DEL", version_at_least(version, "0.4.0") ? with_prev(conf, add) : conf);
    EXPECT_EQ(del.exit_code, 0) << del.out;
    EXPECT_EQ(call("DEL", conf).exit_code, 0);  // idempotent
    EXPECT_FALSE(net::find_link(ctr_nl(), "eth0"));
    EXPECT_EQ(reservations(), 0u);
    std::filesystem::remove_all(temp_dir() / "ipam");
  }
}

TEST_F(MacvlanTest, CheckFailsWhenTheAddressIsGone) {
  const auto conf = config("1.1.0");
  const auto add = call("ADD", conf);
  ASSERT_EQ(add.exit_code, 0) << add.out;
  const auto cnl = ctr_nl();
  const auto eth0 = net::get_link(cnl, "eth0");
  net::delete_address(cnl, eth0.index, net::Prefix::parse("10.62.0.2/24"));
  const auto check = call("CHECK", with_prev(conf, add));
  EXPECT_NE(check.exit_code, 0);
  EXPECT_NE(check.out.find("10.62.0.2/24"), std::string::npos) << check.out;
  EXPECT_EQ(call("CHECK", conf).json().at("code"), 7);  // prevResult is required
  EXPECT_EQ(call("DEL", conf).exit_code, 0);
}

TEST_F(MacvlanTest, TrafficToASiblingMacvlanOnTheSameMaster) {
  // The neighbour: another macvlan of the master, in the host, bridge mode.
  const std::string sibling = unique_name("sib");
  host_->run([&] {
    const auto nl = net::Netlink::connect();
    net::create_macvlan(nl, {.name = sibling, .master_index = master_index_});
    const auto link = net::get_link(nl, sibling);
    net::add_address(nl, link.index, net::Prefix::parse("10.62.0.200/24"), {.nodad = true});
    net::set_up(nl, link.index);
  });
  const auto conf = config("1.1.0");
  ASSERT_EQ(call("ADD", conf).exit_code, 0);
  EXPECT_EQ(tcp_source(*container_, *host_, "10.62.0.200", 7081), "10.62.0.2");
  EXPECT_EQ(tcp_source(*host_, *container_, "10.62.0.2", 7082), "10.62.0.200");
  EXPECT_EQ(call("DEL", conf).exit_code, 0);

  // private mode: no traffic between macvlans of one master.
  const auto private_conf = config("1.1.0", {{"mode", "private"}});
  ASSERT_EQ(call("ADD", private_conf).exit_code, 0);
  EXPECT_EQ(tcp_source(*container_, *host_, "10.62.0.200", 7083), "");
  EXPECT_EQ(call("DEL", private_conf).exit_code, 0);
}

TEST_F(MacvlanTest, EveryModeIsCreated) {
  for (const std::string mode : {"bridge", "private", "vepa", "passthru"}) {
    SCOPED_TRACE(mode);
    const auto conf = config("1.1.0", {{"mode", mode}, {"ipam", json::object()}});
    const auto add = call("ADD", conf);
    ASSERT_EQ(add.exit_code, 0) << add.out;
    const auto out = nsnet::testing::run_in_netns(*container_, "ip -d -j link show eth0");
    EXPECT_NE(out.find("\"mode\":\"" + mode + "\""), std::string::npos) << out;
    EXPECT_EQ(call("DEL", conf).exit_code, 0);
  }
}

TEST_F(MacvlanTest, EmptyIpamGivesALinkThatIsUpWithoutAddresses) {
  const auto conf = config("1.0.0", {{"ipam", json::object()}});
  const auto add = call("ADD", conf);
  ASSERT_EQ(add.exit_code, 0) << add.out;
  EXPECT_TRUE(add.json().value("ips", json::array()).empty());
  const auto cnl = ctr_nl();
  const auto eth0 = net::get_link(cnl, "eth0");
  EXPECT_TRUE(eth0.up);
  EXPECT_TRUE(net::list_addresses(cnl, eth0.index, AF_INET).empty());
  container_->run([] { EXPECT_EQ(net::read_sysctl("net/ipv4/conf/eth0/arp_notify"), "0"); });
  EXPECT_EQ(call("CHECK", with_prev(conf, add)).exit_code, 0);
  EXPECT_EQ(call("DEL", conf).exit_code, 0);
  EXPECT_FALSE(net::find_link(ctr_nl(), "eth0"));
}

TEST_F(MacvlanTest, MacPrecedenceRuntimeConfigThenArgsThenCniArgsThenConfig) {
  struct Case {
    json extra;
    std::string cni_args;
    std::string want;
  };
  const std::vector<Case> cases = {
      {{{"mac", "02:00:00:00:00:01"}}, "", "02:00:00:00:00:01"},
      {{{"mac", "02:00:00:00:00:01"}}, "MAC=02:00:00:00:00:02", "02:00:00:00:00:02"},
      {{{"args", {{"cni", {{"mac", "02:00:00:00:00:03"}}}}}},
       "MAC=02:00:00:00:00:02",
       "02:00:00:00:00:03"},
      {{{"args", {{"cni", {{"mac", "02:00:00:00:00:03"}}}}},
        {"runtimeConfig", {{"mac", "02:00:00:00:00:04"}}}},
       "",
       "02:00:00:00:00:04"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.want);
    const auto conf = config("1.1.0", c.extra);
    std::map<std::string, std::string> env;
    // IgnoreUnknown=1 as runtimes send it: host-local, which gets the same CNI_ARGS, knows no MAC.
    if (!c.cni_args.empty()) env["CNI_ARGS"] = "IgnoreUnknown=1;" + c.cni_args;
    const auto add = call("ADD", conf, env);
    ASSERT_EQ(add.exit_code, 0) << add.out;
    EXPECT_EQ(add.json()["interfaces"][0].at("mac"), c.want);
    EXPECT_EQ(net::get_link(ctr_nl(), "eth0").mac.to_string(), c.want);
    EXPECT_EQ(call("DEL", conf, env).exit_code, 0);
  }
}

TEST_F(MacvlanTest, MasterDefaultsToTheDefaultRouteInterface) {
  host_->run([&] {
    const auto nl = net::Netlink::connect();
    net::add_address(nl, master_index_, net::Prefix::parse("10.71.0.1/24"));
    net::add_route(nl, {.dst = net::Prefix::parse("0.0.0.0/0"),
                        .gateway = net::parse_ip_address("10.71.0.254"),
                        .ifindex = master_index_});
  });
  json conf = config("1.1.0");
  conf.erase("master");
  const auto add = call("ADD", conf);
  ASSERT_EQ(add.exit_code, 0) << add.out;
  EXPECT_EQ(net::get_link(ctr_nl(), "eth0").link_index, master_index_);
  EXPECT_EQ(call("CHECK", with_prev(conf, add)).exit_code, 0);
  EXPECT_EQ(call("DEL", conf).exit_code, 0);
}

TEST_F(MacvlanTest, NoMasterAndNoDefaultRouteFails) {
  json conf = config("1.1.0");
  conf.erase("master");
  const auto add = call("ADD", conf);
  EXPECT_EQ(add.exit_code, 1);
  EXPECT_NE(add.out.find("default route"), std::string::npos) << add.out;
  EXPECT_EQ(link_count(ctr_nl()), 0u);
  EXPECT_EQ(reservations(), 0u);
}

TEST_F(MacvlanTest, LinkInContainerUsesAMasterInsideTheContainer) {
  const std::string inner = unique_name("in");
  const int inner_index = make_master(*container_, inner);
  const auto conf = config("1.1.0", {{"master", inner}, {"linkInContainer", true}});
  const auto add = call("ADD", conf);
  ASSERT_EQ(add.exit_code, 0) << add.out;
  EXPECT_EQ(net::get_link(ctr_nl(), "eth0").link_index, inner_index);
  EXPECT_EQ(call("CHECK", with_prev(conf, add)).exit_code, 0);
  EXPECT_EQ(call("DEL", conf).exit_code, 0);
  EXPECT_FALSE(net::find_link(ctr_nl(), "eth0"));
  // Without linkInContainer the name means a host link, and there is none.
  EXPECT_EQ(call("ADD", config("1.1.0", {{"master", inner}})).json().at("code"), 7);
}

TEST_F(MacvlanTest, AHostLinkNamedLikeTheContainerInterfaceDoesNotMatter) {
  // The reference's reason for creating under a temporary name: a kernel that checked the new
  // name in the creating namespace. This one checks it where the link goes.
  host_->run([] {
    const auto nl = net::Netlink::connect();
    (void)net::create_veth(nl, {.name = "eth0", .peer_name = "eth0p"});
  });
  const auto conf = config("1.1.0");
  const auto add = call("ADD", conf);
  ASSERT_EQ(add.exit_code, 0) << add.out;
  EXPECT_EQ(net::get_link(ctr_nl(), "eth0").kind, "macvlan");
  EXPECT_EQ(call("DEL", conf).exit_code, 0);
  EXPECT_TRUE(net::find_link(host_nl(), "eth0"));
}

TEST_F(MacvlanTest, BadConfigGetsItsCodeAndLeavesNothing) {
  struct Case {
    json extra;
    int code;
  };
  const std::vector<Case> cases = {
      {{{"mode", "source"}}, 2},
      {{{"bcqueuelen", 100}}, 2},
      {{{"mode", "nonsense"}}, 7},
      {{{"master", "nosuchlink"}}, 7},
      {{{"mtu", 9000}}, 7},  // above the master's 1500
      {{{"mtu", -1}}, 6},
      {{{"mac", "01:00:5e:00:00:01"}}, 7},
      {{{"ipam", "host-local"}}, 7},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.extra.dump());
    const auto add = call("ADD", config("1.1.0", c.extra));
    EXPECT_EQ(add.exit_code, 1);
    EXPECT_EQ(add.json().at("code"), c.code) << add.out;
    EXPECT_EQ(link_count(ctr_nl()), 0u);
    EXPECT_EQ(link_count(host_nl()), 2u);
    EXPECT_EQ(reservations(), 0u);
  }
  EXPECT_EQ(call("ADD", config("1.1.0", {{"bcqueuelen", 0}, {"ipam", json::object()}})).exit_code,
            0);
  EXPECT_EQ(call("DEL", config("1.1.0")).exit_code, 0);
}

TEST_F(MacvlanTest, FailedIpamOrTakenNameLeavesNothing) {
  // IPAM fails after the link exists: the link goes again.
  auto small = ipam();
  small["ranges"] = json::array({json::array({{{"subnet", "10.62.0.0/31"}}})});
  auto bad_ipam = config("1.1.0", {{"ipam", small}});
  auto add = call("ADD", bad_ipam);
  EXPECT_EQ(add.exit_code, 1) << add.out;
  EXPECT_EQ(link_count(ctr_nl()), 0u);
  // An IP that routes cannot use: the address is released and the link removed.
  auto unroutable = ipam();
  unroutable["routes"] = json::array({{{"dst", "10.80.0.0/16"}, {"gw", "10.99.0.1"}}});
  auto bad_route = config("1.1.0", {{"ipam", unroutable}});
  add = call("ADD", bad_route);
  EXPECT_EQ(add.exit_code, 1) << add.out;
  EXPECT_EQ(link_count(ctr_nl()), 0u);
  EXPECT_EQ(reservations(), 0u);
  // CNI_IFNAME taken in the container.
  container_->run([] {
    const auto nl = net::Netlink::connect();
    (void)net::create_veth(nl, {.name = "eth0", .peer_name = "eth0p"});
  });
  add = call("ADD", config("1.1.0"));
  EXPECT_EQ(add.exit_code, 1);
  EXPECT_EQ(net::get_link(ctr_nl(), "eth0").kind, "veth");
  EXPECT_EQ(reservations(), 0u);
}

TEST_F(MacvlanTest, DelWithoutNetnsOrAfterItIsGone) {
  const auto conf = config("1.1.0");
  ASSERT_EQ(call("ADD", conf).exit_code, 0);
  EXPECT_EQ(reservations(), 1u);
  EXPECT_EQ(call("DEL", conf, {{"CNI_NETNS", ""}}).exit_code, 0);
  EXPECT_EQ(reservations(), 0u);
  net::Netns::delete_persisted_if_exists(netns_name_);
  EXPECT_EQ(call("DEL", conf).exit_code, 0);
  EXPECT_EQ(call("DEL", conf).exit_code, 0);
}

TEST_F(MacvlanTest, StatusAndGcGoToIpam) {
  const auto conf = config("1.1.0");
  ASSERT_EQ(call("ADD", conf).exit_code, 0);
  EXPECT_EQ(call("STATUS", conf).exit_code, 0);
  EXPECT_EQ(call("STATUS", config("1.1.0", {{"ipam", json::object()}})).exit_code, 0);
  auto gc = conf;
  gc["cni.dev/valid-attachments"] = json::array({{{"containerID", "ctr1"}, {"ifname", "eth0"}}});
  EXPECT_EQ(call("GC", gc).exit_code, 0);
  EXPECT_EQ(reservations(), 1u);
  gc["cni.dev/valid-attachments"] = json::array();
  EXPECT_EQ(call("GC", gc).exit_code, 0);
  EXPECT_EQ(reservations(), 0u);
  EXPECT_EQ(call("DEL", conf).exit_code, 0);
}

}  // namespace
