// tap through its real binary: every spec version, each option (mac, mtu, multiQueue, owner,
// group, bridge inside the container, ipam), DEL without context, error codes and zero residue.

#include <gtest/gtest.h>

#include "netcore/cni/version.hpp"
#include "netcore/net/address.hpp"
#include "netcore/net/link.hpp"
#include "support/l2_plugin_test.hpp"

namespace {

namespace net = netcore::net;
using netcore::cni::version_at_least;
using nlohmann::json;

class TapTest : public nsnet::testing::L2PluginTest {
 protected:
  TapTest() : L2PluginTest("tap") {}
  json config(const std::string& version, const json& extra = json::object()) {
    return plugin_config(version, extra);
  }
  std::string tap_details() {
    return nsnet::testing::run_in_netns(*container_, "ip -d -j link show eth0");
  }
};

TEST_F(TapTest, LifecycleInEverySpecVersion) {
  for (const auto& version : netcore::cni::all_spec_versions()) {
    SCOPED_TRACE(version);
    const auto conf = config(version, {{"ipam", ipam()}, {"mtu", 1400}});
    const auto add = call("ADD", conf);
    ASSERT_EQ(add.exit_code, 0) << add.out;
    const auto result = add.json();
    const auto cnl = ctr_nl();
    const auto eth0 = net::get_link(cnl, "eth0");
    EXPECT_EQ(eth0.kind, "tun");
    EXPECT_TRUE(eth0.up);
    EXPECT_EQ(eth0.mtu, 1400u);
    if (version_at_least(version, "0.3.0")) {
      EXPECT_EQ(result["interfaces"][0].at("name"), "eth0");
      EXPECT_EQ(result["interfaces"][0].at("mac"), eth0.mac.to_string());
      EXPECT_EQ(result["ips"][0].at("address"), "10.62.0.2/24");
    } else {
      EXPECT_EQ(result.at("ip4").at("ip"), "10.62.0.2/24");
    }
    const auto addresses = net::list_addresses(cnl, eth0.index, AF_INET);
    ASSERT_EQ(addresses.size(), 1u);
    EXPECT_EQ(addresses[0].prefix.to_string(), "10.62.0.2/24");
    EXPECT_NE(tap_details().find("\"type\":\"tap\""), std::string::npos) << tap_details();
    EXPECT_EQ(link_count(host_nl()), 0u);
    if (version_at_least(version, "0.4.0")) {
      EXPECT_EQ(call("CHECK", with_prev(conf, add)).exit_code, 0);
    }
    EXPECT_EQ(call("DEL", conf).exit_code, 0);
    EXPECT_EQ(call("DEL", conf).exit_code, 0);
    EXPECT_FALSE(net::find_link(ctr_nl(), "eth0"));
    EXPECT_EQ(reservations(), 0u);
    std::filesystem::remove_all(temp_dir() / "ipam");
  }
}

TEST_F(TapTest, OwnerGroupMultiQueueAndMac) {
  const auto conf = config(
      "1.1.0",
      {{"owner", 1234}, {"group", 2345}, {"multiQueue", true}, {"mac", "02:11:22:33:44:55"}});
  const auto add = call("ADD", conf);
  ASSERT_EQ(add.exit_code, 0) << add.out;
  EXPECT_EQ(add.json()["interfaces"][0].at("mac"), "02:11:22:33:44:55");
  const auto details = tap_details();
  EXPECT_NE(details.find("\"user\":1234"), std::string::npos) << details;
  EXPECT_NE(details.find("\"group\":2345"), std::string::npos) << details;
  EXPECT_NE(details.find("\"multi_queue\":true"), std::string::npos) << details;
  EXPECT_EQ(net::get_link(ctr_nl(), "eth0").mac.to_string(), "02:11:22:33:44:55");
  EXPECT_TRUE(net::get_link(ctr_nl(), "eth0").up);  // no ipam: still up
  EXPECT_EQ(call("CHECK", with_prev(conf, add)).exit_code, 0);
  EXPECT_EQ(call("DEL", conf).exit_code, 0);
  // Without the options: no owner, single queue.
  ASSERT_EQ(call("ADD", config("1.1.0")).exit_code, 0);
  EXPECT_NE(tap_details().find("\"multi_queue\":false"), std::string::npos) << tap_details();
  EXPECT_EQ(tap_details().find("\"user\""), std::string::npos) << tap_details();
  EXPECT_EQ(call("DEL", config("1.1.0")).exit_code, 0);
}

TEST_F(TapTest, BridgeInsideTheContainerGetsTheTapAsPort) {
  const std::string br = unique_name("br");
  const int br_index = container_->run([&] {
    const auto nl = net::Netlink::connect();
    return net::ensure_bridge(nl, {.name = br}).index;
  });
  const auto conf = config("1.1.0", {{"bridge", br}});
  const auto add = call("ADD", conf);
  ASSERT_EQ(add.exit_code, 0) << add.out;
  EXPECT_EQ(net::get_link(ctr_nl(), "eth0").master_index, br_index);
  EXPECT_EQ(call("CHECK", with_prev(conf, add)).exit_code, 0);
  container_->run([] {
    const auto nl = net::Netlink::connect();
    net::set_nomaster(nl, net::get_link(nl, "eth0").index);
  });
  EXPECT_NE(call("CHECK", with_prev(conf, add)).exit_code, 0);
  EXPECT_EQ(call("DEL", conf).exit_code, 0);
  EXPECT_TRUE(net::find_link(ctr_nl(), br));  // the bridge is not ours
  // A bridge that does not exist in the container (or is no bridge): code 7, nothing made.
  EXPECT_EQ(call("ADD", config("1.1.0", {{"bridge", "nosuchbr"}})).json().at("code"), 7);
  EXPECT_EQ(call("ADD", config("1.1.0", {{"bridge", "lo"}})).json().at("code"), 7);
  EXPECT_EQ(link_count(ctr_nl()), 1u);
}

TEST_F(TapTest, BadConfigGetsItsCodeAndLeavesNothing) {
  struct Case {
    json extra;
    int code;
  };
  const std::vector<Case> cases = {
      {{{"selinuxContext", "system_u:system_r:svirt_t:s0"}}, 2},
      {{{"mtu", 10}}, 7},
      {{{"owner", -1}}, 6},
      {{{"multiQueue", "yes"}}, 6},
      {{{"mac", "nonsense"}}, 7},
      {{{"bridge", "a/b"}}, 7},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.extra.dump());
    const auto add = call("ADD", config("1.1.0", c.extra));
    EXPECT_EQ(add.exit_code, 1);
    EXPECT_EQ(add.json().at("code"), c.code) << add.out;
    EXPECT_EQ(link_count(ctr_nl()), 0u);
  }
  // IPAM that fails after the tap exists: the tap goes again, no reservation stays.
  const auto add = call(
      "ADD", config("1.1.0", {{"ipam",
                               {{"type", "host-local"},
                                {"dataDir", (temp_dir() / "ipam").string()},
                                {"ranges", {{{{"subnet", "10.62.0.0/24"}}}}},
                                {"routes", {{{"dst", "10.80.0.0/16"}, {"gw", "10.99.0.1"}}}}}}}));
  EXPECT_EQ(add.exit_code, 1) << add.out;
  EXPECT_EQ(link_count(ctr_nl()), 0u);
  EXPECT_EQ(reservations(), 0u);
}

TEST_F(TapTest, DelWithoutNetnsOrAfterItIsGoneAndStatusGc) {
  const auto conf = config("1.1.0", {{"ipam", ipam()}});
  ASSERT_EQ(call("ADD", conf).exit_code, 0);
  EXPECT_EQ(call("STATUS", conf).exit_code, 0);
  auto gc = conf;
  gc["cni.dev/valid-attachments"] = json::array();
  EXPECT_EQ(call("GC", gc).exit_code, 0);
  EXPECT_EQ(reservations(), 0u);
  EXPECT_EQ(call("DEL", conf, {{"CNI_NETNS", ""}}).exit_code, 0);
  net::Netns::delete_persisted_if_exists(netns_name_);
  EXPECT_EQ(call("DEL", conf).exit_code, 0);
}

}  // namespace
