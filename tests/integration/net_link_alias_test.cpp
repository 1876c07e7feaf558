// netcore::net::set_alias and LinkInfo::alias (IFLA_IFALIAS), checked through `ip -j link`.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "netcore/base/error.hpp"
#include "netcore/net/link.hpp"
#include "netcore/net/netlink.hpp"
#include "support/sandbox.hpp"

namespace {

namespace net = netcore::net;

class LinkAliasTest : public nsnet::testing::SandboxTest {};

TEST_F(LinkAliasTest, SetReadAndClear) {
  const std::string name = unique_name("al");
  const auto nl = host_->run([] { return net::Netlink::connect(); });
  const auto link = net::create_veth(nl, {.name = name, .peer_name = name.substr(0, 13) + "pp"});
  EXPECT_EQ(link.alias, "");
  net::set_alias(nl, link.index, "uplink one");
  EXPECT_EQ(net::get_link(nl, link.index).alias, "uplink one");
  const auto shown = nlohmann::json::parse(
      nsnet::testing::run_in_netns(*host_, "ip -j link show " + name));
  EXPECT_EQ(shown[0].value("ifalias", ""), "uplink one");
  net::set_alias(nl, link.index, "");
  EXPECT_EQ(net::get_link(nl, link.index).alias, "");
  EXPECT_THROW(net::set_alias(nl, link.index, std::string(256, 'a')), netcore::Error);
  EXPECT_THROW(net::set_alias(nl, 99999, "x"), netcore::NetlinkError);
}

}  // namespace
