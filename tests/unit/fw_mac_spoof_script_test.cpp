// The kernel-free half of netcore::fw's MAC spoof check: tags, batch text and the parser of
// `nft -j` listings.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "mac_spoof_impl.hpp"
#include "netcore/fw/masquerade.hpp"
#include "support/text.hpp"

namespace netcore::fw {
namespace {

using nsnet::testing::contains;

TEST(FwMacSpoofScriptTest, TagStartsWithTheNetworkHash) {
  const Attachment a{.network = "net1", .container_id = "abc", .ifname = "eth0"};
  EXPECT_EQ(spoof_tag(a), network_hash("net1") + " abc/eth0");
  const Attachment long_id{.network = "net1", .container_id = std::string(300, 'x'), .ifname = "e"};
  EXPECT_TRUE(spoof_tag(long_id).starts_with(network_hash("net1") + " "));
  EXPECT_LE(spoof_tag(long_id).size(), 128u);
}

TEST(FwMacSpoofScriptTest, AddScriptGuardsThePortForOneMac) {
  const auto mac = net::MacAddress::parse("02:00:00:00:00:01");
  const std::string s = detail::spoof_add_script("veth1", mac, "h c/eth0");
  EXPECT_TRUE(contains(s, "add table bridge nsnet"));
  EXPECT_TRUE(contains(s, "type filter hook prerouting priority -300"));
  EXPECT_TRUE(contains(s, "flush chain bridge nsnet spoof_prerouting\n"));
  EXPECT_TRUE(contains(
      s, "iifname @spoof_ports iifname . ether saddr != @spoof_allowed drop\n"));
  EXPECT_TRUE(contains(s, "add element bridge nsnet spoof_ports { \"veth1\" comment \"h c/eth0\" }"));
  EXPECT_TRUE(contains(
      s, "add element bridge nsnet spoof_allowed { \"veth1\" . 02:00:00:00:00:01 comment \"h c/eth0\" }"));
}

TEST(FwMacSpoofScriptTest, ParsesTheListingAndBuildsTheRemoval) {
  const auto listing = nlohmann::json::parse(R"({"nftables": [
    {"metainfo": {"version": "1.0.6"}},
    {"table": {"family": "bridge", "name": "nsnet"}},
    {"set": {"name": "spoof_ports", "type": "ifname",
             "elem": [{"elem": {"val": "veth1", "comment": "t1"}}, "veth2"]}},
    {"set": {"name": "spoof_allowed", "type": ["ifname", "ether_addr"],
             "elem": [{"elem": {"val": {"concat": ["veth1", "02:00:00:00:00:01"]}, "comment": "t1"}}]}},
    {"chain": {"name": "spoof_prerouting"}},
    {"rule": {"chain": "spoof_prerouting", "expr": [{"match": {}}, {"drop": null}]}}]})");
  const auto snapshot = detail::parse_spoof_table(listing);
  EXPECT_TRUE(snapshot.present);
  EXPECT_TRUE(snapshot.rule_present);
  ASSERT_EQ(snapshot.ports.size(), 2u);
  EXPECT_EQ(snapshot.ports[0].tag, "t1");
  EXPECT_EQ(snapshot.ports[1].port, "veth2");
  EXPECT_EQ(snapshot.ports[1].tag, "");
  ASSERT_EQ(snapshot.allowed.size(), 1u);
  EXPECT_EQ(snapshot.allowed[0].mac->to_string(), "02:00:00:00:00:01");

  const std::string s = detail::spoof_remove_script({snapshot.ports[0], snapshot.allowed[0]});
  EXPECT_EQ(s,
            "delete element bridge nsnet spoof_ports { \"veth1\" }\n"
            "delete element bridge nsnet spoof_allowed { \"veth1\" . 02:00:00:00:00:01 }\n");
  EXPECT_EQ(detail::spoof_remove_script({}), "");
}

}  // namespace
}  // namespace netcore::fw
