#include "netcore/net/ip.hpp"

#include <gtest/gtest.h>

#include "netcore/base/error.hpp"

namespace netcore::net {
namespace {

TEST(PrefixTest, ParsesAndKeepsHostBits) {
  const auto p = Prefix::parse("10.1.2.3/24");
  EXPECT_EQ(p.address().to_string(), "10.1.2.3");
  EXPECT_EQ(p.length(), 24u);
  EXPECT_EQ(p.network().to_string(), "10.1.2.0/24");
  EXPECT_EQ(p.to_string(), "10.1.2.3/24");
}

TEST(PrefixTest, ParsesIpv6) {
  const auto p = Prefix::parse("fd00:1::5/64");
  EXPECT_FALSE(p.is_v4());
  EXPECT_EQ(p.network().to_string(), "fd00:1::/64");
  EXPECT_TRUE(p.contains(parse_ip_address("fd00:1::ffff")));
  EXPECT_FALSE(p.contains(parse_ip_address("fd00:2::1")));
}

TEST(PrefixTest, RejectsMalformedText) {
  for (const char* bad : {"10.0.0.1", "10.0.0.1/", "10.0.0.1/33", "10.0.0.1/-1", "10.0.0/24",
                          "fd00::1/129", "/24", "10.0.0.1/2x", "10.0.0.1/0024", "",
                          "fe80::1%eth0/64", " 10.0.0.1/24"}) {
    EXPECT_THROW((void)Prefix::parse(bad), Error) << bad;
  }
}

TEST(PrefixTest, ErrorNamesTheTextAndIsAConfigError) {
  try {
    (void)Prefix::parse("300.1.1.1/8");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidNetworkConfig);
    EXPECT_NE(e.msg().find("300.1.1.1/8"), std::string::npos);
  }
}

TEST(PrefixTest, ContainsAndOverlaps) {
  const auto a = Prefix::parse("10.0.0.0/8");
  EXPECT_TRUE(a.contains(parse_ip_address("10.255.0.1")));
  EXPECT_FALSE(a.contains(parse_ip_address("11.0.0.1")));
  EXPECT_FALSE(a.contains(parse_ip_address("::ffff:10.0.0.1")));
  EXPECT_TRUE(a.overlaps(Prefix::parse("10.2.0.0/16")));
  EXPECT_TRUE(Prefix::parse("10.2.0.0/16").overlaps(a));
  EXPECT_FALSE(a.overlaps(Prefix::parse("192.168.0.0/16")));
  EXPECT_TRUE(Prefix::parse("0.0.0.0/0").contains(parse_ip_address("1.2.3.4")));
}

TEST(PrefixTest, NetworkClearsPartialBytes) {
  EXPECT_EQ(Prefix::parse("10.1.2.255/25").network().to_string(), "10.1.2.128/25");
  EXPECT_EQ(Prefix::parse("10.1.2.255/0").network().to_string(), "0.0.0.0/0");
  EXPECT_EQ(Prefix::parse("fd00::1:ffff/113").network().to_string(), "fd00::1:8000/113");
}

TEST(AddressMathTest, NextAndLastAddress) {
  EXPECT_EQ(next_address(parse_ip_address("10.0.0.255")).to_string(), "10.0.1.0");
  EXPECT_EQ(next_address(parse_ip_address("255.255.255.255")).to_string(), "0.0.0.0");
  EXPECT_EQ(next_address(parse_ip_address("fd00::ffff")).to_string(), "fd00::1:0");
  EXPECT_EQ(Prefix::parse("10.1.2.0/23").last_address().to_string(), "10.1.3.255");
  EXPECT_EQ(Prefix::parse("fd00::/120").last_address().to_string(), "fd00::ff");
  EXPECT_EQ(Prefix::parse("10.1.2.3/32").last_address().to_string(), "10.1.2.3");
}

TEST(MacAddressTest, ParsesAndFormatsLowercase) {
  EXPECT_EQ(MacAddress::parse("C2:11:22:33:44:5A").to_string(), "c2:11:22:33:44:5a");
  for (const char* bad : {"c2:11:22:33:44", "c2-11-22-33-44-55", "c2:11:22:33:44:5g",
                          "c2:11:22:33:44:555", ""}) {
    EXPECT_THROW((void)MacAddress::parse(bad), Error) << bad;
  }
}

}  // namespace
}  // namespace netcore::net
