// The conflists shipped in conf/ work as a runtime would use them: each single-plugin list runs
// ADD, CHECK (with the ADD result as prevResult) and DEL in the test's sandbox.

#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "netcore/net/link.hpp"
#include "netcore/net/netlink.hpp"
#include "support/plugin_runner.hpp"
#include "support/sandbox.hpp"

namespace {

namespace net = netcore::net;
using nlohmann::json;

class ConfExamplesTest : public nsnet::testing::SandboxTest,
                         public ::testing::WithParamInterface<const char*> {};

TEST_P(ConfExamplesTest, AddCheckDelAsARuntimeWould) {
  std::ifstream file(std::string(NSNET_CONF_DIR) + "/" + GetParam());
  ASSERT_TRUE(file) << GetParam();
  const json list = json::parse(file);
  ASSERT_EQ(list.at("plugins").size(), 1u);
  // The runtime's transformation (spec §a4): the list's name and version go into the plugin's.
  json conf = list.at("plugins").at(0);
  conf["name"] = list.at("name");
  conf["cniVersion"] = list.at("cniVersion");

  const std::string netns = unique_name("conf");
  container_->persist(netns);
  const std::map<std::string, std::string> env = {{"CNI_CONTAINERID", "confctr"},
                                                  {"CNI_NETNS", "/run/netns/" + netns},
                                                  {"CNI_IFNAME", "eth0"}};
  const std::string type = conf.at("type");
  auto call = [&](const std::string& command, const json& c) {
    return host_->run([&] {
      return nsnet::testing::exec_plugin(nsnet::testing::plugin_dir(), type, command, env,
                                         c.dump());
    });
  };
  const auto add = call("ADD", conf);
  ASSERT_EQ(add.exit_code, 0) << add.out;
  EXPECT_FALSE(add.json().at("ips").empty());
  auto check = conf;
  check["prevResult"] = add.json();
  const auto checked = call("CHECK", check);
  EXPECT_EQ(checked.exit_code, 0) << checked.out;
  EXPECT_EQ(call("DEL", check).exit_code, 0);
  const auto nl = container_->run([] { return net::Netlink::connect(); });
  EXPECT_FALSE(net::find_link(nl, "eth0"));
  net::Netns::delete_persisted_if_exists(netns);
}

INSTANTIATE_TEST_SUITE_P(Shipped, ConfExamplesTest,
                         ::testing::Values("10-bridge.conflist", "20-ptp.conflist"));

}  // namespace
