// The conflists shipped in conf/ work as a runtime would use them: each list runs through
// netcore::cni's conflist runtime — ADD down its chain, CHECK with the final result, DEL in
// reverse — in the test's sandbox, and leaves no interface in the container.

#include <string>

#include <gtest/gtest.h>

#include "netcore/cni/conflist.hpp"
#include "netcore/net/link.hpp"
#include "netcore/net/netlink.hpp"
#include "support/plugin_runner.hpp"
#include "support/sandbox.hpp"

namespace {

namespace cni = netcore::cni;
namespace net = netcore::net;

class ConfExamplesTest : public nsnet::testing::SandboxTest,
                         public ::testing::WithParamInterface<const char*> {};

TEST_P(ConfExamplesTest, AddCheckDelAsARuntimeWould) {
  const auto list = cni::NetworkList::load(std::string(NSNET_CONF_DIR) + "/" + GetParam());
  const std::string netns = unique_name("conf");
  container_->persist(netns);
  const cni::RuntimeConf rt{
      .container_id = "confctr", .netns = "/run/netns/" + netns, .ifname = "eth0"};
  const cni::PluginRunner runner{.path = {nsnet::testing::plugin_dir().string()},
                                 .env = {{"PATH", "/usr/sbin:/usr/bin:/sbin:/bin"}}};
  host_->run([&] {
    const cni::Result result = cni::add_network_list(list, rt, runner);
    EXPECT_FALSE(result.ips.empty());
    cni::check_network_list(list, rt, result, runner);
    cni::del_network_list(list, rt, result, runner);
  });
  const auto nl = container_->run([] { return net::Netlink::connect(); });
  EXPECT_FALSE(net::find_link(nl, "eth0"));
  net::Netns::delete_persisted_if_exists(netns);
}

INSTANTIATE_TEST_SUITE_P(Shipped, ConfExamplesTest,
                         ::testing::Values("00-nsnet.conflist", "10-bridge.conflist",
                                           "20-ptp.conflist", "30-bridge-firewall.conflist",
                                           "40-chain.conflist"));

}  // namespace
