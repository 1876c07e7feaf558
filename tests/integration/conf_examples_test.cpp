// The conflists shipped in conf/ work as a runtime would use them: each list runs ADD down its
// chain, CHECK (with the final result as prevResult) and DEL in reverse, in the test's sandbox.

#include <fstream>
#include <string>
#include <vector>

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
  ASSERT_FALSE(list.at("plugins").empty());
  // The runtime's transformation (spec §a4): the list's name and version go into each plugin's.
  std::vector<json> confs;
  for (json conf : list.at("plugins")) {
    conf["name"] = list.at("name");
    conf["cniVersion"] = list.at("cniVersion");
    confs.push_back(std::move(conf));
  }

  const std::string netns = unique_name("conf");
  container_->persist(netns);
  const std::map<std::string, std::string> env = {{"CNI_CONTAINERID", "confctr"},
                                                  {"CNI_NETNS", "/run/netns/" + netns},
                                                  {"CNI_IFNAME", "eth0"}};
  auto call = [&](const std::string& command, const json& c) {
    return host_->run([&] {
      return nsnet::testing::exec_plugin(nsnet::testing::plugin_dir(), c.at("type"), command,
                                         env, c.dump());
    });
  };
  // ADD down the chain, each plugin getting the previous one's result; CHECK and DEL (in
  // reverse) with the final result, as libcni caches it.
  json result;
  for (auto conf : confs) {
    if (!result.is_null()) conf["prevResult"] = result;
    const auto add = call("ADD", conf);
    ASSERT_EQ(add.exit_code, 0) << conf.at("type") << ": " << add.out;
    result = add.json();
  }
  EXPECT_FALSE(result.at("ips").empty());
  for (auto conf : confs) {
    conf["prevResult"] = result;
    const auto checked = call("CHECK", conf);
    EXPECT_EQ(checked.exit_code, 0) << conf.at("type") << ": " << checked.out;
  }
  for (auto it = confs.rbegin(); it != confs.rend(); ++it) {
    json conf = *it;
    conf["prevResult"] = result;
    EXPECT_EQ(call("DEL", conf).exit_code, 0) << conf.at("type");
  }
  const auto nl = container_->run([] { return net::Netlink::connect(); });
  EXPECT_FALSE(net::find_link(nl, "eth0"));
  net::Netns::delete_persisted_if_exists(netns);
}

INSTANTIATE_TEST_SUITE_P(Shipped, ConfExamplesTest,
                         ::testing::Values("10-bridge.conflist", "20-ptp.conflist",
                                           "30-bridge-firewall.conflist"));

}  // namespace
