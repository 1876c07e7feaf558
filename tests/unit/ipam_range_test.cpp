#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "netcore/base/error.hpp"
#include "netcore/ipam/range.hpp"
#include "netcore/net/ip.hpp"
#include "support/expect_error.hpp"
#include "support/ipam_text.hpp"

namespace netcore::ipam {
namespace {

using nsnet::testing::error_of;

using net::IpAddress;
using net::Prefix;

using nsnet::testing::ip;
using nsnet::testing::make_range;
using nsnet::testing::opt;

// The message of Range::make's config error; fails the test for any other code.
std::string make_error(std::string_view subnet, std::string_view start = "",
                       std::string_view end = "", std::string_view gateway = "") {
  const auto e = error_of([&] { (void)make_range(subnet, start, end, gateway); });
  EXPECT_EQ(e.code(), ErrorCode::kInvalidNetworkConfig) << e.msg();
  return e.msg();
}

TEST(RangeTest, Ipv4DefaultsSkipNetworkAndBroadcast) {
  const auto r = make_range("10.1.2.0/24");
  EXPECT_EQ(r.subnet.to_string(), "10.1.2.0/24");
  EXPECT_EQ(r.range_start.to_string(), "10.1.2.1");
  EXPECT_EQ(r.range_end.to_string(), "10.1.2.254");
  EXPECT_EQ(r.gateway.to_string(), "10.1.2.1");
  EXPECT_TRUE(r.is_v4());

  const auto small = make_range("192.0.2.0/25");
  EXPECT_EQ(small.range_start.to_string(), "192.0.2.1");
  EXPECT_EQ(small.range_end.to_string(), "192.0.2.126");
  EXPECT_EQ(small.gateway.to_string(), "192.0.2.1");
}

TEST(RangeTest, Ipv6DefaultsEndAtTheLastAddress) {
  const auto r = make_range("fd00:1::/64");
  EXPECT_FALSE(r.is_v4());
  EXPECT_EQ(r.subnet.to_string(), "fd00:1::/64");
  EXPECT_EQ(r.range_start.to_string(), "fd00:1::1");
  EXPECT_EQ(r.range_end.to_string(), "fd00:1::ffff:ffff:ffff:ffff");
  EXPECT_EQ(r.gateway.to_string(), "fd00:1::1");

  const auto small = make_range("fd00::/120");
  EXPECT_EQ(small.range_end.to_string(), "fd00::ff");
}

TEST(RangeTest, SmallestAllowedSubnets) {
  const auto v4 = make_range("10.0.0.0/30");
  EXPECT_EQ(v4.range_start.to_string(), "10.0.0.1");
  EXPECT_EQ(v4.range_end.to_string(), "10.0.0.2");
  const auto v6 = make_range("fd00::/126");
  EXPECT_EQ(v6.range_start.to_string(), "fd00::1");
  EXPECT_EQ(v6.range_end.to_string(), "fd00::3");
}

TEST(RangeTest, ExplicitValuesAreKept) {
  const auto r = make_range("192.0.2.0/24", "192.0.2.40", "192.0.2.50", "192.0.2.254");
  EXPECT_EQ(r.range_start.to_string(), "192.0.2.40");
  EXPECT_EQ(r.range_end.to_string(), "192.0.2.50");
  EXPECT_EQ(r.gateway.to_string(), "192.0.2.254");
  // A single-address range is allowed.
  const auto one = make_range("192.0.2.0/24", "192.0.2.7", "192.0.2.7");
  EXPECT_EQ(one.to_string(), "192.0.2.7-192.0.2.7");
}

// Like the reference: "Network has host bits set", naming the network address to use instead.
TEST(RangeTest, RejectsHostBitsInTheSubnet) {
  for (const auto& [subnet, network] : {std::pair{"10.1.2.3/24", "10.1.2.0"},
                                        std::pair{"2001:db8:24:19ff::/63", "2001:db8:24:19fe::"}}) {
    try {
      (void)make_range(subnet);
      ADD_FAILURE() << subnet;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidNetworkConfig);
      EXPECT_NE(e.msg().find(std::string("subnet ") + subnet + " has host bits set"), std::string::npos) << e.msg();
      EXPECT_NE(e.msg().find(network), std::string::npos) << e.msg();
    }
  }
}

TEST(RangeTest, RejectsSubnetsTooSmallToAllocateFrom) {
  EXPECT_EQ(make_error("10.0.0.0/31"), "subnet 10.0.0.0/31 is too small to allocate from");
  EXPECT_EQ(make_error("10.0.0.7/32"), "subnet 10.0.0.7/32 is too small to allocate from");
  EXPECT_EQ(make_error("fd00::/127"), "subnet fd00::/127 is too small to allocate from");
  EXPECT_EQ(make_error("fd00::1/128"), "subnet fd00::1/128 is too small to allocate from");
}

TEST(RangeTest, RejectsValuesOutsideTheSubnet) {
  EXPECT_EQ(make_error("10.1.2.0/24", "10.1.3.5"),
            "rangeStart 10.1.3.5 not in network 10.1.2.0/24");
  EXPECT_EQ(make_error("10.1.2.0/24", "", "10.1.3.5"),
            "rangeEnd 10.1.3.5 not in network 10.1.2.0/24");
  EXPECT_EQ(make_error("10.1.2.0/24", "", "", "192.168.1.1"),
            "gateway 192.168.1.1 not in network 10.1.2.0/24");
  EXPECT_EQ(make_error("10.1.2.0/24", "", "", "2001:db8::1"),
            "gateway 2001:db8::1 is not the same IP family as subnet 10.1.2.0/24");
  EXPECT_EQ(make_error("fd00::/64", "10.1.2.5"),
            "rangeStart 10.1.2.5 is not the same IP family as subnet fd00::/64");
}

TEST(RangeTest, RejectsStartAfterEnd) {
  EXPECT_EQ(make_error("192.0.2.0/24", "192.0.2.50", "192.0.2.40"),
            "rangeEnd 192.0.2.40 is in network 192.0.2.0/24 but before start 192.0.2.50");
  EXPECT_EQ(make_error("fd00::/120", "fd00::50", "fd00::40"),
            "rangeEnd fd00::40 is in network fd00::/120 but before start fd00::50");
  // rangeStart past the default rangeEnd (the broadcast address).
  EXPECT_EQ(make_error("192.0.2.0/24", "192.0.2.255"),
            "rangeEnd 192.0.2.254 is before rangeStart 192.0.2.255");
}

TEST(RangeTest, RejectsNetworkAndBroadcastAddressAsBounds) {
  EXPECT_EQ(make_error("192.0.2.0/24", "192.0.2.0"),
            "rangeStart 192.0.2.0 is the network address of 192.0.2.0/24");
  EXPECT_EQ(make_error("192.0.2.0/24", "", "192.0.2.255"),
            "rangeEnd 192.0.2.255 is the broadcast address of 192.0.2.0/24");
  // IPv6 has no broadcast address: the last one may end a range.
  EXPECT_EQ(make_range("fd00::/120", "", "fd00::ff").range_end.to_string(), "fd00::ff");
}

TEST(RangeTest, ContainsIsInclusiveAndFamilyAware) {
  const auto r = make_range("192.0.2.0/24", "192.0.2.40", "192.0.2.50", "192.0.2.254");
  EXPECT_FALSE(r.contains(ip("192.0.2.39")));
  EXPECT_TRUE(r.contains(ip("192.0.2.40")));
  EXPECT_TRUE(r.contains(ip("192.0.2.50")));
  EXPECT_FALSE(r.contains(ip("192.0.2.51")));
  EXPECT_FALSE(r.contains(ip("192.0.3.45")));
  EXPECT_FALSE(r.contains(ip("::ffff:192.0.2.45")));
  EXPECT_FALSE(r.contains(ip("192.0.2.254")));  // the gateway, outside start..end
}

TEST(RangeTest, Overlaps) {
  EXPECT_FALSE(make_range("10.0.0.0/24").overlaps(make_range("10.0.1.0/24")));
  EXPECT_FALSE(make_range("0.0.0.0/24").overlaps(make_range("::/24")));  // same bits, other family
  EXPECT_TRUE(make_range("10.0.0.0/24").overlaps(make_range("10.0.0.0/24")));
  EXPECT_TRUE(make_range("10.0.0.0/20").overlaps(make_range("10.0.1.0/24")));
  EXPECT_TRUE(make_range("10.0.1.0/24").overlaps(make_range("10.0.0.0/20")));
  EXPECT_FALSE(make_range("10.0.0.0/24", "", "10.0.0.127")
                   .overlaps(make_range("10.0.0.0/24", "10.0.0.128")));
  EXPECT_TRUE(make_range("10.0.0.0/24", "", "10.0.0.127")
                  .overlaps(make_range("10.0.0.0/24", "10.0.0.127")));
}

TEST(RangeTest, CapacityExcludesTheGatewayOnlyWhenInside) {
  EXPECT_DOUBLE_EQ(make_range("10.0.0.0/24").capacity(), 253);  // .1-.254 minus .1
  EXPECT_DOUBLE_EQ(make_range("10.0.0.0/30").capacity(), 1);    // .1-.2 minus .1
  EXPECT_DOUBLE_EQ(make_range("10.0.0.0/24", "10.0.0.10", "10.0.0.19").capacity(), 10);
  EXPECT_DOUBLE_EQ(make_range("10.0.0.0/24", "10.0.0.10", "10.0.0.19", "10.0.0.15").capacity(), 9);
  EXPECT_DOUBLE_EQ(make_range("fd00::/120").capacity(), 254);  // ::1-::ff minus ::1
  EXPECT_DOUBLE_EQ(make_range("fd00::/64").capacity(), 18446744073709551614.0);
  // Exact for small IPv6 ranges, borrows across bytes included.
  EXPECT_DOUBLE_EQ(make_range("fd00::/64", "fd00::10", "fd00::1f").capacity(), 16);
  EXPECT_DOUBLE_EQ(make_range("fd00::/64", "fd00::ff", "fd00::100").capacity(), 2);
  EXPECT_DOUBLE_EQ(make_range("fd00::/64", "fd00::ffff:ffff", "fd00::1:0:0").capacity(), 2);
  EXPECT_DOUBLE_EQ(make_range("2001:db8::/32", "2001:db8::5", "2001:db8::5").capacity(), 1);
  EXPECT_DOUBLE_EQ(make_range("10.0.0.0/8").capacity(),
                   16777213);  // .0.0.1-.255.255.254 minus .0.0.1
}

TEST(RangeTest, ToStringUsesTheReferenceNotation) {
  EXPECT_EQ(make_range("10.1.2.0/24").to_string(), "10.1.2.1-10.1.2.254");
  EXPECT_EQ(make_range("fd00::/120", "fd00::10").to_string(), "fd00::10-fd00::ff");
}

TEST(RangeSetTest, KeepsOrderAndFindsTheRange) {
  const RangeSet set(
      {make_range("10.0.0.0/24"), make_range("10.0.1.0/24", "10.0.1.10", "10.0.1.19")});
  ASSERT_EQ(set.ranges().size(), 2u);
  EXPECT_TRUE(set.is_v4());
  EXPECT_EQ(set.find_range(ip("10.0.0.7")), &set.ranges()[0]);
  EXPECT_EQ(set.find_range(ip("10.0.1.19")), &set.ranges()[1]);
  EXPECT_EQ(set.find_range(ip("10.0.1.20")), nullptr);
  EXPECT_TRUE(set.contains(ip("10.0.1.10")));
  EXPECT_FALSE(set.contains(ip("10.0.1.9")));
  EXPECT_FALSE(set.contains(ip("10.0.0.255")));
  EXPECT_DOUBLE_EQ(set.capacity(), 263);
  EXPECT_EQ(set.to_string(), "10.0.0.1-10.0.0.254,10.0.1.10-10.0.1.19");
}

TEST(RangeSetTest, RejectsEmptyMixedAndOverlapping) {
  auto e = error_of([] { RangeSet set(std::vector<Range>{}); });
  EXPECT_EQ(e.code(), ErrorCode::kInvalidNetworkConfig);
  EXPECT_EQ(e.msg(), "empty range set");

  e = error_of([] { RangeSet set({make_range("10.1.2.0/24"), make_range("fd00::/120")}); });
  EXPECT_EQ(e.code(), ErrorCode::kInvalidNetworkConfig);
  EXPECT_EQ(e.msg(), "range set mixes IPv4 and IPv6: 10.1.2.0/24 and fd00::/120");

  e = error_of([] {
    RangeSet set({make_range("10.0.0.0/24"), make_range("10.0.1.0/24"), make_range("10.0.0.0/16")});
  });
  EXPECT_EQ(e.code(), ErrorCode::kInvalidNetworkConfig);
  EXPECT_EQ(e.msg(), "subnets 10.0.0.0/24 and 10.0.0.0/16 overlap");

  // Two halves of one subnet are disjoint.
  const RangeSet halves(
      {make_range("10.0.0.0/24", "", "10.0.0.127"), make_range("10.0.0.0/24", "10.0.0.128")});
  EXPECT_EQ(halves.to_string(), "10.0.0.1-10.0.0.127,10.0.0.128-10.0.0.254");
}

TEST(RangeSetTest, CheckDisjointNamesBothSetIndexes) {
  const std::vector<RangeSet> sets = {
      RangeSet({make_range("10.0.0.0/24")}), RangeSet({make_range("fd00::/120")}),
      RangeSet({make_range("10.0.1.0/24"), make_range("10.0.0.128/25")})};
  const auto e = error_of([&] { check_disjoint(sets); });
  EXPECT_EQ(e.code(), ErrorCode::kInvalidNetworkConfig);
  EXPECT_EQ(e.msg(), "range set 0 overlaps with 2");

  EXPECT_NO_THROW(
      check_disjoint({RangeSet({make_range("10.0.0.0/24")}), RangeSet({make_range("::/120")}),
                      RangeSet({make_range("10.0.1.0/24")})}));
  EXPECT_NO_THROW(check_disjoint({}));
}

TEST(RangeSetTest, OverlapsAcrossAnyPairOfRanges) {
  const RangeSet a({make_range("10.0.0.0/24"), make_range("10.0.5.0/24")});
  EXPECT_TRUE(a.overlaps(RangeSet({make_range("10.0.5.0/24", "10.0.5.200")})));
  EXPECT_FALSE(a.overlaps(RangeSet({make_range("10.0.1.0/24"), make_range("10.0.6.0/24")})));
  EXPECT_FALSE(a.overlaps(RangeSet({make_range("::/64")})));
}

}  // namespace
}  // namespace netcore::ipam
