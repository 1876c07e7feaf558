#include "netcore/net/route.hpp"

#include <linux/rtnetlink.h>
#include <netlink/errno.h>

#include <algorithm>
#include <optional>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "netcore/base/error.hpp"
#include "netcore/net/address.hpp"
#include "netcore/net/link.hpp"
#include "netcore/net/netlink.hpp"
#include "support/sandbox.hpp"

namespace netcore::net {
namespace {

using nlohmann::json;

// A veth pair, one end up with 10.10.0.1/24 and fd10::1/64 (nodad), so routes have a gateway
// subnet to use.
class RouteTest : public nsnet::testing::SandboxTest {
 protected:
  void SetUp() override {
    SandboxTest::SetUp();
    if (IsSkipped()) return;
    nl_.emplace(host_->run([] { return Netlink::connect(); }));
    link_ = create_veth(
        *nl_,
        {.name = unique_name("rt"), .peer_name = unique_name("rtp"), .peer_netns = &*container_});
    set_up(*nl_, link_.index);
    add_address(*nl_, link_.index, Prefix::parse("10.10.0.1/24"));
    add_address(*nl_, link_.index, Prefix::parse("fd10::1/64"), {.nodad = true});
  }
  void TearDown() override {
    nl_.reset();
    SandboxTest::TearDown();
  }

  std::optional<Route> find(int family, const std::string& dst,
                            std::optional<std::uint32_t> table = std::nullopt) const {
    for (auto& r : list_routes(*nl_, family, std::nullopt, table))
      if (r.dst.to_string() == dst) return r;
    return std::nullopt;
  }
  json ip_routes(const std::string& args) const {
    return json::parse(nsnet::testing::run_in_netns(*host_, "ip -j " + args));
  }

  std::optional<Netlink> nl_;
  LinkInfo link_;
};

TEST_F(RouteTest, GatewayRouteWithMetricMtuAndSource) {
  const Route route{.dst = Prefix::parse("10.20.0.0/16"),
                    .gateway = parse_ip_address("10.10.0.254"),
                    .ifindex = link_.index,
                    .source = parse_ip_address("10.10.0.1"),
                    .metric = 50,
                    .mtu = 1400,
                    .advmss = 1360};
  add_route(*nl_, route);
  const auto listed = find(AF_INET, "10.20.0.0/16");
  ASSERT_TRUE(listed.has_value());
  EXPECT_EQ(*listed, route) << listed->to_string();

  json routes = ip_routes("-d route show 10.20.0.0/16");
  ASSERT_EQ(routes.size(), 1u) << routes.dump();
  EXPECT_EQ(routes[0]["gateway"], "10.10.0.254");
  EXPECT_EQ(routes[0]["dev"], link_.name);
  EXPECT_EQ(routes[0]["metric"], 50);
  EXPECT_EQ(routes[0]["prefsrc"], "10.10.0.1");
  EXPECT_EQ(routes[0]["protocol"], "boot");
  json metrics = routes[0]["metrics"];
  ASSERT_TRUE(metrics.is_array()) << routes.dump();
  EXPECT_TRUE(std::any_of(metrics.begin(), metrics.end(), [](const json& m) {
    return m.value("mtu", 0) == 1400;
  })) << metrics.dump();

  try {
    add_route(*nl_, route);
    FAIL() << "no error";
  } catch (const NetlinkError& e) {
    EXPECT_EQ(e.nl_error(), NLE_EXIST);
    EXPECT_NE(e.msg().find("add route 10.20.0.0/16 via 10.10.0.254"), std::string::npos) << e.msg();
  }
}

TEST_F(RouteTest, OnlinkGatewayOutsideEverySubnet) {
  Route route{.dst = Prefix::parse("0.0.0.0/0"),
              .gateway = parse_ip_address("192.168.99.1"),
              .ifindex = link_.index};
  EXPECT_THROW(add_route(*nl_, route), NetlinkError);  // unreachable gateway
  route.onlink = true;
  add_route(*nl_, route);
  const auto listed = find(AF_INET, "0.0.0.0/0");
  ASSERT_TRUE(listed.has_value());
  EXPECT_TRUE(listed->onlink);
  EXPECT_EQ(listed->gateway->to_string(), "192.168.99.1");
  json routes = ip_routes("route show default");
  ASSERT_EQ(routes.size(), 1u);
  json flags = routes[0]["flags"];
  EXPECT_NE(std::find(flags.begin(), flags.end(), "onlink"), flags.end()) << routes.dump();
}

TEST_F(RouteTest, OtherTableAndDeviceRoute) {
  const Route route{.dst = Prefix::parse("10.30.0.0/24"),
                    .ifindex = link_.index,
                    .table = 100,
                    .scope = RT_SCOPE_LINK};
  add_route(*nl_, route);
  EXPECT_FALSE(find(AF_INET, "10.30.0.0/24", RT_TABLE_MAIN).has_value());
  const auto listed = find(AF_INET, "10.30.0.0/24", 100);
  ASSERT_TRUE(listed.has_value());
  EXPECT_EQ(*listed, route);
  EXPECT_TRUE(find(AF_INET, "10.30.0.0/24").has_value());  // every table but local by default
  json routes = ip_routes("route show table 100");
  ASSERT_EQ(routes.size(), 1u);
  EXPECT_EQ(routes[0]["dst"], "10.30.0.0/24");
  EXPECT_EQ(routes[0]["scope"], "link");
  // A table number above 255 travels in RTA_TABLE.
  add_route(*nl_, {.dst = Prefix::parse("10.31.0.0/24"), .ifindex = link_.index, .table = 1000});
  EXPECT_TRUE(find(AF_INET, "10.31.0.0/24", 1000).has_value());
}

TEST_F(RouteTest, Ipv6Routes) {
  const Route route{.dst = Prefix::parse("fd20::/48"),
                    .gateway = parse_ip_address("fd10::fe"),
                    .ifindex = link_.index,
                    .metric = 300};
  add_route(*nl_, route);
  const auto listed = find(AF_INET6, "fd20::/48");
  ASSERT_TRUE(listed.has_value());
  EXPECT_EQ(*listed, route);
  // Without a metric the kernel picks 1024 and reports it.
  add_route(*nl_, {.dst = Prefix::parse("fd21::/48"), .ifindex = link_.index});
  EXPECT_EQ(find(AF_INET6, "fd21::/48")->metric, 1024u);
  json routes = ip_routes("-6 route show fd20::/48");
  ASSERT_EQ(routes.size(), 1u);
  EXPECT_EQ(routes[0]["gateway"], "fd10::fe");
  EXPECT_EQ(routes[0]["metric"], 300);
}

TEST_F(RouteTest, ReplaceAndDelete) {
  Route route{.dst = Prefix::parse("10.40.0.0/24"), .gateway = parse_ip_address("10.10.0.2")};
  add_route(*nl_, route);
  route.gateway = parse_ip_address("10.10.0.3");
  replace_route(*nl_, route);
  auto listed = find(AF_INET, "10.40.0.0/24");
  ASSERT_TRUE(listed.has_value());
  EXPECT_EQ(listed->gateway->to_string(), "10.10.0.3");
  EXPECT_EQ(listed->ifindex, link_.index);  // the kernel found the device from the gateway

  delete_route(*nl_, route);
  EXPECT_FALSE(find(AF_INET, "10.40.0.0/24").has_value());
  try {
    delete_route(*nl_, route);
    FAIL() << "no error";
  } catch (const NetlinkError& e) {
    EXPECT_EQ(e.nl_error(), NLE_OBJ_NOTFOUND);
  }
  EXPECT_FALSE(delete_route_if_exists(*nl_, route));
  add_route(*nl_, route);
  EXPECT_TRUE(delete_route_if_exists(*nl_, {.dst = Prefix::parse("10.40.0.0/24")}));  // wildcards
  EXPECT_TRUE(ip_routes("route show 10.40.0.0/24").empty());
}

TEST_F(RouteTest, ListingSkipsTheLocalTableUnlessAsked) {
  const auto main_routes = list_routes(*nl_, AF_INET);
  EXPECT_TRUE(std::none_of(main_routes.begin(), main_routes.end(),
                           [](const Route& r) { return r.table == RT_TABLE_LOCAL; }));
  // The subnet route of 10.10.0.1/24 is there, with the kernel's protocol and link scope.
  const auto subnet = find(AF_INET, "10.10.0.0/24");
  ASSERT_TRUE(subnet.has_value());
  EXPECT_EQ(subnet->protocol, RTPROT_KERNEL);
  EXPECT_EQ(subnet->scope, RT_SCOPE_LINK);
  const auto local = list_routes(*nl_, AF_INET, std::nullopt, RT_TABLE_LOCAL);
  EXPECT_TRUE(std::any_of(local.begin(), local.end(), [](const Route& r) {
    return r.dst.to_string() == "10.10.0.1/32" && r.type == RTN_LOCAL;
  }));
  for (const auto& r : list_routes(*nl_, AF_UNSPEC, link_.index)) EXPECT_EQ(r.ifindex, link_.index);
}

}  // namespace
}  // namespace netcore::net
