#include "netcore/net/address.hpp"

#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <netlink/errno.h>

#include <algorithm>
#include <optional>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "netcore/base/error.hpp"
#include "netcore/net/link.hpp"
#include "netcore/net/netlink.hpp"
#include "netcore/net/route.hpp"
#include "support/sandbox.hpp"

namespace netcore::net {
namespace {

using nlohmann::json;

class AddressTest : public nsnet::testing::SandboxTest {
 protected:
  void SetUp() override {
    SandboxTest::SetUp();
    if (IsSkipped()) return;
    nl_.emplace(host_->run([] { return Netlink::connect(); }));
    link_ = create_veth(*nl_, {.name = unique_name("ad"), .peer_name = unique_name("adp")});
    set_up(*nl_, link_.index);
  }
  void TearDown() override {
    nl_.reset();
    SandboxTest::TearDown();
  }

  std::optional<AddressInfo> find(const Prefix& prefix) const {
    for (auto& a : list_addresses(*nl_, link_.index))
      if (a.prefix == prefix) return a;
    return std::nullopt;
  }
  json ip_addr_info() const {
    json links =
        json::parse(nsnet::testing::run_in_netns(*host_, "ip -j addr show dev " + link_.name));
    return links.at(0).at("addr_info");
  }

  std::optional<Netlink> nl_;
  LinkInfo link_;
};

TEST_F(AddressTest, AddIpv4SetsBroadcastLikeIproute2) {
  const auto prefix = Prefix::parse("10.1.0.5/24");
  add_address(*nl_, link_.index, prefix);
  const auto info = find(prefix);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->ifindex, link_.index);
  EXPECT_EQ(info->scope, RT_SCOPE_UNIVERSE);
  ASSERT_TRUE(info->broadcast.has_value());
  EXPECT_EQ(info->broadcast->to_string(), "10.1.0.255");
  EXPECT_EQ(info->label, link_.name);

  json addrs = ip_addr_info();
  ASSERT_EQ(addrs.size(), 1u) << addrs.dump();  // the veth is down on the far side: no v6 LL yet
  EXPECT_EQ(addrs[0]["local"], "10.1.0.5");
  EXPECT_EQ(addrs[0]["prefixlen"], 24);
  EXPECT_EQ(addrs[0]["broadcast"], "10.1.0.255");

  // /31 and /32 get no broadcast, as with `brd +`.
  add_address(*nl_, link_.index, Prefix::parse("10.2.0.1/32"));
  EXPECT_FALSE(find(Prefix::parse("10.2.0.1/32"))->broadcast.has_value());

  try {
    add_address(*nl_, link_.index, prefix);
    FAIL() << "no error";
  } catch (const NetlinkError& e) {
    EXPECT_EQ(e.nl_error(), NLE_EXIST);
    EXPECT_NE(e.msg().find("add address 10.1.0.5/24 on ifindex"), std::string::npos) << e.msg();
  }
}

TEST_F(AddressTest, AddIpv6WithNodadIsNotTentative) {
  const auto prefix = Prefix::parse("fd00:1::5/64");
  add_address(*nl_, link_.index, prefix, {.nodad = true});
  const auto info = find(prefix);
  ASSERT_TRUE(info.has_value());
  EXPECT_TRUE(info->flags & IFA_F_NODAD);
  EXPECT_FALSE(info->flags & IFA_F_TENTATIVE);
  EXPECT_FALSE(info->broadcast.has_value());

  json addrs = ip_addr_info();
  const auto it = std::find_if(addrs.begin(), addrs.end(), [](const json& a) {
    return a.value("local", json()) == "fd00:1::5";
  });
  ASSERT_NE(it, addrs.end()) << addrs.dump();
  EXPECT_EQ((*it)["prefixlen"], 64);
  EXPECT_EQ(it->value("nodad", false), true) << it->dump();

  // Without nodad the address starts tentative (the link is up, its peer down).
  add_address(*nl_, link_.index, Prefix::parse("fd00:2::5/64"));
  EXPECT_TRUE(find(Prefix::parse("fd00:2::5/64"))->flags & IFA_F_TENTATIVE);
}

TEST_F(AddressTest, NoprefixrouteAddsNoSubnetRoute) {
  add_address(*nl_, link_.index, Prefix::parse("10.3.0.1/24"), {.noprefixroute = true});
  add_address(*nl_, link_.index, Prefix::parse("10.4.0.1/24"));
  const auto routes = list_routes(*nl_, AF_INET, link_.index);
  const auto has = [&](const std::string& dst) {
    return std::any_of(routes.begin(), routes.end(),
                       [&](const Route& r) { return r.dst.to_string() == dst; });
  };
  EXPECT_FALSE(has("10.3.0.0/24"));
  EXPECT_TRUE(has("10.4.0.0/24"));
  EXPECT_TRUE(find(Prefix::parse("10.3.0.1/24"))->flags & IFA_F_NOPREFIXROUTE);
}

TEST_F(AddressTest, ReplaceUpdatesAndDeleteRemoves) {
  const auto prefix = Prefix::parse("fd00:3::1/64");
  add_address(*nl_, link_.index, prefix);
  replace_address(*nl_, link_.index, prefix, {.nodad = true});       // no NLE_EXIST
  replace_address(*nl_, link_.index, Prefix::parse("10.5.0.1/16"));  // adds when missing
  EXPECT_TRUE(find(Prefix::parse("10.5.0.1/16")).has_value());

  delete_address(*nl_, link_.index, prefix);
  EXPECT_FALSE(find(prefix).has_value());
  delete_address(*nl_, link_.index, Prefix::parse("10.5.0.1/16"));
  EXPECT_TRUE(ip_addr_info().empty() ||
              std::none_of(ip_addr_info().begin(), ip_addr_info().end(),
                           [](const json& a) { return a.value("family", json()) == "inet"; }));
  EXPECT_THROW(delete_address(*nl_, link_.index, prefix), NetlinkError);
}

TEST_F(AddressTest, ListFiltersByLinkAndFamily) {
  add_address(*nl_, link_.index, Prefix::parse("10.6.0.1/24"));
  add_address(*nl_, link_.index, Prefix::parse("fd00:6::1/64"), {.nodad = true});
  add_address(*nl_, 1, Prefix::parse("127.0.0.1/8"));  // lo, scope host by default
  const auto v4 = list_addresses(*nl_, link_.index, AF_INET);
  ASSERT_EQ(v4.size(), 1u);
  EXPECT_EQ(v4[0].prefix.to_string(), "10.6.0.1/24");
  for (const auto& a : list_addresses(*nl_, link_.index, AF_INET6)) EXPECT_FALSE(a.prefix.is_v4());
  const auto lo = list_addresses(*nl_, 1, AF_INET);
  ASSERT_EQ(lo.size(), 1u);
  EXPECT_EQ(lo[0].scope, RT_SCOPE_HOST);
  const auto all = list_addresses(*nl_);
  EXPECT_GE(all.size(), 3u);
  EXPECT_TRUE(std::is_sorted(all.begin(), all.end(),
                             [](const auto& a, const auto& b) { return a.ifindex < b.ifindex; }));
}

}  // namespace
}  // namespace netcore::net
