// Config parsing of macvlan, host-device and tap: defaults, the reference keys, MAC precedence,
// and the error code of each bad input.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "host-device/config.hpp"
#include "macvlan/config.hpp"
#include "netcore/base/error.hpp"
#include "netcore/cni/cmd_args.hpp"
#include "support/expect_error.hpp"
#include "tap/config.hpp"

namespace {

using netcore::ErrorCode;
using netcore::cni::CmdArgs;
using netcore::cni::Environment;
using nlohmann::json;
using nsnet::testing::error_of;

CmdArgs args_of(const std::string& type, const json& extra, const std::string& cni_args = "") {
  json conf = {{"cniVersion", "1.1.0"}, {"name", "net"}, {"type", type}};
  conf.merge_patch(extra);
  Environment env{{"CNI_COMMAND", "ADD"},
                  {"CNI_CONTAINERID", "c1"},
                  {"CNI_NETNS", "/run/netns/x"},
                  {"CNI_IFNAME", "eth0"},
                  {"CNI_PATH", "/opt/cni/bin"}};
  if (!cni_args.empty()) env["CNI_ARGS"] = cni_args;
  std::istringstream in(conf.dump());
  return CmdArgs::parse(env, in);
}

plugins::macvlan::Config macvlan(const json& extra, const std::string& cni_args = "") {
  return plugins::macvlan::parse_config(args_of("macvlan", extra, cni_args));
}
ErrorCode macvlan_code(const json& extra, const std::string& cni_args = "") {
  return error_of([&] { (void)macvlan(extra, cni_args); }).code();
}

TEST(MacvlanConfigTest, Defaults) {
  const auto c = macvlan(json::object());
  EXPECT_EQ(c.master, "");
  EXPECT_EQ(c.mode, "bridge");
  EXPECT_FALSE(c.mtu);
  EXPECT_FALSE(c.mac);
  EXPECT_FALSE(c.link_in_container);
  EXPECT_FALSE(c.layer3());
  EXPECT_FALSE(macvlan({{"ipam", json::object()}}).layer3());
  EXPECT_EQ(macvlan({{"ipam", {{"type", "host-local"}}}}).ipam_type, "host-local");
  EXPECT_FALSE(macvlan({{"mtu", 0}}).mtu);  // 0 = the master's
}

TEST(MacvlanConfigTest, MacPrecedence) {
  EXPECT_EQ(macvlan({{"mac", "02:00:00:00:00:01"}}).mac->to_string(), "02:00:00:00:00:01");
  EXPECT_EQ(macvlan({{"mac", "02:00:00:00:00:01"}}, "MAC=02:00:00:00:00:02").mac->to_string(),
            "02:00:00:00:00:02");
  EXPECT_EQ(macvlan({{"args", {{"cni", {{"mac", "02:00:00:00:00:03"}}}}}}, "MAC=02:00:00:00:00:02")
                .mac->to_string(),
            "02:00:00:00:00:03");
  EXPECT_EQ(macvlan({{"args", {{"cni", {{"mac", "02:00:00:00:00:03"}}}}},
                     {"runtimeConfig", {{"mac", "02:00:00:00:00:04"}}}})
                .mac->to_string(),
            "02:00:00:00:00:04");
}

TEST(MacvlanConfigTest, ErrorCodes) {
  EXPECT_EQ(macvlan_code({{"mode", "source"}}), ErrorCode::kUnsupportedField);
  EXPECT_EQ(macvlan_code({{"bcqueuelen", 1000}}), ErrorCode::kUnsupportedField);
  EXPECT_EQ(macvlan_code({{"mode", "l2"}}), ErrorCode::kInvalidNetworkConfig);
  EXPECT_EQ(macvlan_code({{"master", "a b"}}), ErrorCode::kInvalidNetworkConfig);
  EXPECT_EQ(macvlan_code({{"master", 5}}), ErrorCode::kDecodingFailure);
  EXPECT_EQ(macvlan_code({{"mtu", -1}}), ErrorCode::kDecodingFailure);
  EXPECT_EQ(macvlan_code({{"linkInContainer", "yes"}}), ErrorCode::kDecodingFailure);
  EXPECT_EQ(macvlan_code({{"mac", "03:00:00:00:00:01"}}), ErrorCode::kInvalidNetworkConfig);
  EXPECT_EQ(macvlan_code({{"ipam", 1}}), ErrorCode::kInvalidNetworkConfig);
  EXPECT_EQ(macvlan_code(json::object(), "IP=10.0.0.1"), ErrorCode::kInvalidEnvironment);
  EXPECT_NO_THROW((void)macvlan(json::object(), "IgnoreUnknown=1;IP=10.0.0.1"));
  EXPECT_NO_THROW((void)macvlan({{"bcqueuelen", 0}}));
}

plugins::host_device::Config host_device(const json& extra) {
  return plugins::host_device::parse_config(args_of("host-device", extra));
}
ErrorCode host_device_code(const json& extra) {
  return error_of([&] { (void)host_device(extra); }).code();
}

TEST(HostDeviceConfigTest, TheFirstOfDeviceHwaddrKernelpathWins) {
  auto c = host_device({{"device", "eth1"}, {"hwaddr", "02:00:00:00:00:01"}});
  EXPECT_EQ(c.device, "eth1");
  EXPECT_FALSE(c.hwaddr);
  c = host_device({{"hwaddr", "02:00:00:00:00:01"}, {"kernelpath", "/sys/devices/virtual/net/x"}});
  EXPECT_EQ(c.hwaddr->to_string(), "02:00:00:00:00:01");
  EXPECT_EQ(c.kernelpath, "");
  c = host_device({{"kernelpath", "/sys/devices/pci0000:00/0000:00:03.0"}});
  EXPECT_EQ(c.kernelpath, "/sys/devices/pci0000:00/0000:00:03.0");
  EXPECT_FALSE(c.layer3());
}

TEST(HostDeviceConfigTest, ErrorCodes) {
  EXPECT_EQ(host_device_code(json::object()), ErrorCode::kInvalidNetworkConfig);
  EXPECT_EQ(host_device_code({{"pciBusID", "0000:00:03.0"}}), ErrorCode::kUnsupportedField);
  EXPECT_EQ(
      host_device_code({{"device", "eth1"}, {"runtimeConfig", {{"deviceID", "0000:00:03.0"}}}}),
      ErrorCode::kUnsupportedField);
  EXPECT_EQ(host_device_code({{"device", "a/b"}}), ErrorCode::kInvalidNetworkConfig);
  EXPECT_EQ(host_device_code({{"hwaddr", "zz"}}), ErrorCode::kInvalidNetworkConfig);
  EXPECT_EQ(host_device_code({{"kernelpath", "sys/devices/x"}}), ErrorCode::kInvalidNetworkConfig);
  EXPECT_EQ(host_device_code({{"kernelpath", "/proc/self"}}), ErrorCode::kInvalidNetworkConfig);
  EXPECT_EQ(host_device_code({{"kernelpath", "/sys/devices/../block"}}),
            ErrorCode::kInvalidNetworkConfig);
  EXPECT_EQ(host_device_code({{"device", 3}}), ErrorCode::kDecodingFailure);
}

plugins::tap::Config tap(const json& extra, const std::string& cni_args = "") {
  return plugins::tap::parse_config(args_of("tap", extra, cni_args));
}
ErrorCode tap_code(const json& extra) {
  return error_of([&] { (void)tap(extra); }).code();
}

TEST(TapConfigTest, KeysAndDefaults) {
  auto c = tap(json::object());
  EXPECT_FALSE(c.multi_queue);
  EXPECT_FALSE(c.owner);
  EXPECT_FALSE(c.group);
  EXPECT_EQ(c.bridge, "");
  EXPECT_FALSE(c.layer3());
  c = tap({{"multiQueue", true},
           {"owner", 1000},
           {"group", 100},
           {"bridge", "br0"},
           {"mtu", 9000},
           {"mac", "02:00:00:00:00:01"},
           {"selinuxContext", ""}});
  EXPECT_TRUE(c.multi_queue);
  EXPECT_EQ(*c.owner, 1000u);
  EXPECT_EQ(*c.group, 100u);
  EXPECT_EQ(c.bridge, "br0");
  EXPECT_EQ(*c.mtu, 9000u);
  EXPECT_EQ(c.mac->to_string(), "02:00:00:00:00:01");
  EXPECT_EQ(tap({{"mac", "02:00:00:00:00:01"}}, "MAC=02:00:00:00:00:02").mac->to_string(),
            "02:00:00:00:00:02");
}

TEST(TapConfigTest, ErrorCodes) {
  EXPECT_EQ(tap_code({{"selinuxContext", "system_u:object_r:svirt_t:s0"}}),
            ErrorCode::kUnsupportedField);
  EXPECT_EQ(tap_code({{"owner", -5}}), ErrorCode::kDecodingFailure);
  EXPECT_EQ(tap_code({{"group", "wheel"}}), ErrorCode::kDecodingFailure);
  EXPECT_EQ(tap_code({{"mtu", 20}}), ErrorCode::kInvalidNetworkConfig);
  EXPECT_EQ(tap_code({{"bridge", "a:b"}}), ErrorCode::kInvalidNetworkConfig);
  EXPECT_EQ(tap_code({{"mac", "ff:ff:ff:ff:ff:ff"}}), ErrorCode::kInvalidNetworkConfig);
}

}  // namespace
