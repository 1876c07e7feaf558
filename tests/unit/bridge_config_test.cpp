// The bridge plugin's config parsing: defaults, reference keys, nsnet's own keys, and the error
// code of each bad input.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "bridge/config.hpp"
#include "netcore/base/error.hpp"
#include "netcore/cni/cmd_args.hpp"
#include "support/expect_error.hpp"

namespace plugins::bridge {
namespace {

using netcore::ErrorCode;
using netcore::cni::CmdArgs;
using netcore::cni::Environment;
using nlohmann::json;
using nsnet::testing::error_of;

Config parse(const json& extra, const std::string& cni_args = "") {
  json conf = {{"cniVersion", "1.1.0"}, {"name", "net"}, {"type", "bridge"}};
  conf.merge_patch(extra);
  Environment env{{"CNI_COMMAND", "ADD"},  {"CNI_CONTAINERID", "c1"}, {"CNI_NETNS", "/run/netns/x"},
                  {"CNI_IFNAME", "eth0"},  {"CNI_PATH", "/opt/cni/bin"}};
  if (!cni_args.empty()) env["CNI_ARGS"] = cni_args;
  std::istringstream in(conf.dump());
  return parse_config(CmdArgs::parse(env, in));
}

ErrorCode code_of(const json& extra, const std::string& cni_args = "") {
  return error_of([&] { (void)parse(extra, cni_args); }).code();
}

TEST(BridgeConfigTest, DefaultsAreTheReferences) {
  const Config c = parse(json::object());
  EXPECT_EQ(c.bridge, "cni0");
  EXPECT_FALSE(c.is_gateway);
  EXPECT_FALSE(c.ip_masq);
  EXPECT_FALSE(c.mtu);
  EXPECT_FALSE(c.layer3());  // no ipam: layer 2 only
  EXPECT_EQ(c.host_veth_prefix, "veth");
  EXPECT_FALSE(c.mac);
}

TEST(BridgeConfigTest, DefaultGatewayImpliesGateway) {
  const Config c = parse({{"isDefaultGateway", true}});
  EXPECT_TRUE(c.is_gateway);
  EXPECT_TRUE(c.is_default_gateway);
}

TEST(BridgeConfigTest, EmptyIpamIsLayerTwo) {
  EXPECT_FALSE(parse({{"ipam", json::object()}}).layer3());
  EXPECT_EQ(parse({{"ipam", {{"type", "host-local"}}}}).ipam_type, "host-local");
}

TEST(BridgeConfigTest, MacPrecedenceIsRuntimeConfigThenArgsThenCniArgs) {
  EXPECT_EQ(parse(json::object(), "MAC=02:00:00:00:00:01").mac->to_string(), "02:00:00:00:00:01");
  EXPECT_EQ(parse({{"args", {{"cni", {{"mac", "02:00:00:00:00:02"}}}}}}, "MAC=02:00:00:00:00:01")
                .mac->to_string(),
            "02:00:00:00:00:02");
  EXPECT_EQ(parse({{"args", {{"cni", {{"mac", "02:00:00:00:00:02"}}}}},
                   {"runtimeConfig", {{"mac", "02:00:00:00:00:03"}}}})
                .mac->to_string(),
            "02:00:00:00:00:03");
}

TEST(BridgeConfigTest, VlanOptionsAreUnsupportedHere) {
  EXPECT_EQ(code_of({{"vlan", 10}}), ErrorCode::kUnsupportedField);
  EXPECT_EQ(code_of({{"vlanTrunk", {{{"minID", 1}, {"maxID", 5}}}}}), ErrorCode::kUnsupportedField);
  EXPECT_EQ(code_of({{"preserveDefaultVlan", false}}), ErrorCode::kUnsupportedField);
  // What means nothing without VLANs is accepted: the reference's defaults.
  EXPECT_NO_THROW((void)parse({{"vlan", 0}, {"vlanTrunk", json::array()},
                              {"preserveDefaultVlan", true}}));
  EXPECT_EQ(code_of({{"vlan", -1}}), ErrorCode::kInvalidNetworkConfig);
}

TEST(BridgeConfigTest, BadValuesNameTheirKey) {
  const auto e = error_of([] { (void)parse({{"hostVethName", "a/b"}}); });
  EXPECT_EQ(e.code(), ErrorCode::kInvalidNetworkConfig);
  EXPECT_NE(e.msg().find("hostVethName"), std::string::npos) << e.msg();
  const auto mac = error_of([] { (void)parse({{"runtimeConfig", {{"mac", "zz"}}}}); });
  EXPECT_NE(mac.msg().find("runtimeConfig.mac"), std::string::npos) << mac.msg();
}

TEST(BridgeConfigTest, ConflictingOptionsAreConfigErrors) {
  EXPECT_EQ(code_of({{"hairpinMode", true}, {"promiscMode", true}}),
            ErrorCode::kInvalidNetworkConfig);
  EXPECT_EQ(code_of({{"disableContainerInterface", true}, {"ipam", {{"type", "host-local"}}}}),
            ErrorCode::kInvalidNetworkConfig);
  EXPECT_EQ(code_of({{"hostVethName", "a"}, {"hostVethPrefix", "b"}}),
            ErrorCode::kInvalidNetworkConfig);
  EXPECT_EQ(code_of({{"ipMasqBackend", "iptables"}}), ErrorCode::kUnsupportedField);
  EXPECT_EQ(code_of({{"mtu", 70000}}), ErrorCode::kInvalidNetworkConfig);
  EXPECT_EQ(code_of({{"ipMasqExclude", {"10.0.0.0/33"}}}), ErrorCode::kInvalidNetworkConfig);
  EXPECT_EQ(code_of({{"mtu", "1500"}}), ErrorCode::kDecodingFailure);
}

TEST(BridgeConfigTest, CniArgsKeysAreCheckedLikeTheReference) {
  EXPECT_EQ(code_of(json::object(), "FOO=1"), ErrorCode::kInvalidEnvironment);
  EXPECT_NO_THROW((void)parse(json::object(), "IgnoreUnknown=1;FOO=1"));
  EXPECT_NO_THROW((void)parse(json::object(), "IP=10.0.0.5"));  // IPAM's key
}

}  // namespace
}  // namespace plugins::bridge
