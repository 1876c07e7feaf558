// host-device through its real binary. A veth end in the host netns stands in for a physical
// NIC (the kernel here has no dummy and the machine no spare NIC): it is found by device, hwaddr
// or kernelpath, goes into the container as CNI_IFNAME with its addresses and its own name in
// its alias, and comes back on DEL under its own name with its addresses.

#include <gtest/gtest.h>

#include "netcore/cni/version.hpp"
#include "netcore/net/address.hpp"
#include "netcore/net/link.hpp"
#include "support/l2_plugin_test.hpp"

namespace {

namespace net = netcore::net;
using netcore::cni::version_at_least;
using nlohmann::json;
using nsnet::testing::tcp_source;

class HostDeviceTest : public nsnet::testing::L2PluginTest {
 protected:
  HostDeviceTest() : L2PluginTest("host-device") {}

  void SetUp() override {
    L2PluginTest::SetUp();
    if (IsSkipped()) return;
    device_ = unique_name("hd");
    peer_ = device_.substr(0, 13) + "pp";
    host_->run([&] {
      const auto nl = net::Netlink::connect();
      const auto link = net::create_veth(nl, {.name = device_, .peer_name = peer_});
      net::set_up(nl, link.index);
      net::set_up(nl, net::get_link(nl, peer_).index);
      net::add_address(nl, link.index, net::Prefix::parse("10.72.0.5/24"), {.nodad = true});
      net::add_address(nl, link.index, net::Prefix::parse("fd72::5/64"), {.nodad = true});
      net::add_address(nl, net::get_link(nl, peer_).index, net::Prefix::parse("10.72.0.6/24"),
                       {.nodad = true});
    });
  }

  json config(const std::string& version, const json& extra = json::object()) {
    json conf = {{"device", device_}};
    conf.merge_patch(extra);
    return plugin_config(version, conf);
  }

  // The device's global addresses, as "a/len" strings, sorted.
  static std::set<std::string> addresses_of(const net::Netlink& nl, int index) {
    std::set<std::string> out;
    for (const auto& a : net::list_addresses(nl, index))
      if (a.prefix.is_v4() || !a.prefix.address().to_v6().is_link_local())
        out.insert(a.prefix.to_string());
    return out;
  }

  void expect_back_in_host() {
    const auto hnl = host_nl();
    const auto link = net::find_link(hnl, device_);
    ASSERT_TRUE(link);
    EXPECT_EQ(link->alias, "");
    EXPECT_EQ(addresses_of(hnl, link->index),
              (std::set<std::string>{"10.72.0.5/24", "fd72::5/64"}));
    EXPECT_FALSE(net::find_link(ctr_nl(), "eth0"));
  }

  std::string device_;
  std::string peer_;
};

TEST_F(HostDeviceTest, LifecycleInEverySpecVersion) {
  for (const auto& version : netcore::cni::all_spec_versions()) {
    SCOPED_TRACE(version);
    const auto conf = config(version, {{"ipam", ipam()}});
    const std::string mac = net::get_link(host_nl(), device_).mac.to_string();
    const auto add = call("ADD", conf);
    ASSERT_EQ(add.exit_code, 0) << add.out;
    const auto result = add.json();
    const auto cnl = ctr_nl();
    const auto eth0 = net::get_link(cnl, "eth0");
    EXPECT_EQ(eth0.alias, device_);
    EXPECT_EQ(eth0.mac.to_string(), mac);
    EXPECT_TRUE(eth0.up);
    EXPECT_EQ(addresses_of(cnl, eth0.index),
              (std::set<std::string>{"10.72.0.5/24", "fd72::5/64", "10.62.0.2/24"}));
    if (version_at_least(version, "0.3.0")) {
      EXPECT_EQ(result["interfaces"][0].at("name"), "eth0");
      EXPECT_EQ(result["interfaces"][0].at("mac"), mac);
      EXPECT_EQ(result["interfaces"][0].at("sandbox"), netns_path_);
      EXPECT_EQ(result["ips"][0].at("address"), "10.62.0.2/24");
    } else {
      EXPECT_EQ(result.at("ip4").at("ip"), "10.62.0.2/24");
    }
    EXPECT_FALSE(net::find_link(host_nl(), device_));
    if (version_at_least(version, "0.4.0")) {
      EXPECT_EQ(call("CHECK", with_prev(conf, add)).exit_code, 0);
    }
    // DEL with prevResult: IPAM's address does not go back to the host.
    const auto del = call("DEL", with_prev(conf, add));
    EXPECT_EQ(del.exit_code, 0) << del.out;
    EXPECT_EQ(call("DEL", conf).exit_code, 0);
    expect_back_in_host();
    EXPECT_EQ(reservations(), 0u);
    std::filesystem::remove_all(temp_dir() / "ipam");
  }
}

TEST_F(HostDeviceTest, TrafficThroughTheMovedDevice) {
  const auto conf = config("1.1.0");
  ASSERT_EQ(call("ADD", conf).exit_code, 0);
  // The container now owns 10.72.0.5 on the device; its veth peer stayed in the host.
  EXPECT_EQ(tcp_source(*host_, *container_, "10.72.0.5", 7091), "10.72.0.6");
  EXPECT_EQ(call("DEL", conf).exit_code, 0);
  expect_back_in_host();
}

TEST_F(HostDeviceTest, CheckFailsWithoutTheAliasOrAnAddress) {
  const auto conf = config("1.1.0", {{"ipam", ipam()}});
  const auto add = call("ADD", conf);
  ASSERT_EQ(add.exit_code, 0) << add.out;
  ASSERT_EQ(call("CHECK", with_prev(conf, add)).exit_code, 0);
  const auto cnl = ctr_nl();
  const int index = net::get_link(cnl, "eth0").index;
  net::delete_address(cnl, index, net::Prefix::parse("10.62.0.2/24"));
  EXPECT_NE(call("CHECK", with_prev(conf, add)).out.find("10.62.0.2/24"), std::string::npos);
  net::add_address(cnl, index, net::Prefix::parse("10.62.0.2/24"));
  net::set_alias(cnl, index, "");
  EXPECT_NE(call("CHECK", with_prev(conf, add)).out.find("alias"), std::string::npos);
  net::set_alias(cnl, index, device_);
  EXPECT_EQ(call("DEL", with_prev(conf, add)).exit_code, 0);
  expect_back_in_host();
}

TEST_F(HostDeviceTest, FoundByHwaddrAndByKernelpath) {
  const std::string mac = net::get_link(host_nl(), device_).mac.to_string();
  for (const json& select :
       {json{{"hwaddr", mac}}, json{{"kernelpath", "/sys/devices/virtual/net/" + device_}}}) {
    SCOPED_TRACE(select.dump());
    json conf = plugin_config("1.1.0", select);
    const auto add = call("ADD", conf);
    ASSERT_EQ(add.exit_code, 0) << add.out;
    EXPECT_EQ(net::get_link(ctr_nl(), "eth0").alias, device_);
    EXPECT_EQ(call("CHECK", with_prev(conf, add)).exit_code, 0);
    EXPECT_EQ(call("DEL", conf).exit_code, 0);
    expect_back_in_host();
  }
  // A kernelpath naming nothing in the host netns: code 7.
  const auto add = call(
      "ADD", plugin_config("1.1.0", {{"kernelpath", "/sys/devices/virtual/net/nosuch0"}}));
  EXPECT_EQ(add.json().at("code"), 7) << add.out;
}

TEST_F(HostDeviceTest, ANameTakenInTheHostDoesNotBlockTheWayBack) {
  // CNI_IFNAME exists in the host: the rename happens in a private namespace, not here.
  host_->run([] {
    const auto nl = net::Netlink::connect();
    (void)net::create_veth(nl, {.name = "eth0", .peer_name = "eth0p"});
  });
  const auto conf = config("1.1.0");
  ASSERT_EQ(call("ADD", conf).exit_code, 0);
  EXPECT_EQ(net::get_link(ctr_nl(), "eth0").alias, device_);
  EXPECT_EQ(call("DEL", conf).exit_code, 0);
  expect_back_in_host();
}

TEST_F(HostDeviceTest, BadConfigGetsItsCodeAndLeavesNothing) {
  struct Case {
    json conf;
    int code;
  };
  const std::vector<Case> cases = {
      {plugin_config("1.1.0", json::object()), 7},
      {plugin_config("1.1.0", {{"pciBusID", "0000:00:03.0"}}), 2},
      {config("1.1.0", {{"runtimeConfig", {{"deviceID", "0000:00:03.0"}}}}), 2},
      {plugin_config("1.1.0", {{"device", "nosuch0"}}), 7},
      {plugin_config("1.1.0", {{"hwaddr", "02:99:99:99:99:99"}}), 7},
      {plugin_config("1.1.0", {{"kernelpath", "/etc/passwd"}}), 7},
      {plugin_config("1.1.0", {{"kernelpath", "/sys/devices/../../etc"}}), 7},
      {plugin_config("1.1.0", {{"device", "lo"}}), 7},
      {config("1.1.0", {{"ipam", "x"}}), 7},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.conf.dump());
    const auto add = call("ADD", c.conf);
    EXPECT_EQ(add.exit_code, 1);
    EXPECT_EQ(add.json().at("code"), c.code) << add.out;
    EXPECT_EQ(link_count(ctr_nl()), 0u);
    expect_back_in_host();
  }
}

TEST_F(HostDeviceTest, FailedAddPutsTheDeviceBack) {
  auto bad = ipam();
  bad["routes"] = json::array({{{"dst", "10.80.0.0/16"}, {"gw", "10.99.0.1"}}});
  const auto add = call("ADD", config("1.1.0", {{"ipam", bad}}));
  EXPECT_EQ(add.exit_code, 1) << add.out;
  expect_back_in_host();
  EXPECT_EQ(reservations(), 0u);
  // CNI_IFNAME taken in the container: nothing moves.
  container_->run([] {
    const auto nl = net::Netlink::connect();
    (void)net::create_veth(nl, {.name = "eth0", .peer_name = "eth0p"});
  });
  EXPECT_EQ(call("ADD", config("1.1.0")).exit_code, 1);
  EXPECT_TRUE(net::find_link(host_nl(), device_));
}

TEST_F(HostDeviceTest, DelWithoutNetnsOrAfterItIsGoneAndStatusGc) {
  const auto conf = config("1.1.0", {{"ipam", ipam()}});
  ASSERT_EQ(call("ADD", conf).exit_code, 0);
  EXPECT_EQ(call("STATUS", conf).exit_code, 0);
  auto gc = conf;
  gc["cni.dev/valid-attachments"] = json::array();
  EXPECT_EQ(call("GC", gc).exit_code, 0);
  EXPECT_EQ(reservations(), 0u);
  EXPECT_EQ(call("DEL", conf, {{"CNI_NETNS", ""}}).exit_code, 0);
  EXPECT_TRUE(net::find_link(ctr_nl(), "eth0"));  // without the netns nothing can move it
  EXPECT_EQ(call("DEL", conf).exit_code, 0);      // with it, it comes back
  EXPECT_TRUE(net::find_link(host_nl(), device_));
  net::Netns::delete_persisted_if_exists(netns_name_);
  EXPECT_EQ(call("DEL", conf).exit_code, 0);
}

}  // namespace
