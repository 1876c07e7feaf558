// The static IPAM plugin in-process: config sources and their precedence, CNI_ARGS gateways,
// every config error with its code and culprit, and CHECK against prevResult.

#include "static/static_ipam.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "netcore/base/error.hpp"
#include "netcore/cni/cmd_args.hpp"
#include "static/config.hpp"
#include "support/expect_error.hpp"

namespace plugins::static_ipam {
namespace {

using nsnet::testing::error_of;

namespace cni = netcore::cni;
namespace net = netcore::net;
using netcore::Error;
using netcore::ErrorCode;
using nlohmann::json;
using ::testing::HasSubstr;

cni::CmdArgs make_args(const json& conf, const std::string& cni_args = "",
                       const std::string& command = "ADD") {
  cni::Environment env = {{"CNI_COMMAND", command},
                          {"CNI_CONTAINERID", "ctr-1"},
                          {"CNI_NETNS", "/run/netns/x"},
                          {"CNI_IFNAME", "eth0"},
                          {"CNI_PATH", "/opt/cni/bin"}};
  if (!cni_args.empty()) env["CNI_ARGS"] = cni_args;
  std::istringstream in(conf.dump());
  return cni::CmdArgs::parse(env, in);
}

// A network config around `ipam`, with `extra` top-level keys.
json network(const json& ipam, const json& extra = json::object(),
             const std::string& version = "1.1.0") {
  json conf = {{"cniVersion", version}, {"name", "static-net"}, {"type", "bridge"}, {"ipam", ipam}};
  conf.update(extra);
  return conf;
}

json ipam_with(const json& addresses) { return {{"type", "static"}, {"addresses", addresses}}; }

Address address(const std::string& cidr, const std::string& gateway = "") {
  Address a{.address = net::Prefix::parse(cidr), .gateway = {}};
  if (!gateway.empty()) a.gateway = net::parse_ip_address(gateway);
  return a;
}

Error config_error(const json& conf, const std::string& cni_args = "") {
  return error_of([&] { (void)parse_config(make_args(conf, cni_args)); });
}

TEST(StaticIpamConfigTest, ReadsAddressesRoutesAndDns) {
  const json ipam = {
      {"type", "static"},
      {"addresses",
       {{{"address", "10.10.0.1/24"}, {"gateway", "10.10.0.254"}},
        {{"address", "3ffe:ffff:0:1ff::1/64"}, {"gateway", "3ffe:ffff:0::1"}}}},
      {"routes", {{{"dst", "0.0.0.0/0"}}, {{"dst", "192.168.0.0/16"}, {"gw", "10.10.5.1"}}}},
      {"dns",
       {{"nameservers", {"8.8.8.8"}},
        {"domain", "example.com"},
        {"search", {"example.com"}},
        {"options", {"ndots:2"}}}}};
  const Config config = parse_config(make_args(network(ipam)));
  EXPECT_EQ(config.addresses,
            (std::vector<Address>{address("10.10.0.1/24", "10.10.0.254"),
                                  address("3ffe:ffff:0:1ff::1/64", "3ffe:ffff::1")}));
  ASSERT_EQ(config.routes.size(), 2u);
  EXPECT_EQ(config.routes[0].dst, net::Prefix::parse("0.0.0.0/0"));
  EXPECT_FALSE(config.routes[0].gw);
  EXPECT_EQ(config.routes[1].gw, net::parse_ip_address("10.10.5.1"));
  EXPECT_EQ(config.dns.nameservers, std::vector<std::string>{"8.8.8.8"});
  EXPECT_EQ(config.dns.domain, "example.com");
  EXPECT_EQ(config.dns.search, std::vector<std::string>{"example.com"});
  EXPECT_EQ(config.dns.options, std::vector<std::string>{"ndots:2"});
}

TEST(StaticIpamConfigTest, KeepsTheHostBitsOfEachAddress) {
  const Config config =
      parse_config(make_args(network(ipam_with({{{"address", "10.10.0.7/24"}}}))));
  ASSERT_EQ(config.addresses.size(), 1u);
  EXPECT_EQ(config.addresses[0].address.to_string(), "10.10.0.7/24");
}

TEST(StaticIpamConfigTest, NoAddressesIsAnEmptyList) {
  const Config config = parse_config(make_args(network({{"type", "static"}})));
  EXPECT_TRUE(config.addresses.empty());
  EXPECT_TRUE(config.routes.empty());
  EXPECT_TRUE(config.dns.empty());
}

TEST(StaticIpamConfigTest, MissingIpamIsCode7) {
  for (const json& conf : {json{{"cniVersion", "1.1.0"}, {"name", "n"}},
                           json{{"cniVersion", "1.1.0"}, {"name", "n"}, {"ipam", nullptr}}}) {
    const auto e = config_error(conf);
    EXPECT_EQ(e.code(), ErrorCode::kInvalidNetworkConfig);
    EXPECT_EQ(e.msg(), "IPAM config missing 'ipam' key");
  }
  // Even when another source would supply addresses.
  const auto e = config_error(
      {{"cniVersion", "1.1.0"}, {"name", "n"}, {"runtimeConfig", {{"ips", {"10.10.0.1/24"}}}}},
      "IP=10.10.0.1/24");
  EXPECT_EQ(e.code(), ErrorCode::kInvalidNetworkConfig);
}

TEST(StaticIpamConfigTest, WrongJsonTypesAreDecodingFailuresNamingTheKey) {
  const std::vector<std::pair<json, std::string>> cases = {
      {network("static"), "ipam"},
      {network({{"addresses", "10.10.0.1/24"}}), "ipam.addresses"},
      {network(ipam_with({"10.10.0.1/24"})), "ipam.addresses[0]"},
      {network(ipam_with({{{"address", 5}}})), "ipam.addresses[0]: address"},
      {network({{"routes", {{{"dst", 5}}}}}), "ipam: routes[0]"},
      {network({{"dns", {{"nameservers", "8.8.8.8"}}}}), "ipam: dns"},
      {network({{"type", "static"}}, {{"runtimeConfig", {{"ips", {5}}}}}), "runtimeConfig: ips[0]"},
      {network({{"type", "static"}}, {{"args", {{"cni", {{"ips", "10.1.0.1/24"}}}}}}),
       "args.cni: ips"},
  };
  for (const auto& [conf, culprit] : cases) {
    SCOPED_TRACE(conf.dump());
    const auto e = config_error(conf);
    EXPECT_EQ(e.code(), ErrorCode::kDecodingFailure);
    EXPECT_THAT(e.msg(), HasSubstr(culprit));
  }
}

TEST(StaticIpamConfigTest, ConfigAddressMustBeCidr) {
  for (const std::string bad : {"10.10.0.1", "10.10.0.1/33", "junk/24", ""}) {
    SCOPED_TRACE(bad);
    const auto e =
        config_error(network(ipam_with({{{"address", "10.10.0.2/24"}}, {{"address", bad}}})));
    EXPECT_EQ(e.code(), ErrorCode::kInvalidNetworkConfig);
    EXPECT_EQ(e.msg(),
              "ipam.addresses[1].address: the 'address' field is expected to be in CIDR "
              "notation, got: '" +
                  bad + "'");
  }
  // A missing address reads as "".
  const auto e = config_error(network(ipam_with({{{"gateway", "10.10.0.254"}}})));
  EXPECT_EQ(e.code(), ErrorCode::kInvalidNetworkConfig);
  EXPECT_THAT(e.msg(), HasSubstr("got: ''"));
}

TEST(StaticIpamConfigTest, ConfigGateway) {
  // "" means none, like Go's net.IP.
  auto config =
      parse_config(make_args(network(ipam_with({{{"address", "10.10.0.1/24"}, {"gateway", ""}}}))));
  EXPECT_EQ(config.addresses, std::vector<Address>{address("10.10.0.1/24")});
  // Null means none too.
  config = parse_config(
      make_args(network(ipam_with({{{"address", "10.10.0.1/24"}, {"gateway", nullptr}}}))));
  EXPECT_EQ(config.addresses, std::vector<Address>{address("10.10.0.1/24")});

  const auto e =
      config_error(network(ipam_with({{{"address", "10.10.0.1/24"}, {"gateway", "10.10.0"}}})));
  EXPECT_EQ(e.code(), ErrorCode::kInvalidNetworkConfig);
  EXPECT_THAT(e.msg(), HasSubstr("ipam.addresses[0]: gateway"));
  EXPECT_THAT(e.msg(), HasSubstr("10.10.0"));
}

TEST(StaticIpamConfigTest, CniArgsIpIsAppendedToTheConfigAddresses) {
  const Config config = parse_config(make_args(network(ipam_with({{{"address", "10.10.0.1/24"}}})),
                                               "IP= 10.10.0.2/24 ,fd00::2/64"));
  EXPECT_EQ(config.addresses,
            (std::vector<Address>{address("10.10.0.1/24"), address("10.10.0.2/24"),
                                  address("fd00::2/64")}));
}

TEST(StaticIpamConfigTest, EmptyCniArgsValuesAreIgnored) {
  const Config config =
      parse_config(make_args(network(ipam_with({{{"address", "10.10.0.1/24"}}})), "IP=;GATEWAY="));
  EXPECT_EQ(config.addresses, std::vector<Address>{address("10.10.0.1/24")});
}

TEST(StaticIpamConfigTest, CniArgsIpMustBeCidr) {
  for (const std::string& cni_args :
       {std::string("IP=10.10.0.1"), std::string("IP=10.10.0.1/24,")}) {
    SCOPED_TRACE(cni_args);
    const auto e = config_error(network({{"type", "static"}}), cni_args);
    EXPECT_EQ(e.code(), ErrorCode::kInvalidNetworkConfig);
    EXPECT_THAT(e.msg(),
                HasSubstr("CNI_ARGS IP: the 'ip' field is expected to be in CIDR notation"));
  }
  EXPECT_THAT(config_error(network({{"type", "static"}}), "IP=10.10.0.1").msg(),
              HasSubstr("got: '10.10.0.1'"));
}

TEST(StaticIpamConfigTest, GatewayGoesToEveryCniArgsAddressInItsSubnet) {
  const Config config = parse_config(make_args(
      network({{"type", "static"}}),
      "IP=10.10.0.1/24,10.10.0.2/24,11.11.0.1/24,fd00::1/64;GATEWAY=10.10.0.254, fd00::fe"));
  EXPECT_EQ(config.addresses,
            (std::vector<Address>{address("10.10.0.1/24", "10.10.0.254"),
                                  address("10.10.0.2/24", "10.10.0.254"), address("11.11.0.1/24"),
                                  address("fd00::1/64", "fd00::fe")}));
}

TEST(StaticIpamConfigTest, LaterGatewayInTheSameSubnetWins) {
  const Config config = parse_config(
      make_args(network({{"type", "static"}}), "IP=10.1.0.1/24;GATEWAY=10.1.0.7,10.1.0.9"));
  EXPECT_EQ(config.addresses, std::vector<Address>{address("10.1.0.1/24", "10.1.0.9")});
}

// The reference applies GATEWAY before it has parsed the config's own addresses, so they keep
// their configured gateway (or none); Debian's 1.1.1 behaves the same.
TEST(StaticIpamConfigTest, GatewayLeavesConfigAddressesAlone) {
  const Config config = parse_config(
      make_args(network(ipam_with({{{"address", "10.10.0.1/24"}},
                                   {{"address", "10.10.0.3/24"}, {"gateway", "10.10.0.1"}}})),
                "IP=10.10.0.2/24;GATEWAY=10.10.0.254"));
  EXPECT_EQ(config.addresses,
            (std::vector<Address>{address("10.10.0.1/24"), address("10.10.0.3/24", "10.10.0.1"),
                                  address("10.10.0.2/24", "10.10.0.254")}));
}

TEST(StaticIpamConfigTest, InvalidGatewayIsCode7NamingIt) {
  const auto e = config_error(network({{"type", "static"}}), "IP=10.1.0.1/24;GATEWAY=10.1.0.x");
  EXPECT_EQ(e.code(), ErrorCode::kInvalidNetworkConfig);
  EXPECT_THAT(e.msg(), HasSubstr("CNI_ARGS GATEWAY"));
  EXPECT_THAT(e.msg(), HasSubstr("10.1.0.x"));
}

TEST(StaticIpamConfigTest, UnknownCniArgsKeyIsCode4UnlessIgnored) {
  const auto e = config_error(network({{"type", "static"}}), "IP=10.1.0.1/24;K8S_POD_NAME=web");
  EXPECT_EQ(e.code(), ErrorCode::kInvalidEnvironment);
  EXPECT_THAT(e.msg(), HasSubstr("K8S_POD_NAME"));
  // Keys are case-sensitive, as in the reference.
  EXPECT_EQ(config_error(network({{"type", "static"}}), "ip=10.1.0.1/24").code(),
            ErrorCode::kInvalidEnvironment);

  const Config config = parse_config(
      make_args(network({{"type", "static"}}), "IgnoreUnknown=1;K8S_POD_NAME=web;IP=10.1.0.1/24"));
  EXPECT_EQ(config.addresses, std::vector<Address>{address("10.1.0.1/24")});
}

TEST(StaticIpamConfigTest, ArgsCniIpsReplaceConfigAndCniArgs) {
  const Config config = parse_config(
      make_args(network(ipam_with({{{"address", "10.10.0.1/24"}, {"gateway", "10.10.0.254"}}}),
                        {{"args", {{"cni", {{"ips", {"10.20.0.1/24", "fd00::1/64"}}}}}}}),
                "IP=10.10.0.2/24;GATEWAY=10.10.0.254"));
  EXPECT_EQ(config.addresses,
            (std::vector<Address>{address("10.20.0.1/24"), address("fd00::1/64")}));
}

TEST(StaticIpamConfigTest, RuntimeConfigIpsReplaceEverything) {
  const Config config = parse_config(
      make_args(network(ipam_with({{{"address", "10.10.0.1/24"}}}),
                        {{"args", {{"cni", {{"ips", {"10.20.0.1/24"}}}}}},
                         {"runtimeConfig", {{"ips", {"10.30.0.1/24", "fd00::3/64"}}}}}),
                "IP=10.10.0.2/24;GATEWAY=10.10.0.254"));
  EXPECT_EQ(config.addresses,
            (std::vector<Address>{address("10.30.0.1/24"), address("fd00::3/64")}));
}

TEST(StaticIpamConfigTest, EmptyIpsListsReplaceNothing) {
  const Config config =
      parse_config(make_args(network(ipam_with({{{"address", "10.10.0.1/24"}}}),
                                     {{"args", {{"cni", {{"ips", json::array()}}}}},
                                      {"runtimeConfig", {{"ips", json::array()}}}}),
                             "IP=10.10.0.2/24"));
  EXPECT_EQ(config.addresses,
            (std::vector<Address>{address("10.10.0.1/24"), address("10.10.0.2/24")}));
}

TEST(StaticIpamConfigTest, IpsEntriesMustBeCidr) {
  for (const std::string key : {"args.cni", "runtimeConfig"}) {
    SCOPED_TRACE(key);
    const json ips = {{"ips", {"10.30.0.1/24", "10.30.0.2"}}};
    const json extra =
        key == "runtimeConfig" ? json{{"runtimeConfig", ips}} : json{{"args", {{"cni", ips}}}};
    const auto e = config_error(network({{"type", "static"}}, extra));
    EXPECT_EQ(e.code(), ErrorCode::kInvalidNetworkConfig);
    EXPECT_EQ(e.msg(), key +
                           ".ips[1]: an entry in the 'ips' field is NOT in CIDR notation, got: "
                           "'10.30.0.2'");
  }
}

// Like the reference, only the addresses that survive are validated.
TEST(StaticIpamConfigTest, ReplacedConfigAddressesAreNotValidated) {
  const Config config = parse_config(make_args(network(
      ipam_with({{{"address", "junk"}}}), {{"runtimeConfig", {{"ips", {"10.30.0.1/24"}}}}})));
  EXPECT_EQ(config.addresses, std::vector<Address>{address("10.30.0.1/24")});
  // A bad CNI_ARGS IP is read before the replacement, so it still fails.
  EXPECT_EQ(
      config_error(network({{"type", "static"}}, {{"runtimeConfig", {{"ips", {"10.30.0.1/24"}}}}}),
                   "IP=10.1.0.1")
          .code(),
      ErrorCode::kInvalidNetworkConfig);
}

TEST(StaticIpamConfigTest, OneAddressPerFamilyBelow030) {
  const json two_v4 = ipam_with({{{"address", "10.10.0.1/24"}}, {{"address", "10.10.0.2/24"}}});
  for (const std::string version : {"0.1.0", "0.2.0"}) {
    SCOPED_TRACE(version);
    auto e = config_error(network(two_v4, json::object(), version));
    EXPECT_EQ(e.code(), ErrorCode::kInvalidNetworkConfig);
    EXPECT_EQ(e.msg(),
              "CNI version " + version + " does not support more than 1 address per family");
    // Whatever the source of the second address.
    e = config_error(network(ipam_with({{{"address", "fd00::1/64"}}}), json::object(), version),
                     "IP=fd00::2/64");
    EXPECT_EQ(e.code(), ErrorCode::kInvalidNetworkConfig);
    // One of each family is fine.
    const Config config = parse_config(
        make_args(network(ipam_with({{{"address", "10.10.0.1/24"}}, {{"address", "fd00::1/64"}}}),
                          json::object(), version)));
    EXPECT_EQ(config.addresses.size(), 2u);
  }
  for (const std::string version : {"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"})
    EXPECT_EQ(parse_config(make_args(network(two_v4, json::object(), version))).addresses.size(),
              2u)
        << version;
}

TEST(StaticIpamTest, AddReturnsAddressesRoutesAndDns) {
  const json ipam = {{"type", "static"},
                     {"addresses", {{{"address", "10.10.0.1/24"}, {"gateway", "10.10.0.254"}}}},
                     {"routes", {{{"dst", "0.0.0.0/0"}}}},
                     {"dns", {{"nameservers", {"8.8.8.8"}}}}};
  const cni::Result result = cmd_add(make_args(network(ipam), "IP=fd00::1/64"));
  EXPECT_TRUE(result.interfaces.empty());
  ASSERT_EQ(result.ips.size(), 2u);
  EXPECT_EQ(result.ips[0].address.to_string(), "10.10.0.1/24");
  EXPECT_EQ(result.ips[0].gateway, net::parse_ip_address("10.10.0.254"));
  EXPECT_FALSE(result.ips[0].interface);
  EXPECT_EQ(result.ips[1].address.to_string(), "fd00::1/64");
  EXPECT_FALSE(result.ips[1].gateway);
  ASSERT_EQ(result.routes.size(), 1u);
  EXPECT_EQ(result.dns.nameservers, std::vector<std::string>{"8.8.8.8"});
  // Stateless: the same call gives the same result.
  EXPECT_EQ(cmd_add(make_args(network(ipam), "IP=fd00::1/64")), result);
}

TEST(StaticIpamTest, DelNeedsNothing) {
  EXPECT_NO_THROW(cmd_del(make_args({{"cniVersion", "1.1.0"}, {"name", "n"}}, "", "DEL")));
  EXPECT_NO_THROW(cmd_del(make_args(network(ipam_with({{{"address", "junk"}}})), "FOO=1", "DEL")));
}

class StaticIpamCheckTest : public ::testing::Test {
 protected:
  static json ipam() {
    return ipam_with(
        {{{"address", "10.10.0.1/24"}, {"gateway", "10.10.0.254"}}, {{"address", "fd00::1/64"}}});
  }
  static json prev(const json& ips) { return {{"cniVersion", "1.1.0"}, {"ips", ips}}; }
  static void check(const json& prev_result, const std::string& cni_args = "") {
    cmd_check(make_args(network(ipam(), {{"prevResult", prev_result}}), cni_args, "CHECK"));
  }
  static const json kGood;
};

const json StaticIpamCheckTest::kGood = {{{"address", "10.10.0.1/24"}, {"gateway", "10.10.0.254"}},
                                         {{"address", "fd00::1/64"}}};

TEST_F(StaticIpamCheckTest, PassesOnTheAddResult) {
  EXPECT_NO_THROW(check(prev(kGood)));
  // The ADD result itself, in its printed form.
  const auto args = make_args(network(ipam()));
  EXPECT_NO_THROW(check(cmd_add(args).to_json("1.1.0")));
}

// A later plugin may add addresses or a gateway we did not configure (bridge with isGateway).
TEST_F(StaticIpamCheckTest, ToleratesExtraAddressesAndUnconfiguredGateways) {
  json ips = kGood;
  ips[1]["gateway"] = "fd00::fe";
  ips.push_back({{"address", "192.168.1.5/24"}});
  EXPECT_NO_THROW(check(prev(ips)));
}

TEST_F(StaticIpamCheckTest, RequiresPrevResult) {
  const auto e = error_of([] { cmd_check(make_args(network(ipam()), "", "CHECK")); });
  EXPECT_EQ(e.code(), ErrorCode::kInternal);
  EXPECT_EQ(e.msg(), "static: required prevResult missing");
}

TEST_F(StaticIpamCheckTest, FailsOnAMissingAddress) {
  const auto e = error_of([] { check(prev(json::array({kGood[0]}))); });
  EXPECT_EQ(e.code(), ErrorCode::kInternal);
  EXPECT_THAT(e.msg(), HasSubstr("fd00::1/64"));
  EXPECT_THAT(e.msg(), HasSubstr("missing"));
  // An address added by CNI_ARGS is required too.
  EXPECT_THAT(error_of([] { check(prev(kGood), "IP=10.10.0.2/24"); }).msg(),
              HasSubstr("10.10.0.2/24"));
}

TEST_F(StaticIpamCheckTest, FailsOnADifferentGateway) {
  for (const json& gateway : {json("10.10.0.253"), json(nullptr)}) {
    json ips = kGood;
    if (gateway.is_null()) {
      ips[0].erase("gateway");
    } else {
      ips[0]["gateway"] = gateway;
    }
    const auto e = error_of([&] { check(prev(ips)); });
    EXPECT_EQ(e.code(), ErrorCode::kInternal);
    EXPECT_THAT(e.msg(), HasSubstr("10.10.0.1/24"));
    EXPECT_THAT(e.msg(), HasSubstr(gateway.is_null() ? "none" : "10.10.0.253"));
  }
}

TEST_F(StaticIpamCheckTest, FailsOnADifferentPrefixLength) {
  json ips = kGood;
  ips[0]["address"] = "10.10.0.1/16";
  const auto e = error_of([&] { check(prev(ips)); });
  EXPECT_THAT(e.msg(), HasSubstr("10.10.0.1/24"));
  EXPECT_THAT(e.msg(), HasSubstr("16"));
}

TEST_F(StaticIpamCheckTest, ConfigErrorsComeFirst) {
  const auto e = error_of([] {
    cmd_check(make_args(network(ipam_with({{{"address", "junk"}}}), {{"prevResult", prev(kGood)}}),
                        "", "CHECK"));
  });
  EXPECT_EQ(e.code(), ErrorCode::kInvalidNetworkConfig);
}

TEST(StaticIpamSpecTest, NamesThePluginAndLeavesStatusAndGcToTheSkel) {
  const auto s = spec();
  EXPECT_EQ(s.name, "static");
  EXPECT_TRUE(s.add && s.del && s.check);
  EXPECT_FALSE(s.status);
  EXPECT_FALSE(s.gc);
  EXPECT_TRUE(s.versions.empty());  // every spec version
}

}  // namespace
}  // namespace plugins::static_ipam
