#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "host-local/config.hpp"
#include "netcore/base/error.hpp"
#include "netcore/cni/cmd_args.hpp"
#include "netcore/net/ip.hpp"
#include "support/expect_error.hpp"

namespace plugins::host_local {
namespace {

using nsnet::testing::error_of;

namespace fs = std::filesystem;
using netcore::Error;
using netcore::ErrorCode;
using netcore::cni::CmdArgs;
using netcore::cni::Environment;
using nlohmann::json;
using Strings = std::vector<std::string>;

// An ADD invocation of host-local with `config` on stdin; `cni_args` becomes CNI_ARGS if set.
CmdArgs add_args(const json& config, const std::string& cni_args = "") {
  Environment env{{"CNI_COMMAND", "ADD"},
                  {"CNI_CONTAINERID", "ctr-1"},
                  {"CNI_NETNS", "/run/netns/x"},
                  {"CNI_IFNAME", "eth0"},
                  {"CNI_PATH", "/opt/cni/bin"}};
  if (!cni_args.empty()) env["CNI_ARGS"] = cni_args;
  std::istringstream in(config.dump());
  return CmdArgs::parse(env, in);
}

// A network config whose ipam section is `ipam` (JSON text) plus type host-local.
json network(std::string_view ipam, const std::string& version = "1.0.0") {
  json section = json::parse(ipam);
  section["type"] = "host-local";
  return {{"cniVersion", version}, {"name", "mynet"}, {"type", "bridge"}, {"ipam", section}};
}

Config parse(const json& config, const std::string& cni_args = "") {
  return parse_config(add_args(config, cni_args));
}

Error parse_error(const json& config, const std::string& cni_args = "") {
  return error_of([&] { (void)parse(config, cni_args); });
}

Strings set_texts(const Config& c) {
  Strings out;
  for (const auto& s : c.range_sets) out.push_back(s.to_string());
  return out;
}

Strings ip_texts(const std::vector<netcore::net::IpAddress>& ips) {
  Strings out;
  for (const auto& a : ips) out.push_back(a.to_string());
  return out;
}

constexpr std::string_view kDualStack =
    R"({"ranges": [[{"subnet": "10.1.0.0/16"}], [{"subnet": "fd00::/120"}]]})";

TEST(HostLocalConfigTest, DualStackRanges) {
  const auto c = parse(network(R"({
    "ranges": [[{"subnet": "10.1.0.0/16"}], [{"subnet": "fd00::/120"}]],
    "routes": [{"dst": "0.0.0.0/0"}, {"dst": "fd00:1::/64", "gw": "fd00::1"}],
    "dataDir": "/run/cni/ipam"})"));
  EXPECT_EQ(c.network, "mynet");
  ASSERT_EQ(c.range_sets.size(), 2u);
  EXPECT_TRUE(c.range_sets[0].is_v4());
  EXPECT_FALSE(c.range_sets[1].is_v4());
  EXPECT_EQ(set_texts(c), (Strings{"10.1.0.1-10.1.255.254", "fd00::1-fd00::ff"}));
  EXPECT_EQ(c.range_sets[0].ranges()[0].gateway.to_string(), "10.1.0.1");
  ASSERT_EQ(c.routes.size(), 2u);
  EXPECT_EQ(c.routes[0].dst.to_string(), "0.0.0.0/0");
  EXPECT_FALSE(c.routes[0].gw.has_value());
  EXPECT_EQ(c.routes[1].dst.to_string(), "fd00:1::/64");
  EXPECT_EQ(c.routes[1].gw->to_string(), "fd00::1");
  EXPECT_EQ(c.data_dir, fs::path("/run/cni/ipam"));
  EXPECT_FALSE(c.resolv_conf.has_value());
  EXPECT_TRUE(c.requested.empty());
}

TEST(HostLocalConfigTest, MultipleRangesInASetKeepTheirOrder) {
  const auto c = parse(network(R"({"ranges": [[
    {"subnet": "10.1.2.0/24", "rangeStart": "10.1.2.9", "rangeEnd": "10.1.2.11"},
    {"subnet": "10.1.4.0/24", "gateway": "10.1.4.254"}]]})"));
  ASSERT_EQ(c.range_sets.size(), 1u);
  EXPECT_EQ(set_texts(c), (Strings{"10.1.2.9-10.1.2.11,10.1.4.1-10.1.4.254"}));
  EXPECT_EQ(c.range_sets[0].ranges()[1].gateway.to_string(), "10.1.4.254");
}

TEST(HostLocalConfigTest, DefaultsAndResolvConf) {
  auto c = parse(network(kDualStack));
  EXPECT_EQ(c.data_dir, fs::path("/var/lib/cni/networks"));
  EXPECT_TRUE(c.routes.empty());
  c = parse(network(R"({"ranges": [[{"subnet": "10.1.0.0/16"}]], "dataDir": "",
                        "resolvConf": ""})"));
  EXPECT_EQ(c.data_dir, fs::path("/var/lib/cni/networks"));
  EXPECT_FALSE(c.resolv_conf.has_value());
  c = parse(network(R"({"ranges": [[{"subnet": "10.1.0.0/16"}]], "resolvConf": "/etc/x.conf"})"));
  EXPECT_EQ(c.resolv_conf, fs::path("/etc/x.conf"));
}

TEST(HostLocalConfigTest, LegacyKeysArePrepended) {
  const auto c = parse(network(R"({"subnet": "10.2.0.0/24", "rangeStart": "10.2.0.10",
    "rangeEnd": "10.2.0.20", "gateway": "10.2.0.254",
    "ranges": [[{"subnet": "fd00::/120"}]]})"));
  EXPECT_EQ(set_texts(c), (Strings{"10.2.0.10-10.2.0.20", "fd00::1-fd00::ff"}));
  EXPECT_EQ(c.range_sets[0].ranges()[0].gateway.to_string(), "10.2.0.254");
  EXPECT_EQ(c.range_sets[0].ranges()[0].subnet.to_string(), "10.2.0.0/24");

  const auto only = parse(network(R"({"subnet": "10.2.0.0/24"})", "0.3.1"));
  EXPECT_EQ(set_texts(only), (Strings{"10.2.0.1-10.2.0.254"}));
}

TEST(HostLocalConfigTest, RuntimeIpRangesArePrependedBeforeBoth) {
  auto config = network(R"({"subnet": "10.2.0.0/24", "ranges": [[{"subnet": "fd00::/120"}]]})");
  config["runtimeConfig"] = json::parse(R"({"ipRanges": [
    [{"subnet": "10.3.0.0/24", "rangeStart": "10.3.0.100"}], [{"subnet": "fd01::/120"}]]})");
  const auto c = parse(config);
  EXPECT_EQ(set_texts(c), (Strings{"10.3.0.100-10.3.0.254", "fd01::1-fd01::ff",
                                   "10.2.0.1-10.2.0.254", "fd00::1-fd00::ff"}));
}

TEST(HostLocalConfigTest, RequestedAddressesFromAllThreeSources) {
  auto config = network(kDualStack);
  config["args"] = json::parse(R"({"cni": {"ips": ["10.1.0.6/16", "fd00::6"]}})");
  config["runtimeConfig"] = json::parse(R"({"ips": ["10.1.0.7/16", "fd00::7"]})");
  auto c = parse(config, "IP=10.1.0.5");
  EXPECT_EQ(ip_texts(c.requested),
            (Strings{"10.1.0.5", "10.1.0.6", "fd00::6", "10.1.0.7", "fd00::7"}));

  c = parse(network(kDualStack), "IP=10.1.0.5/16");
  EXPECT_EQ(ip_texts(c.requested), (Strings{"10.1.0.5"}));
  c = parse(network(kDualStack), "IgnoreUnknown=1;IP=fd00::9");
  EXPECT_EQ(ip_texts(c.requested), (Strings{"fd00::9"}));
}

TEST(HostLocalConfigTest, BadRequestedAddressNamesItsSource) {
  const auto base = network(kDualStack);
  auto e = parse_error(base, "IP=10.1.0.300");
  EXPECT_EQ(e.code(), ErrorCode::kInvalidNetworkConfig);
  EXPECT_EQ(e.msg(), "CNI_ARGS IP: invalid IP address \"10.1.0.300\"");

  auto config = base;
  config["args"] = json::parse(R"({"cni": {"ips": ["10.1.0.6/99"]}})");
  e = parse_error(config);
  EXPECT_EQ(e.code(), ErrorCode::kInvalidNetworkConfig);
  EXPECT_EQ(e.msg(), "args.cni.ips: invalid CIDR address \"10.1.0.6/99\"");

  config = base;
  config["runtimeConfig"] = json::parse(R"({"ips": ["bogus"]})");
  e = parse_error(config);
  EXPECT_EQ(e.code(), ErrorCode::kInvalidNetworkConfig);
  EXPECT_EQ(e.msg(), "runtimeConfig.ips: invalid IP address \"bogus\"");
}

TEST(HostLocalConfigTest, UnknownCniArgsKeyIsAnEnvironmentError) {
  const auto base = network(kDualStack);
  const auto e = parse_error(base, "IP=10.1.0.5;K8S_POD_NAME=web");
  EXPECT_EQ(e.code(), ErrorCode::kInvalidEnvironment);
  EXPECT_EQ(e.msg(), "CNI_ARGS: unknown key \"K8S_POD_NAME\"");

  const auto c = parse(base, "IgnoreUnknown=1;K8S_POD_NAME=web;IP=10.1.0.5");
  EXPECT_EQ(ip_texts(c.requested), (Strings{"10.1.0.5"}));
}

TEST(HostLocalConfigTest, BadRangesNameTheirJsonPath) {
  auto e = parse_error(network(R"({"ranges": [[{"subnet": "10.1.0.0/33"}]]})"));
  EXPECT_EQ(e.code(), ErrorCode::kInvalidNetworkConfig);
  EXPECT_EQ(e.msg(), "ipam.ranges[0][0]: subnet: invalid CIDR address \"10.1.0.0/33\"");

  e = parse_error(network(R"({"ranges": [[{"subnet": "10.1.0.0/24"},
    {"subnet": "10.2.0.0/24", "rangeStart": "10.2.0.9", "rangeEnd": "10.2.0.5"}]]})"));
  EXPECT_EQ(e.code(), ErrorCode::kInvalidNetworkConfig);
  EXPECT_EQ(e.msg(),
            "ipam.ranges[0][1]: rangeEnd 10.2.0.5 is in network 10.2.0.0/24 but before start "
            "10.2.0.9");

  e = parse_error(network(R"({"ranges": [[{"subnet": "10.1.0.0/24"}],
    [{"subnet": "fd00::/120", "gateway": "fd01::1"}]]})"));
  EXPECT_EQ(e.code(), ErrorCode::kInvalidNetworkConfig);
  EXPECT_EQ(e.msg(), "ipam.ranges[1][0]: gateway fd01::1 not in network fd00::/120");

  e = parse_error(network(R"({"subnet": "10.2.0.0/24", "gateway": "10.3.0.1"})"));
  EXPECT_EQ(e.code(), ErrorCode::kInvalidNetworkConfig);
  EXPECT_EQ(e.msg(), "ipam: gateway 10.3.0.1 not in network 10.2.0.0/24");

  e = parse_error(network(R"({"ranges": [[{"rangeStart": "10.1.0.5"}]]})"));
  EXPECT_EQ(e.code(), ErrorCode::kInvalidNetworkConfig);
  EXPECT_EQ(e.msg(), "ipam.ranges[0][0]: missing \"subnet\"");

  e = parse_error(network(R"({"ranges": [[]]})"));
  EXPECT_EQ(e.code(), ErrorCode::kInvalidNetworkConfig);
  EXPECT_EQ(e.msg(), "ipam.ranges[0]: a range set must be a non-empty array of ranges");

  auto config = network(kDualStack);
  config["runtimeConfig"] = json::parse(R"({"ipRanges": [[{"subnet": "10.9.0.0/31"}]]})");
  e = parse_error(config);
  EXPECT_EQ(e.code(), ErrorCode::kInvalidNetworkConfig);
  EXPECT_EQ(e.msg(),
            "runtimeConfig.ipRanges[0][0]: subnet 10.9.0.0/31 is too small to allocate from");
}

TEST(HostLocalConfigTest, OverlapsAreRejected) {
  // Within one set: the set's path.
  auto e = parse_error(
      network(R"({"ranges": [[{"subnet": "10.1.0.0/16"}, {"subnet": "10.1.2.0/24"}]]})"));
  EXPECT_EQ(e.code(), ErrorCode::kInvalidNetworkConfig);
  EXPECT_EQ(e.msg(), "ipam.ranges[0]: subnets 10.1.0.0/16 and 10.1.2.0/24 overlap");

  // Across sets: the indexes of the combined list, as the reference reports them.
  e = parse_error(network(R"({"subnet": "10.5.0.0/24",
    "ranges": [[{"subnet": "fd00::/120"}], [{"subnet": "10.5.0.0/16"}]]})"));
  EXPECT_EQ(e.code(), ErrorCode::kInvalidNetworkConfig);
  EXPECT_EQ(e.msg(), "range set 0 overlaps with 2");
}

TEST(HostLocalConfigTest, MissingIpamOrRangesIsAConfigError) {
  auto config = network(kDualStack);
  config.erase("ipam");
  auto e = parse_error(config);
  EXPECT_EQ(e.code(), ErrorCode::kInvalidNetworkConfig);
  EXPECT_EQ(e.msg(), "IPAM config missing 'ipam' key");

  config["ipam"] = "host-local";
  e = parse_error(config);
  EXPECT_EQ(e.code(), ErrorCode::kInvalidNetworkConfig);
  EXPECT_EQ(e.msg(), "IPAM config missing 'ipam' key");

  e = parse_error(network("{}"));
  EXPECT_EQ(e.code(), ErrorCode::kInvalidNetworkConfig);
  EXPECT_EQ(e.msg(), "no IP ranges specified");

  e = parse_error(network(R"({"ranges": []})"));
  EXPECT_EQ(e.code(), ErrorCode::kInvalidNetworkConfig);
  EXPECT_EQ(e.msg(), "no IP ranges specified");
}

TEST(HostLocalConfigTest, OldVersionsAllowOneAddressPerFamily) {
  constexpr std::string_view kTwoV4 =
      R"({"ranges": [[{"subnet": "10.1.0.0/24"}], [{"subnet": "10.2.0.0/24"}]]})";
  const auto e = parse_error(network(kTwoV4, "0.2.0"));
  EXPECT_EQ(e.code(), ErrorCode::kInvalidNetworkConfig);
  EXPECT_EQ(e.msg(), "CNI version 0.2.0 does not support more than 1 address per family");

  EXPECT_EQ(parse(network(kDualStack, "0.2.0")).range_sets.size(), 2u);
  EXPECT_EQ(parse(network(kTwoV4, "0.3.0")).range_sets.size(), 2u);
}

// A temporary file, removed at the end.
class TempFile {
 public:
  explicit TempFile(std::string_view content) {
    const char* base = std::getenv("TMPDIR");
    std::string templ =
        (fs::path(base != nullptr && *base != '\0' ? base : "/tmp") / "nsnet-resolv-XXXXXX")
            .string();
    const int fd = ::mkstemp(templ.data());
    if (fd < 0) ADD_FAILURE() << "mkstemp " << templ;
    ::close(fd);
    path_ = templ;
    std::ofstream(path_, std::ios::binary) << content;
  }
  ~TempFile() {
    std::error_code ec;
    fs::remove(path_, ec);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

TEST(HostLocalResolvConfTest, ParsesLikeTheReference) {
  const TempFile file(
      "# generated\n"
      "nameserver 10.0.0.53\n"
      "  nameserver\tfd00::53   # trailing words are ignored\n"
      "; also a comment\n"
      "domain example.com\n"
      "search a.example b.example\n"
      "search c.example\n"
      "options ndots:2 edns0\n"
      "nameserver\n"
      "sortlist 10.0.0.0/8\n"
      "\n");
  const auto dns = parse_resolv_conf(file.path());
  EXPECT_EQ(dns.nameservers, (Strings{"10.0.0.53", "fd00::53"}));
  EXPECT_EQ(dns.domain, "example.com");
  EXPECT_EQ(dns.search, (Strings{"a.example", "b.example", "c.example"}));
  EXPECT_EQ(dns.options, (Strings{"ndots:2", "edns0"}));
}

TEST(HostLocalResolvConfTest, EmptyFileGivesNoDns) {
  const TempFile file("");
  EXPECT_TRUE(parse_resolv_conf(file.path()).empty());
}

TEST(HostLocalResolvConfTest, MissingFileIsAnErrorNamingIt) {
  const auto e = error_of([] { (void)parse_resolv_conf("/nonexistent/nsnet-resolv.conf"); });
  EXPECT_NE(e.msg().find("/nonexistent/nsnet-resolv.conf"), std::string::npos) << e.msg();
}

}  // namespace
}  // namespace plugins::host_local
