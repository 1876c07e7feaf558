// The kernel-free half of netcore::fw masquerade: names, comments, batch text and the parser of
// `nft -j` listings.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "masquerade_impl.hpp"
#include "netcore/fw/masquerade.hpp"
#include "netcore/net/ip.hpp"
#include "support/text.hpp"

namespace netcore::fw {
namespace {

using net::IpAddress;
using net::parse_ip_address;
using net::Prefix;

using nsnet::testing::contains;

TEST(FwMasqueradeScriptTest, NetworkHashIsFnv1a64InHex) {
  EXPECT_EQ(network_hash(""), "cbf29ce484222325");   // the FNV-1a 64 offset basis
  EXPECT_EQ(network_hash("a"), "af63dc4c8601ec8c");  // published test vector
  EXPECT_EQ(network_hash("mynet"), network_hash("mynet"));
  EXPECT_NE(network_hash("mynet"), network_hash("mynet2"));
  // The longest object name stays short: "masq_excl_" + 16 hex digits.
  EXPECT_EQ((detail::kExcludeSetPrefix + network_hash("x")).size(), 26u);
}

TEST(FwMasqueradeScriptTest, AttachmentTagIsContainerSlashIfname) {
  EXPECT_EQ(attachment_tag({.network = "n", .container_id = "abc123", .ifname = "eth0"}),
            "abc123/eth0");
}

TEST(FwMasqueradeScriptTest, TooLongOrUnquotableTagsFallBackToAHash) {
  const Attachment long_id{.network = "n", .container_id = std::string(200, 'a'), .ifname = "eth0"};
  const std::string tag = attachment_tag(long_id);
  EXPECT_EQ(tag.size(), detail::kMaxComment);
  EXPECT_EQ(tag.substr(tag.size() - 17, 1), "~");
  EXPECT_EQ(tag, attachment_tag(long_id));  // deterministic
  Attachment other = long_id;
  other.ifname = "eth1";
  EXPECT_NE(attachment_tag(other), tag);

  const std::string quoted =
      attachment_tag({.network = "n", .container_id = "c", .ifname = "a\"b"});
  EXPECT_FALSE(contains(quoted, "\""));
  EXPECT_TRUE(quoted.starts_with("c/ab~"));
  EXPECT_EQ(detail::safe_comment(std::string(128, 'x')), std::string(128, 'x'));
}

TEST(FwMasqueradeScriptTest, AddScriptBuildsTheNetworkObjectsAndTagsTheElement) {
  const Attachment a{.network = "mynet", .container_id = "c1", .ifname = "eth0"};
  const std::string h = network_hash("mynet");
  const std::string s =
      detail::add_script(true, a, {Prefix::parse("10.88.0.5/16"), Prefix::parse("10.88.0.5/16")},
                         {Prefix::parse("10.1.2.3/8"), Prefix::parse("fd00::/8")}, {});
  EXPECT_TRUE(contains(s, "add table ip nsnet"));
  EXPECT_TRUE(contains(s, "add map ip nsnet masq_src { type ipv4_addr : verdict;"));
  EXPECT_TRUE(contains(s, "type nat hook postrouting priority srcnat;"));
  EXPECT_TRUE(contains(s,
                       "flush chain ip nsnet masq_postrouting\n"
                       "add rule ip nsnet masq_postrouting ip saddr vmap @masq_src\n"));
  EXPECT_TRUE(contains(s, "add set ip nsnet masq_excl_" + h +
                              " { type ipv4_addr; flags interval; auto-merge; comment \"net: "
                              "mynet\"; }"));
  EXPECT_TRUE(contains(s, "add rule ip nsnet masq_" + h + " ip daddr @masq_excl_" + h +
                              " return\n"
                              "add rule ip nsnet masq_" +
                              h + " masquerade\n"));
  // Subnet (host bits cleared), exclusions of this family only (normalized), multicast; no
  // duplicates.
  EXPECT_TRUE(contains(
      s, "add element ip nsnet masq_excl_" + h + " { 10.88.0.0/16, 10.0.0.0/8, 224.0.0.0/4 }\n"));
  EXPECT_TRUE(
      contains(s, "add element ip nsnet masq_src { 10.88.0.5 : jump masq_" + h +
                      " }\n"
                      "delete element ip nsnet masq_src { 10.88.0.5 }\n"
                      "add element ip nsnet masq_src { 10.88.0.5 comment \"c1/eth0\" : jump masq_" +
                      h + " }\n"));
  EXPECT_FALSE(contains(s, "fd00"));
}

TEST(FwMasqueradeScriptTest, AddScriptForIpv6AndTakeover) {
  const Attachment a{.network = "v6net", .container_id = "c1", .ifname = "eth0"};
  const std::string s = detail::add_script(false, a, {Prefix::parse("fd00:1::5/64")}, {},
                                           {parse_ip_address("fd00:1::5")});
  EXPECT_TRUE(contains(s, "add table ip6 nsnet"));
  EXPECT_TRUE(contains(s, "type ipv6_addr : verdict"));
  EXPECT_TRUE(contains(s, "ip6 saddr vmap @masq_src"));
  EXPECT_TRUE(contains(s, "ip6 daddr @masq_excl_"));
  EXPECT_TRUE(contains(s, "{ fd00:1::/64, ff00::/8 }"));
  // The leaked element goes before ours is added.
  EXPECT_LT(s.find("delete element ip6 nsnet masq_src { fd00:1::5 }"),
            s.find("add element ip6 nsnet masq_src { fd00:1::5 :"));
}

// What nft 1.0.6 prints for `nft -j list table ip nsnet` (trimmed).
const char* kMasqueradeListing = R"({"nftables": [
  {"metainfo": {"version": "1.0.6", "json_schema_version": 1}},
  {"table": {"family": "ip", "name": "nsnet", "handle": 1}},
  {"map": {"family": "ip", "name": "masq_src", "table": "nsnet", "type": "ipv4_addr",
           "handle": 2, "map": "verdict", "elem": [
     [{"elem": {"val": "10.88.0.5", "comment": "c1/eth0"}}, {"jump": {"target": "masq_1111111111111111"}}],
     ["10.88.0.6", {"jump": {"target": "masq_1111111111111111"}}],
     [{"elem": {"val": "10.99.0.5", "comment": "c2/eth0"}}, {"jump": {"target": "masq_2222222222222222"}}]]}},
  {"set": {"family": "ip", "name": "masq_excl_1111111111111111", "table": "nsnet",
           "type": "ipv4_addr", "comment": "net: one", "flags": ["interval"],
           "elem": [{"prefix": {"addr": "10.88.0.0", "len": 16}}]}},
  {"set": {"family": "ip", "name": "masq_excl_2222222222222222", "table": "nsnet",
           "type": "ipv4_addr", "comment": "net: two", "flags": ["interval"]}},
  {"set": {"family": "ip", "name": "masq_excl_3333333333333333", "table": "nsnet",
           "type": "ipv4_addr", "comment": "net: orphan", "flags": ["interval"]}},
  {"chain": {"family": "ip", "table": "nsnet", "name": "masq_postrouting", "handle": 3,
             "type": "nat", "hook": "postrouting", "prio": 100, "policy": "accept"}},
  {"chain": {"family": "ip", "table": "nsnet", "name": "masq_1111111111111111", "handle": 4}},
  {"chain": {"family": "ip", "table": "nsnet", "name": "masq_2222222222222222", "handle": 5}},
  {"rule": {"family": "ip", "table": "nsnet", "chain": "masq_1111111111111111", "handle": 8,
            "expr": [{"masquerade": null}]}}
]})";

TEST(FwMasqueradeScriptTest, ParsesAListing) {
  const auto s = detail::parse_table(nlohmann::json::parse(kMasqueradeListing));
  EXPECT_TRUE(s.present);
  ASSERT_EQ(s.elements.size(), 3u);
  EXPECT_EQ(s.elements[0].address, parse_ip_address("10.88.0.5"));
  EXPECT_EQ(s.elements[0].tag, "c1/eth0");
  EXPECT_EQ(s.elements[0].chain, "masq_1111111111111111");
  EXPECT_EQ(s.elements[1].tag, "");  // an element without comment
  EXPECT_EQ(s.set_networks.at("masq_excl_2222222222222222"), "two");
  EXPECT_EQ(s.chains.size(), 3u);
  EXPECT_EQ(s.rules.at("masq_1111111111111111").size(), 1u);
  EXPECT_FALSE(detail::parse_table(nlohmann::json::parse(R"({"nftables": []})")).present);
}

TEST(FwMasqueradeScriptTest, RemoveScriptDropsANetworkWithItsLastElement) {
  const auto s = detail::parse_table(nlohmann::json::parse(kMasqueradeListing));
  // Removing c2's element leaves network two unused: its chain, then its set, go too; the
  // orphaned set of a chain that is already gone goes as well.
  const std::string script = detail::remove_script(true, s, {s.elements[2]});
  EXPECT_EQ(script,
            "delete element ip nsnet masq_src { 10.99.0.5 }\n"
            "delete chain ip nsnet masq_2222222222222222\n"
            "delete set ip nsnet masq_excl_2222222222222222\n"
            "delete set ip nsnet masq_excl_3333333333333333\n");
  // Network one keeps its objects while 10.88.0.6 still jumps there.
  const std::string one = detail::remove_script(true, s, {s.elements[0]});
  EXPECT_TRUE(contains(one, "delete element ip nsnet masq_src { 10.88.0.5 }\n"));
  EXPECT_FALSE(contains(one, "masq_1111111111111111"));
}

TEST(FwMasqueradeScriptTest, RemoveScriptIsEmptyWhenNothingIsThere) {
  EXPECT_EQ(detail::remove_script(true, {}, {}), "");
}

}  // namespace
}  // namespace netcore::fw
