// The bandwidth plugin's config parsing and its rate/burst/limit arithmetic, without a kernel.

#include <fstream>

#include <gtest/gtest.h>

#include "bandwidth/bandwidth.hpp"
#include "bandwidth/config.hpp"
#include "netcore/base/error.hpp"
#include "netcore/net/tc.hpp"

namespace {

using netcore::ErrorCode;
using nlohmann::json;
using plugins::bandwidth::parse_config;
using plugins::bandwidth::Shaping;
using plugins::bandwidth::tbf_spec;

ErrorCode code_of(const json& conf) {
  try {
    (void)parse_config(conf);
  } catch (const netcore::Error& e) {
    return e.code();
  }
  ADD_FAILURE() << "accepted " << conf.dump();
  return ErrorCode::kInternal;
}

TEST(BandwidthConfigTest, StaticValues) {
  const auto c = parse_config(
      {{"ingressRate", 1000}, {"ingressBurst", 80}, {"egressRate", 16}, {"egressBurst", 64}});
  EXPECT_EQ(c.ingress, (Shaping{1000, 80}));
  EXPECT_EQ(c.egress, (Shaping{16, 64}));
  EXPECT_TRUE(c.shaped());
}

TEST(BandwidthConfigTest, NothingConfiguredIsNotShaped) {
  EXPECT_FALSE(parse_config(json::object()).shaped());
  EXPECT_FALSE(parse_config({{"ingressRate", 0}, {"ingressBurst", 0}}).shaped());
  EXPECT_FALSE(parse_config({{"ingressRate", nullptr}, {"runtimeConfig", nullptr}}).shaped());
}

TEST(BandwidthConfigTest, RuntimeConfigOnlyWithoutStaticKeys) {
  const json runtime = {{"bandwidth", {{"egressRate", 800}, {"egressBurst", 800}}}};
  EXPECT_EQ(parse_config({{"runtimeConfig", runtime}}).egress, (Shaping{800, 800}));
  // Any static key, even a zero, means static values (the reference's precedence).
  const auto c = parse_config({{"ingressRate", 0}, {"runtimeConfig", runtime}});
  EXPECT_FALSE(c.shaped());
  const auto s =
      parse_config({{"ingressRate", 80}, {"ingressBurst", 80}, {"runtimeConfig", runtime}});
  EXPECT_EQ(s.ingress, (Shaping{80, 80}));
  EXPECT_FALSE(s.egress.shaped());
}

TEST(BandwidthConfigTest, RateAndBurstTogether) {
  EXPECT_EQ(code_of({{"ingressRate", 1000}}), ErrorCode::kInvalidNetworkConfig);
  EXPECT_EQ(code_of({{"egressBurst", 1000}}), ErrorCode::kInvalidNetworkConfig);
  EXPECT_EQ(code_of({{"runtimeConfig", {{"bandwidth", {{"ingressBurst", 1000}}}}}}),
            ErrorCode::kInvalidNetworkConfig);
}

TEST(BandwidthConfigTest, Bounds) {
  // The reference's bound: burst/8 < 4 GiB.
  EXPECT_EQ(code_of({{"ingressRate", 8}, {"ingressBurst", 34'359'738'360ULL}}),
            ErrorCode::kInvalidNetworkConfig);
  // libnl's int: rate/8 and the queue limit at most 2^31-1 bytes.
  EXPECT_EQ(code_of({{"ingressRate", 17'179'869'184ULL}, {"ingressBurst", 800}}),
            ErrorCode::kInvalidNetworkConfig);
  EXPECT_NO_THROW((void)parse_config({{"ingressRate", 17'179'869'176ULL}, {"ingressBurst", 8000}}));
  EXPECT_EQ(code_of({{"ingressRate", 8'000'000'000ULL}, {"ingressBurst", 17'179'000'000ULL}}),
            ErrorCode::kInvalidNetworkConfig);
  // Below one byte.
  EXPECT_EQ(code_of({{"ingressRate", 7}, {"ingressBurst", 800}}), ErrorCode::kInvalidNetworkConfig);
  EXPECT_EQ(code_of({{"ingressRate", 800}, {"ingressBurst", 7}}), ErrorCode::kInvalidNetworkConfig);
  // A bucket that takes longer to drain than the psched clock counts in 32 bits.
  EXPECT_EQ(code_of({{"ingressRate", 8}, {"ingressBurst", 8'000}}),
            ErrorCode::kInvalidNetworkConfig);
  EXPECT_NO_THROW((void)parse_config({{"ingressRate", 8'000}, {"ingressBurst", 8'000}}));
}

TEST(BandwidthConfigTest, WrongTypesAreDecodingFailures) {
  EXPECT_EQ(code_of({{"ingressRate", -1}, {"ingressBurst", 80}}), ErrorCode::kDecodingFailure);
  EXPECT_EQ(code_of({{"ingressRate", 1.5}, {"ingressBurst", 80}}), ErrorCode::kDecodingFailure);
  EXPECT_EQ(code_of({{"ingressRate", "1mbit"}, {"ingressBurst", 80}}), ErrorCode::kDecodingFailure);
  EXPECT_EQ(code_of({{"runtimeConfig", {{"bandwidth", 5}}}}), ErrorCode::kDecodingFailure);
}

TEST(BandwidthConfigTest, SubnetFiltersAreUnsupported) {
  EXPECT_EQ(code_of({{"shapedSubnets", {"10.0.0.0/8"}}}), ErrorCode::kUnsupportedField);
  EXPECT_EQ(code_of({{"unshapedSubnets", json::array()}}), ErrorCode::kUnsupportedField);
  EXPECT_EQ(code_of({{"runtimeConfig", {{"bandwidth", {{"shapedSubnets", {"10.0.0.0/8"}}}}}}}),
            ErrorCode::kUnsupportedField);
}

TEST(BandwidthConfigTest, TbfInKernelTerms) {
  // 16 Mbit/s, 160 kbit: 2 MB/s, 20 kB, limit = 2 MB/s × 25 ms + 20 kB.
  const auto tbf = tbf_spec({16'000'000, 160'000});
  EXPECT_EQ(tbf.rate, 2'000'000u);
  EXPECT_EQ(tbf.burst, 20'000u);
  EXPECT_EQ(tbf.limit, 70'000u);
  // The reference's example: 123 bits/s, 456 bits: 15 B/s, 57 B, 15 × 0.025 = 0.375 → 0.
  const auto small = tbf_spec({123, 456});
  EXPECT_EQ(small.rate, 15u);
  EXPECT_EQ(small.burst, 57u);
  EXPECT_EQ(small.limit, 57u);
}

TEST(BandwidthConfigTest, BufferTicksFollowThePschedClock) {
  // 20 kB at 2 MB/s is 10 ms; the kernel counts ticks of the psched clock (64 ns each here:
  // 15.625 per µs). Derived independently from /proc/net/psched.
  std::ifstream psched("/proc/net/psched");
  unsigned t2us = 0, us2t = 0;
  ASSERT_TRUE(psched >> std::hex >> t2us >> us2t) << "/proc/net/psched unreadable";
  ASSERT_NE(us2t, 0u);
  const double ticks_per_us = static_cast<double>(t2us) / us2t;
  EXPECT_EQ(netcore::net::tbf_buffer_ticks(2'000'000, 20'000),
            static_cast<std::uint32_t>(10'000 * ticks_per_us));
  EXPECT_EQ(netcore::net::tbf_buffer_ticks(1'000'000, 10'000),
            static_cast<std::uint32_t>(10'000 * ticks_per_us));
}

TEST(BandwidthConfigTest, IfbNameAndAlias) {
  using plugins::bandwidth::ifb_alias;
  using plugins::bandwidth::ifb_name;
  const auto name = ifb_name("net", "ctr", "eth0");
  EXPECT_EQ(name.size(), 15u);
  EXPECT_EQ(name.rfind("bwp", 0), 0u);
  EXPECT_EQ(name, ifb_name("net", "ctr", "eth0"));  // stable
  EXPECT_NE(name, ifb_name("net", "ctr", "eth1"));
  EXPECT_NE(ifb_name("ab", "c", "eth0"), ifb_name("a", "bc", "eth0"));
  EXPECT_EQ(ifb_alias("net", "ctr", "eth0"), "nsnet-bandwidth net ctr/eth0");
}

}  // namespace
