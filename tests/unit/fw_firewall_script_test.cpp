// The kernel-free half of netcore::fw's firewall: tags, admin chain names, batch text and the
// parser of `nft -j` listings; and the firewall plugin's config parsing.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "firewall/config.hpp"
#include "firewall_impl.hpp"
#include "netcore/base/error.hpp"
#include "netcore/base/hash.hpp"
#include "support/expect_error.hpp"
#include "support/text.hpp"

namespace netcore::fw {
namespace {

using nlohmann::json;

using nsnet::testing::contains;

FirewallRules rules(IngressPolicy policy) {
  FirewallRules r;
  r.addresses = {net::parse_ip_address("10.1.0.5"), net::parse_ip_address("fd00::5")};
  r.policy = policy;
  r.bridge = "br0";
  r.ports = {"veth1"};
  return r;
}

TEST(FwFirewallScriptTest, TagStartsWithTheNetworkHash) {
  const Attachment a{.network = "net1", .container_id = "abc", .ifname = "eth0"};
  EXPECT_EQ(firewall_tag(a), network_hash("net1") + " abc/eth0");
  const Attachment odd{.network = "net1", .container_id = "a\"b", .ifname = "eth0"};
  EXPECT_EQ(firewall_tag(odd).find('"'), std::string::npos);
}

TEST(FwFirewallScriptTest, AdminChainNames) {
  EXPECT_TRUE(valid_admin_chain_name("CNI-ADMIN"));
  EXPECT_TRUE(valid_admin_chain_name("my_admin.2"));
  EXPECT_FALSE(valid_admin_chain_name(""));
  EXPECT_FALSE(valid_admin_chain_name("forward"));  // the table's own chains
  EXPECT_FALSE(valid_admin_chain_name("iso_x"));
  EXPECT_FALSE(valid_admin_chain_name("1abc"));
  EXPECT_FALSE(valid_admin_chain_name("a b"));
  EXPECT_FALSE(valid_admin_chain_name("a\"b"));
  EXPECT_FALSE(valid_admin_chain_name(std::string(65, 'a')));
}

TEST(FwFirewallScriptTest, OpenOnAnEmptyTableCreatesTheBaseChainOnce) {
  const std::string s = detail::firewall_add_script({}, "h c/eth0", rules(IngressPolicy::kOpen));
  EXPECT_TRUE(contains(s, "add table inet nsnet_firewall"));
  EXPECT_TRUE(contains(s, "add chain inet nsnet_firewall CNI-ADMIN\n"));
  EXPECT_FALSE(contains(s, "flush"));  // the admin chain, and everything else, is never flushed
  EXPECT_TRUE(contains(s, "create chain inet nsnet_firewall forward { type filter hook forward "
                          "priority filter; policy accept; }"));
  EXPECT_TRUE(contains(s, "insert rule inet nsnet_firewall forward jump CNI-ADMIN\n"));
  EXPECT_TRUE(contains(s, "forward iifname vmap @fw_iso_in\n"));
  EXPECT_TRUE(contains(s, "ip daddr @fw_addr4 ct state established,related accept\n"));
  EXPECT_TRUE(contains(s, "ip saddr @fw_addr4 accept\n"));
  EXPECT_TRUE(contains(s, "ip6 saddr @fw_addr6 accept\n"));
  EXPECT_TRUE(contains(s, "add element inet nsnet_firewall fw_addr4 { 10.1.0.5 comment \"h c/eth0\" }"));
  EXPECT_TRUE(contains(s, "add element inet nsnet_firewall fw_addr6 { fd00::5 comment \"h c/eth0\" }"));
  EXPECT_FALSE(contains(s, "iso_"  + stable_hash("br0")));
  EXPECT_FALSE(contains(s, "bridge nsnet_firewall"));
}

TEST(FwFirewallScriptTest, ExistingBaseChainAndAdminJumpAreLeftAlone) {
  detail::FirewallSnapshot snapshot;
  snapshot.inet_present = true;
  snapshot.chains = {"forward", "CNI-ADMIN"};
  snapshot.forward_rules = {{json::parse(R"({"jump": {"target": "CNI-ADMIN"}})")}};
  const std::string s = detail::firewall_add_script(snapshot, "t", rules(IngressPolicy::kOpen));
  EXPECT_FALSE(contains(s, "create chain"));
  EXPECT_FALSE(contains(s, "insert rule"));
  auto other = rules(IngressPolicy::kOpen);
  other.admin_chain = "OTHER";
  EXPECT_TRUE(contains(detail::firewall_add_script(snapshot, "t", other),
                       "insert rule inet nsnet_firewall forward jump OTHER\n"));
}

TEST(FwFirewallScriptTest, SameBridgeAddsTheBridgeChainAndMembers) {
  const std::string chain = detail::isolation_chain("br0");
  const std::string s = detail::firewall_add_script({}, "t", rules(IngressPolicy::kSameBridge));
  EXPECT_TRUE(contains(s, "create chain inet nsnet_firewall " + chain));
  EXPECT_TRUE(contains(s, "add rule inet nsnet_firewall " + chain + " oifname \"br0\" return\n"));
  EXPECT_TRUE(contains(s, "add rule inet nsnet_firewall " + chain + " oifname @fw_iso_bridges drop\n"));
  EXPECT_TRUE(contains(s, "add element inet nsnet_firewall fw_iso_bridges { \"br0\" }"));
  EXPECT_TRUE(contains(s, "add element inet nsnet_firewall fw_iso_in { \"br0\" : jump " + chain + " }"));
  EXPECT_TRUE(contains(s, "add element inet nsnet_firewall fw_iso_members4 { 10.1.0.5 comment \"t\" : jump " + chain));
  EXPECT_TRUE(contains(s, "add element inet nsnet_firewall fw_iso_members6 { fd00::5 comment \"t\" : jump " + chain));
  EXPECT_FALSE(contains(s, "bridge nsnet_firewall"));
}

TEST(FwFirewallScriptTest, IsolatedAlsoGuardsThePortInTheBridgeTable) {
  const std::string s = detail::firewall_add_script({}, "t", rules(IngressPolicy::kIsolated));
  EXPECT_TRUE(contains(s, "create chain bridge nsnet_firewall forward { type filter hook forward"));
  EXPECT_TRUE(contains(s, "add rule bridge nsnet_firewall forward oifname @fw_isolated_ports drop\n"));
  EXPECT_TRUE(contains(s, "add element bridge nsnet_firewall fw_isolated_ports { \"veth1\" comment \"t\" }"));
}

const char* kFirewallListing = R"({"nftables": [
  {"metainfo": {"json_schema_version": 1}},
  {"table": {"family": "inet", "name": "nsnet_firewall", "handle": 1}},
  {"set": {"family": "inet", "name": "fw_addr4", "table": "nsnet_firewall", "type": "ipv4_addr",
           "elem": [{"elem": {"val": "10.1.0.5", "comment": "A"}},
                    {"elem": {"val": "10.1.0.6", "comment": "B"}}]}},
  {"set": {"family": "inet", "name": "fw_addr6", "table": "nsnet_firewall", "type": "ipv6_addr",
           "elem": [{"elem": {"val": "fd00::5", "comment": "A"}}]}},
  {"map": {"family": "inet", "name": "fw_iso_members4", "table": "nsnet_firewall",
           "type": "ipv4_addr", "map": "verdict",
           "elem": [[{"elem": {"val": "10.1.0.5", "comment": "A"}}, {"jump": {"target": "iso_1"}}],
                    [{"elem": {"val": "10.1.0.6", "comment": "B"}}, {"jump": {"target": "iso_2"}}]]}},
  {"map": {"family": "inet", "name": "fw_iso_in", "table": "nsnet_firewall", "type": "ifname",
           "map": "verdict",
           "elem": [["br1", {"jump": {"target": "iso_1"}}], ["br2", {"jump": {"target": "iso_2"}}]]}},
  {"set": {"family": "inet", "name": "fw_iso_bridges", "table": "nsnet_firewall", "type": "ifname",
           "elem": ["br1", "br2"]}},
  {"chain": {"family": "inet", "table": "nsnet_firewall", "name": "CNI-ADMIN"}},
  {"chain": {"family": "inet", "table": "nsnet_firewall", "name": "forward", "type": "filter",
             "hook": "forward", "prio": 0, "policy": "accept"}},
  {"chain": {"family": "inet", "table": "nsnet_firewall", "name": "iso_1"}},
  {"chain": {"family": "inet", "table": "nsnet_firewall", "name": "iso_2"}},
  {"rule": {"family": "inet", "table": "nsnet_firewall", "chain": "forward",
            "expr": [{"jump": {"target": "CNI-ADMIN"}}]}},
  {"rule": {"family": "inet", "table": "nsnet_firewall", "chain": "CNI-ADMIN",
            "expr": [{"drop": null}]}}
]})";

const char* kBridgeListing = R"({"nftables": [
  {"table": {"family": "bridge", "name": "nsnet_firewall", "handle": 2}},
  {"set": {"family": "bridge", "name": "fw_isolated_ports", "table": "nsnet_firewall",
           "type": "ifname", "elem": [{"elem": {"val": "veth1", "comment": "A"}}]}},
  {"chain": {"family": "bridge", "table": "nsnet_firewall", "name": "forward"}},
  {"rule": {"family": "bridge", "table": "nsnet_firewall", "chain": "forward",
            "expr": [{"match": {}}, {"drop": null}]}}
]})";

TEST(FwFirewallScriptTest, ParsesBothTables) {
  const auto s = detail::parse_firewall(json::parse(kFirewallListing), json::parse(kBridgeListing));
  EXPECT_TRUE(s.inet_present);
  EXPECT_TRUE(s.bridge_present);
  EXPECT_EQ(s.chains, (std::set<std::string>{"CNI-ADMIN", "forward", "iso_1", "iso_2"}));
  ASSERT_EQ(s.forward_rules.size(), 1u);  // the admin chain's rules are not ours
  EXPECT_EQ(s.addresses.size(), 3u);
  EXPECT_EQ(s.addresses[2], (detail::FwElement{"fd00::5", "A", "", true}));
  ASSERT_EQ(s.members.size(), 2u);
  EXPECT_EQ(s.members[0], (detail::FwElement{"10.1.0.5", "A", "iso_1", false}));
  EXPECT_EQ(s.iso_in[1], (detail::FwElement{"br2", "", "iso_2", false}));
  EXPECT_EQ(s.iso_bridges.size(), 2u);
  EXPECT_TRUE(s.port_rule_present);
  EXPECT_EQ(s.ports, (std::vector<detail::FwElement>{{"veth1", "A", "", false}}));
}

TEST(FwFirewallScriptTest, RemovalDropsTaggedElementsAndOrphanedBridges) {
  const auto s = detail::parse_firewall(json::parse(kFirewallListing), json::parse(kBridgeListing));
  std::vector<std::string> kept;
  const std::string script =
      detail::firewall_remove_script(s, [](const std::string& t) { return t == "A"; }, &kept);
  EXPECT_TRUE(contains(script, "delete element inet nsnet_firewall fw_addr4 { 10.1.0.5 }\n"));
  EXPECT_TRUE(contains(script, "delete element inet nsnet_firewall fw_addr6 { fd00::5 }\n"));
  EXPECT_TRUE(contains(script, "delete element inet nsnet_firewall fw_iso_members4 { 10.1.0.5 }\n"));
  EXPECT_TRUE(contains(script, "delete element inet nsnet_firewall fw_iso_in { \"br1\" }\n"));
  EXPECT_TRUE(contains(script, "delete element inet nsnet_firewall fw_iso_bridges { \"br1\" }\n"));
  EXPECT_TRUE(contains(script, "delete chain inet nsnet_firewall iso_1\n"));
  EXPECT_FALSE(contains(script, "iso_2"));  // B still keeps br2 isolated
  EXPECT_FALSE(contains(script, "CNI-ADMIN"));  // never touched
  EXPECT_TRUE(contains(script, "delete element bridge nsnet_firewall fw_isolated_ports { \"veth1\" }\n"));
  EXPECT_TRUE(kept.empty());
  EXPECT_EQ(detail::firewall_remove_script(s, [](const std::string& t) { return t == "Z"; }), "");
}

TEST(FwFirewallScriptTest, MemberOfAnotherBridgeIsReplacedNotEdited) {
  const auto s = detail::parse_firewall(json::parse(kFirewallListing), json::parse(kBridgeListing));
  auto r = rules(IngressPolicy::kSameBridge);
  r.addresses = {net::parse_ip_address("10.1.0.6")};
  const std::string script = detail::firewall_add_script(s, "C", r);
  EXPECT_TRUE(contains(script, "delete element inet nsnet_firewall fw_iso_members4 { 10.1.0.6 }\n"));
  EXPECT_FALSE(contains(script, "insert rule"));  // CNI-ADMIN is already jumped to
}

}  // namespace
}  // namespace netcore::fw

namespace plugins::firewall {
namespace {

using netcore::ErrorCode;
using nsnet::testing::error_of;

TEST(FirewallConfigTest, DefaultsAndValues) {
  const auto c = parse_config(nlohmann::json::object());
  EXPECT_EQ(c.admin_chain, "CNI-ADMIN");
  EXPECT_EQ(c.ingress_policy, netcore::fw::IngressPolicy::kOpen);
  const auto d = parse_config({{"backend", "nftables"},
                               {"iptablesAdminChainName", "MINE"},
                               {"ingressPolicy", "isolated"}});
  EXPECT_EQ(d.admin_chain, "MINE");
  EXPECT_EQ(d.ingress_policy, netcore::fw::IngressPolicy::kIsolated);
  EXPECT_EQ(parse_config({{"ingressPolicy", "same-bridge"}}).ingress_policy,
            netcore::fw::IngressPolicy::kSameBridge);
  EXPECT_EQ(parse_config({{"ingressPolicy", ""}}).ingress_policy,
            netcore::fw::IngressPolicy::kOpen);
}

TEST(FirewallConfigTest, RejectsWhatItCannotDoWithCodes) {
  struct Case {
    nlohmann::json conf;
    ErrorCode code;
    std::string key;
  };
  const std::vector<Case> cases = {
      {{{"backend", "iptables"}}, ErrorCode::kUnsupportedField, "backend"},
      {{{"backend", "firewalld"}}, ErrorCode::kUnsupportedField, "backend"},
      {{{"backend", "pf"}}, ErrorCode::kInvalidNetworkConfig, "backend"},
      {{{"firewalldZone", "trusted"}}, ErrorCode::kUnsupportedField, "firewalldZone"},
      {{{"iptablesAdminChainName", "bad name"}}, ErrorCode::kInvalidNetworkConfig,
       "iptablesAdminChainName"},
      {{{"ingressPolicy", "closed"}}, ErrorCode::kInvalidNetworkConfig, "ingressPolicy"},
      {{{"ingressPolicy", 3}}, ErrorCode::kDecodingFailure, "ingressPolicy"},
  };
  for (const auto& c : cases) {
    const auto e = error_of([&] { (void)parse_config(c.conf); });
    EXPECT_EQ(e.code(), c.code) << c.conf.dump();
    EXPECT_NE(std::string(e.what()).find(c.key), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace plugins::firewall
