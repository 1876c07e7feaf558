// netcore::fw portmap's kernel-free half: what an attachment's spec becomes (elements, the
// conditions chain), the batch text, and parsing of `nft -j` listings.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "netcore/base/error.hpp"
#include "netcore/net/ip.hpp"
#include "portmap_impl.hpp"

namespace netcore::fw::detail {
namespace {

using nlohmann::json;

PortmapSpec spec() {
  PortmapSpec s;
  s.container_v4 = net::parse_ip_address("10.1.0.2");
  s.container_v6 = net::parse_ip_address("fd00::2");
  s.mappings = {{.host_port = 8080, .container_port = 80, .protocol = L4Protocol::kTcp},
                {.host_port = 53,
                 .container_port = 5353,
                 .protocol = L4Protocol::kUdp,
                 .host_ip = net::parse_ip_address("192.0.2.1")}};
  return s;
}

std::vector<std::string> describe(const PortmapPlan& plan) {
  std::vector<std::string> out;
  for (const auto& e : plan.elements) out.push_back(e.object + " " + e.key + " : " + e.value);
  return out;
}

TEST(PortmapScriptTest, PlainMappingsAreMapElements) {
  const auto v4 = plan_portmap(true, "tag", spec());
  EXPECT_EQ(describe(v4), (std::vector<std::string>{
                              "hostport_dnat tcp . 8080 : 10.1.0.2 . 80",
                              "hostip_dnat 192.0.2.1 . udp . 53 : 10.1.0.2 . 5353",
                              "snat_hairpin 10.1.0.2 . 10.1.0.2 : ",
                              "snat_local 10.1.0.2 : ",
                          }));
  EXPECT_TRUE(v4.chain.empty());
  // The IPv4 hostIP mapping is not published on IPv6, and IPv6 has no localhost set.
  const auto v6 = plan_portmap(false, "tag", spec());
  EXPECT_EQ(describe(v6), (std::vector<std::string>{"hostport_dnat tcp . 8080 : fd00::2 . 80",
                                                    "snat_hairpin fd00::2 . fd00::2 : "}));
  for (const auto& e : v6.elements) EXPECT_EQ(e.tag, "tag");
}

TEST(PortmapScriptTest, SnatOffMasqAllOnAndMissingFamily) {
  auto s = spec();
  s.snat = false;
  s.masq_all = true;
  s.container_v6.reset();
  EXPECT_EQ(describe(plan_portmap(true, "t", s)),
            (std::vector<std::string>{"hostport_dnat tcp . 8080 : 10.1.0.2 . 80",
                                      "hostip_dnat 192.0.2.1 . udp . 53 : 10.1.0.2 . 5353",
                                      "masq_all 10.1.0.2 : "}));
  EXPECT_TRUE(plan_portmap(false, "t", s).elements.empty());
}

TEST(PortmapScriptTest, ConditionsGoThroughTheAttachmentsChain) {
  auto s = spec();
  s.conditions_v4 = {"ip saddr 10.0.0.0/8", "iifname \"eth1\""};
  const auto plan = plan_portmap(true, "tag", s);
  ASSERT_FALSE(plan.chain.empty());
  EXPECT_TRUE(plan.chain.starts_with("pm_"));
  EXPECT_EQ(describe(plan)[0], "hostport_cond tcp . 8080 : jump " + plan.chain);
  EXPECT_EQ(describe(plan)[1], "hostip_cond 192.0.2.1 . udp . 53 : jump " + plan.chain);
  EXPECT_EQ(plan.chain_rules,
            (std::vector<std::string>{
                "ip saddr 10.0.0.0/8 iifname \"eth1\" meta l4proto tcp th dport 8080 dnat ip to "
                "10.1.0.2:80 comment \"tag\"",
                "ip saddr 10.0.0.0/8 iifname \"eth1\" ip daddr 192.0.2.1 meta l4proto udp th dport "
                "53 dnat ip to 10.1.0.2:5353 comment \"tag\""}));
  // IPv6 has no conditions here: plain map elements, with the bracketed target only in rules.
  EXPECT_TRUE(plan_portmap(false, "tag", s).chain.empty());
}

TEST(PortmapScriptTest, AddScriptDeletesDoomedFirstAndCommentsElements) {
  const auto plan = plan_portmap(true, "tag", spec());
  const std::vector<PortmapEntry> doomed = {
      {.family = "ip", .object = "hostport_dnat", .key = "tcp . 8080", .value = "10.1.0.9 . 80", .tag = "old"}};
  const std::string s = portmap_add_script(true, "tag", plan, doomed);
  const auto del = s.find("delete element ip nsnet_portmap hostport_dnat { tcp . 8080 : 10.1.0.9 . 80 }");
  const auto add = s.find(
      "add element ip nsnet_portmap hostport_dnat { tcp . 8080 comment \"tag\" : 10.1.0.2 . 80 }");
  ASSERT_NE(del, std::string::npos) << s;
  ASSERT_NE(add, std::string::npos) << s;
  EXPECT_LT(del, add);
  EXPECT_NE(s.find("add element ip nsnet_portmap snat_local { 10.1.0.2 comment \"tag\" }"),
            std::string::npos);
}

TEST(PortmapScriptTest, BaseScriptLooksUpEachMapOnce) {
  const std::string s = portmap_base_script(true);
  EXPECT_NE(s.find("add rule ip nsnet_portmap hostports dnat ip to meta l4proto . th dport map "
                   "@hostport_dnat"),
            std::string::npos);
  EXPECT_NE(s.find("fib daddr type local jump hostports"), std::string::npos);
  EXPECT_NE(s.find("flush chain ip nsnet_portmap hostports"), std::string::npos);
  EXPECT_EQ(portmap_base_script(false).find("127.0.0.0/8"), std::string::npos);
}

TEST(PortmapScriptTest, RemoveScriptDropsElementsThenChains) {
  EXPECT_EQ(portmap_remove_script(true, {}, {}), "");
  const std::string s = portmap_remove_script(
      false, {{.family = "ip6", .object = "masq_all", .key = "fd00::2", .value = "", .tag = "t"}},
      {"pm_0123456789abcdef"});
  EXPECT_EQ(s,
            "delete element ip6 nsnet_portmap masq_all { fd00::2 }\n"
            "delete chain ip6 nsnet_portmap pm_0123456789abcdef\n");
}

TEST(PortmapScriptTest, ParsesListing) {
  const json listing = json::parse(R"({"nftables": [
    {"metainfo": {"version": "1.0.6"}},
    {"table": {"family": "ip", "name": "nsnet_portmap", "handle": 1}},
    {"map": {"family": "ip", "name": "hostport_dnat", "table": "nsnet_portmap",
             "elem": [[{"elem": {"val": {"concat": ["tcp", 8080]}, "comment": "h c1/eth0"}},
                       {"concat": ["10.1.0.2", 80]}]]}},
    {"map": {"family": "ip", "name": "hostport_cond", "table": "nsnet_portmap",
             "elem": [[{"concat": ["sctp", 9]}, {"jump": {"target": "pm_x"}}]]}},
    {"set": {"family": "ip", "name": "snat_local", "table": "nsnet_portmap",
             "elem": [{"elem": {"val": "10.1.0.2", "comment": "h c1/eth0"}}, "10.1.0.3"]}},
    {"set": {"family": "ip", "name": "unrelated", "elem": ["1.2.3.4"]}},
    {"chain": {"family": "ip", "table": "nsnet_portmap", "name": "pm_x"}},
    {"chain": {"family": "ip", "table": "nsnet_portmap", "name": "hostports"}},
    {"rule": {"chain": "pm_x", "expr": [{"dnat": {"addr": "10.1.0.2", "port": 80}}],
              "comment": "h c1/eth0"}}
  ]})");
  const auto s = parse_portmap_table(listing, true);
  EXPECT_TRUE(s.present);
  ASSERT_EQ(s.elements.size(), 4u);
  EXPECT_EQ(s.elements[0], (PortmapEntry{"ip", "hostport_dnat", "tcp . 8080", "10.1.0.2 . 80", "h c1/eth0"}));
  EXPECT_EQ(s.elements[1], (PortmapEntry{"ip", "hostport_cond", "sctp . 9", "jump pm_x", ""}));
  EXPECT_EQ(s.elements[2], (PortmapEntry{"ip", "snat_local", "10.1.0.2", "", "h c1/eth0"}));
  EXPECT_EQ(s.elements[3].key, "10.1.0.3");
  EXPECT_EQ(s.chains, (std::map<std::string, std::string>{{"pm_x", "h c1/eth0"}}));
  EXPECT_EQ(s.rules.at("pm_x").size(), 1u);
}

TEST(PortmapScriptTest, RejectsUnreadableElement) {
  const json listing = json::parse(R"({"nftables": [
    {"map": {"name": "hostport_dnat", "elem": ["not a pair"]}}]})");
  EXPECT_THROW((void)parse_portmap_table(listing, true), netcore::Error);
}

}  // namespace
}  // namespace netcore::fw::detail
