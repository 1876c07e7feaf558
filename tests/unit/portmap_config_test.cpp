// The portmap plugin's config: defaults, runtimeConfig.portMappings, the error code of each bad
// input, and the reference's choice of container addresses from prevResult.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "netcore/base/error.hpp"
#include "netcore/cni/cmd_args.hpp"
#include "portmap/config.hpp"
#include "support/expect_error.hpp"

namespace plugins::portmap {
namespace {

namespace fw = netcore::fw;
using netcore::ErrorCode;
using netcore::cni::CmdArgs;
using netcore::cni::Environment;
using nlohmann::json;
using nsnet::testing::error_of;

CmdArgs args_of(const json& extra) {
  json conf = {{"cniVersion", "1.1.0"}, {"name", "net"}, {"type", "portmap"}};
  conf.merge_patch(extra);
  Environment env{{"CNI_COMMAND", "ADD"}, {"CNI_CONTAINERID", "c1"},
                  {"CNI_NETNS", "/run/netns/x"}, {"CNI_IFNAME", "eth0"},
                  {"CNI_PATH", "/opt/cni/bin"}};
  std::istringstream in(conf.dump());
  return CmdArgs::parse(env, in);
}

Config parse(const json& extra) { return parse_config(args_of(extra)); }

json mappings(json list) { return {{"runtimeConfig", {{"portMappings", std::move(list)}}}}; }

ErrorCode code_of(const json& extra) {
  return error_of([&] { (void)parse(extra); }).code();
}

TEST(PortmapConfigTest, DefaultsAreTheReferences) {
  const Config c = parse(json::object());
  EXPECT_TRUE(c.snat);
  EXPECT_FALSE(c.masq_all);
  EXPECT_TRUE(c.mappings.empty());
  EXPECT_TRUE(c.conditions_v4.empty());
}

TEST(PortmapConfigTest, ReadsMappingsWithAnyProtocolCase) {
  const Config c = parse(mappings(json::array(
      {{{"hostPort", 8080}, {"containerPort", 80}, {"protocol", "TCP"}},
       {{"hostPort", 53}, {"containerPort", 53}, {"protocol", "udp"}, {"hostIP", "10.0.0.1"}},
       {{"hostPort", 9}, {"containerPort", 9}, {"protocol", "Sctp"}, {"hostIP", "0.0.0.0"}}})));
  ASSERT_EQ(c.mappings.size(), 3u);
  EXPECT_EQ(c.mappings[0].protocol, fw::L4Protocol::kTcp);
  EXPECT_EQ(c.mappings[0].host_port, 8080);
  EXPECT_EQ(c.mappings[0].container_port, 80);
  EXPECT_FALSE(c.mappings[0].host_ip);
  EXPECT_EQ(c.mappings[1].protocol, fw::L4Protocol::kUdp);
  EXPECT_EQ(c.mappings[1].host_ip->to_string(), "10.0.0.1");
  EXPECT_EQ(c.mappings[2].protocol, fw::L4Protocol::kSctp);
  EXPECT_FALSE(c.mappings[2].host_ip) << "0.0.0.0 means every address";
}

TEST(PortmapConfigTest, RejectsWithTheRightCode) {
  auto one = [](const json& m) { return mappings(json::array({m})); };
  const json ok = {{"hostPort", 8080}, {"containerPort", 80}, {"protocol", "tcp"}};
  auto patched = [&](const json& patch) {
    json m = ok;
    m.merge_patch(patch);
    return one(m);
  };
  EXPECT_EQ(code_of({{"backend", "iptables"}}), ErrorCode::kUnsupportedField);
  EXPECT_EQ(code_of({{"backend", "ipvs"}}), ErrorCode::kInvalidNetworkConfig);
  EXPECT_EQ(code_of({{"markMasqBit", 13}}), ErrorCode::kUnsupportedField);
  EXPECT_EQ(code_of({{"externalSetMarkChain", "X"}}), ErrorCode::kUnsupportedField);
  EXPECT_EQ(code_of({{"conditionsV6", {"! -s ::1"}}}), ErrorCode::kUnsupportedField);
  EXPECT_EQ(code_of({{"snat", "yes"}}), ErrorCode::kDecodingFailure);
  EXPECT_EQ(code_of(patched({{"hostPort", 0}})), ErrorCode::kInvalidNetworkConfig);
  EXPECT_EQ(code_of(patched({{"containerPort", 65536}})), ErrorCode::kInvalidNetworkConfig);
  EXPECT_EQ(code_of(patched({{"protocol", "icmp"}})), ErrorCode::kInvalidNetworkConfig);
  EXPECT_EQ(code_of(patched({{"protocol", nullptr}})), ErrorCode::kInvalidNetworkConfig);
  EXPECT_EQ(code_of(patched({{"hostIP", "nope"}})), ErrorCode::kInvalidNetworkConfig);
  EXPECT_EQ(code_of(patched({{"hostIP", "224.0.0.1"}})), ErrorCode::kInvalidNetworkConfig);
  EXPECT_EQ(code_of(mappings(json::array({ok, ok}))), ErrorCode::kInvalidNetworkConfig);
  EXPECT_EQ(code_of(mappings("8080:80")), ErrorCode::kDecodingFailure);
  // The message names the key.
  const auto e = error_of([&] { (void)parse({{"markMasqBit", 13}}); });
  EXPECT_NE(e.msg().find("markMasqBit"), std::string::npos) << e.msg();
}

netcore::cni::Result prev_of(const json& j) { return netcore::cni::Result::from_json(j, "1.0.0"); }

TEST(PortmapConfigTest, PublishesToFirstAddressesOfTheInterfaceInTheSandbox) {
  const auto prev = prev_of({{"cniVersion", "1.0.0"},
                             {"interfaces",
                              {{{"name", "veth1"}},
                               {{"name", "eth0"}, {"sandbox", "/run/netns/x"}},
                               {{"name", "eth1"}, {"sandbox", "/run/netns/x"}}}},
                             {"ips",
                              {{{"address", "10.9.0.2/24"}, {"interface", 0}},
                               {{"address", "10.8.0.2/24"}, {"interface", 2}},
                               {{"address", "10.1.0.2/24"}, {"interface", 1}},
                               {{"address", "10.1.0.3/24"}, {"interface", 1}},
                               {{"address", "fd00::2/64"}, {"interface", 1}}}}});
  Config config;
  config.mappings = {{.host_port = 80, .container_port = 80}};
  const auto spec = make_spec(config, prev, "eth0");
  EXPECT_EQ(spec.container_v4->to_string(), "10.1.0.2");
  EXPECT_EQ(spec.container_v6->to_string(), "fd00::2");

  config.mappings[0].host_ip = netcore::net::parse_ip_address("fd00::1");
  EXPECT_NO_THROW((void)make_spec(config, prev, "eth0"));
  EXPECT_EQ(error_of([&] { (void)make_spec(config, prev, "eth1"); }).code(),
            ErrorCode::kInvalidNetworkConfig)
      << "eth1 has no IPv6 address for an IPv6 hostIP";
  EXPECT_EQ(error_of([&] { (void)make_spec(config, prev, "eth9"); }).code(),
            ErrorCode::kInvalidNetworkConfig);
}

}  // namespace
}  // namespace plugins::portmap
