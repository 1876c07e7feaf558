// The slirp4netns plugin's config: defaults, every key, dataDir resolution (XDG_RUNTIME_DIR),
// runtimeConfig.portMappings, the binary lookup, state directory names, and the code of each
// bad input.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "netcore/base/error.hpp"
#include "netcore/cni/cmd_args.hpp"
#include "slirp4netns/config.hpp"
#include "support/expect_error.hpp"

namespace slirp4netns_config_test {
namespace {

namespace fs = std::filesystem;
using netcore::ErrorCode;
using netcore::cni::CmdArgs;
using netcore::cni::Environment;
using nlohmann::json;
using nsnet::testing::error_of;
using plugins::slirp4netns::Config;
using plugins::slirp4netns::PortMapping;

CmdArgs slirp_args(const json& extra, Environment more_env = {}) {
  json conf = {{"cniVersion", "1.1.0"}, {"name", "slirpnet"}, {"type", "slirp4netns"}};
  conf.merge_patch(extra);
  Environment env{{"CNI_COMMAND", "ADD"},
                  {"CNI_CONTAINERID", "c1"},
                  {"CNI_NETNS", "/run/netns/x"},
                  {"CNI_IFNAME", "tap0"},
                  {"CNI_PATH", "/opt/cni/bin"}};
  env.merge(more_env);
  std::istringstream in(conf.dump());
  return CmdArgs::parse(env, in);
}
Config slirp_config(const json& extra, Environment env = {}) {
  return plugins::slirp4netns::parse_config(slirp_args(extra, std::move(env)));
}
netcore::Error slirp_error(const json& extra) {
  return error_of([&] { (void)slirp_config(extra); });
}
std::vector<PortMapping> mappings(json list) {
  return plugins::slirp4netns::parse_port_mappings(
      slirp_args({{"runtimeConfig", {{"portMappings", std::move(list)}}}}));
}
netcore::Error mapping_error(json list) {
  return error_of([&] { (void)mappings(std::move(list)); });
}

TEST(Slirp4netnsConfigTest, Defaults) {
  const auto c = slirp_config(json::object());
  EXPECT_EQ(c.options.mtu, 65520u);
  EXPECT_EQ(c.options.cidr, "10.0.2.0/24");
  EXPECT_FALSE(c.options.allow_host_loopback);
  EXPECT_FALSE(c.options.enable_ipv6);
  EXPECT_TRUE(c.options.enable_sandbox);
  EXPECT_TRUE(c.options.enable_seccomp);
  EXPECT_EQ(c.options.outbound_addr, "");
  EXPECT_EQ(c.options.outbound_addr6, "");
  EXPECT_EQ(c.binary, "slirp4netns");
  EXPECT_EQ(c.data_dir, "/var/lib/cni/slirp4netns");
  EXPECT_TRUE(mappings(nullptr).empty());
  EXPECT_TRUE(plugins::slirp4netns::parse_port_mappings(slirp_args(json::object())).empty());
}

TEST(Slirp4netnsConfigTest, EveryKey) {
  const auto c = slirp_config({{"mtu", 1500},
                               {"cidr", "10.9.0.0/16"},
                               {"allowHostLoopback", true},
                               {"enableIPv6", true},
                               {"outboundAddr", "192.0.2.1"},
                               {"outboundAddr6", "eth0"},
                               {"enableSandbox", false},
                               {"enableSeccomp", false},
                               {"dataDir", "/srv/slirp/"},
                               {"binary", "/opt/bin/slirp4netns"}});
  EXPECT_EQ(c.options.mtu, 1500u);
  EXPECT_EQ(c.options.cidr, "10.9.0.0/16");
  EXPECT_TRUE(c.options.allow_host_loopback);
  EXPECT_TRUE(c.options.enable_ipv6);
  EXPECT_EQ(c.options.outbound_addr, "192.0.2.1");
  EXPECT_EQ(c.options.outbound_addr6, "eth0");
  EXPECT_FALSE(c.options.enable_sandbox);
  EXPECT_FALSE(c.options.enable_seccomp);
  EXPECT_EQ(c.data_dir, "/srv/slirp/");
  EXPECT_EQ(c.binary, "/opt/bin/slirp4netns");
  // Keys of other plugins are ignored.
  EXPECT_EQ(slirp_config({{"ipMasq", true}, {"bridge", "x"}}).options.mtu, 65520u);
}

TEST(Slirp4netnsConfigTest, DataDirFollowsXdgRuntimeDir) {
  EXPECT_EQ(slirp_config(json::object(), {{"XDG_RUNTIME_DIR", "/run/user/1000"}}).data_dir,
            "/run/user/1000/cni/slirp4netns");
  EXPECT_EQ(slirp_config(json::object(), {{"XDG_RUNTIME_DIR", ""}}).data_dir,
            "/var/lib/cni/slirp4netns");
  EXPECT_EQ(slirp_config({{"dataDir", "/d"}}, {{"XDG_RUNTIME_DIR", "/run/user/1000"}}).data_dir,
            "/d");
  EXPECT_EQ(plugins::slirp4netns::default_data_dir({}), "/var/lib/cni/slirp4netns");
  // DEL and GC read only dataDir: a bad mtu does not stop them.
  EXPECT_EQ(plugins::slirp4netns::parse_data_dir(slirp_args({{"mtu", 1}, {"dataDir", "/d"}})),
            "/d");
}

TEST(Slirp4netnsConfigTest, BadValuesAreCode7NamingTheKey) {
  const std::vector<std::pair<json, std::string>> cases = {
      {{{"mtu", 67}}, "mtu"},
      {{{"mtu", 65522}}, "mtu"},
      {{{"cidr", "10.0.2.0/26"}}, "cidr"},
      {{{"cidr", "fd00::/64"}}, "cidr"},
      {{{"cidr", "10.0.2.1/24"}}, "cidr"},
      {{{"cidr", "nonsense"}}, "cidr"},
      {{{"outboundAddr", "2001:db8::1"}}, "outboundAddr"},
      {{{"outboundAddr", "no such/if"}}, "outboundAddr"},
      {{{"outboundAddr6", "192.0.2.1"}, {"enableIPv6", true}}, "outboundAddr6"},
      {{{"outboundAddr6", "2001:db8::1"}}, "outboundAddr6"},  // without enableIPv6
      {{{"dataDir", "relative/dir"}}, "dataDir"},
      {{{"dataDir", ""}}, "dataDir"},
      {{{"binary", ""}}, "binary"},
  };
  for (const auto& [extra, key] : cases) {
    SCOPED_TRACE(extra.dump());
    const auto e = slirp_error(extra);
    EXPECT_EQ(e.code(), ErrorCode::kInvalidNetworkConfig) << e.what();
    EXPECT_NE(e.msg().find(key), std::string::npos) << e.msg();
  }
}

TEST(Slirp4netnsConfigTest, WrongJsonTypesAreCode6) {
  for (const json& extra : {json{{"mtu", "1500"}}, json{{"mtu", -1}}, json{{"enableIPv6", "yes"}},
                            json{{"cidr", 10}}, json{{"dataDir", false}}}) {
    SCOPED_TRACE(extra.dump());
    EXPECT_EQ(slirp_error(extra).code(), ErrorCode::kDecodingFailure);
  }
}

TEST(Slirp4netnsConfigTest, PortMappings) {
  const auto m = mappings({{{"hostPort", 8080}, {"containerPort", 80}},
                           {{"hostPort", 8080}, {"containerPort", 80}, {"protocol", "udp"}},
                           {{"hostPort", 53}, {"containerPort", 53}, {"hostIP", "127.0.0.1"}},
                           {{"hostPort", 9}, {"containerPort", 9}, {"hostIP", ""}}});
  ASSERT_EQ(m.size(), 4u);
  EXPECT_EQ(m[0], (PortMapping{8080, 80, "tcp", "0.0.0.0"}));
  EXPECT_EQ(m[1], (PortMapping{8080, 80, "udp", "0.0.0.0"}));
  EXPECT_EQ(m[2], (PortMapping{53, 53, "tcp", "127.0.0.1"}));
  EXPECT_EQ(m[3].host_ip, "0.0.0.0");
}

TEST(Slirp4netnsConfigTest, BadPortMappings) {
  const std::vector<std::pair<json, std::string>> code7 = {
      {{{{"containerPort", 80}}}, "hostPort"},
      {{{{"hostPort", 0}, {"containerPort", 80}}}, "hostPort"},
      {{{{"hostPort", 80}, {"containerPort", 65536}}}, "containerPort"},
      {{{{"hostPort", 80}, {"containerPort", 80}, {"protocol", "sctp"}}}, "protocol"},
      {{{{"hostPort", 80}, {"containerPort", 80}, {"hostIP", "::1"}}}, "hostIP"},
      {{{{"hostPort", 80}, {"containerPort", 80}, {"hostIP", "nonsense"}}}, "hostIP"},
      {{{{"hostPort", 80}, {"containerPort", 80}}, {{"hostPort", 80}, {"containerPort", 81}}},
       "portMappings[1]"},
  };
  for (const auto& [list, key] : code7) {
    SCOPED_TRACE(list.dump());
    const auto e = mapping_error(list);
    EXPECT_EQ(e.code(), ErrorCode::kInvalidNetworkConfig) << e.what();
    EXPECT_NE(e.msg().find(key), std::string::npos) << e.msg();
  }
  EXPECT_EQ(mapping_error(json::object()).code(), ErrorCode::kDecodingFailure);
  EXPECT_EQ(mapping_error({1}).code(), ErrorCode::kDecodingFailure);
  EXPECT_EQ(mapping_error({{{"hostPort", "80"}, {"containerPort", 80}}}).code(),
            ErrorCode::kDecodingFailure);
}

TEST(Slirp4netnsConfigTest, BinaryLookup) {
  const fs::path dir = fs::temp_directory_path() / ("slirp-bin-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path tool = dir / "my-slirp";
  std::ofstream(tool) << "#!/bin/sh\n";
  ::chmod(tool.c_str(), 0755);
  std::ofstream(dir / "not-executable") << "x";

  Config c;
  c.binary = "my-slirp";
  EXPECT_EQ(plugins::slirp4netns::find_binary(c, {{"PATH", "/nonexistent:" + dir.string()}}), tool);
  EXPECT_FALSE(plugins::slirp4netns::find_binary(c, {{"PATH", "/nonexistent"}}));
  c.binary = tool.string();
  EXPECT_EQ(plugins::slirp4netns::find_binary(c, {}), tool);
  c.binary = (dir / "not-executable").string();
  EXPECT_FALSE(plugins::slirp4netns::find_binary(c, {}));
  c.binary = (dir / "missing").string();
  EXPECT_FALSE(plugins::slirp4netns::find_binary(c, {}));
  // /usr/bin after PATH: sh is there on every machine.
  c.binary = "sh";
  EXPECT_EQ(plugins::slirp4netns::find_binary(c, {{"PATH", "/nonexistent"}}), "/usr/bin/sh");
  fs::remove_all(dir);
}

TEST(Slirp4netnsConfigTest, AttachmentDirRefusesPathTricks) {
  EXPECT_EQ(plugins::slirp4netns::attachment_dir("/d", "net", "c1", "tap0"), "/d/net/c1-tap0");
  EXPECT_EQ(plugins::slirp4netns::network_dir("/d", "net"), "/d/net");
  for (const auto& [net, cid, ifname] :
       std::vector<std::tuple<std::string, std::string, std::string>>{{"..", "c1", "tap0"},
                                                                      {"a/b", "c1", "tap0"},
                                                                      {"net", "../x", "tap0"},
                                                                      {"net", "c1", "a/b"},
                                                                      {"", "c1", "tap0"},
                                                                      {"net", "", "tap0"},
                                                                      {".", "c", "t"}}) {
    SCOPED_TRACE(net + " " + cid + " " + ifname);
    EXPECT_EQ(error_of([&, &net = net, &cid = cid, &ifname = ifname] {
                (void)plugins::slirp4netns::attachment_dir("/d", net, cid, ifname);
              }).code(),
              ErrorCode::kInvalidNetworkConfig);
  }
}

}  // namespace
}  // namespace slirp4netns_config_test
