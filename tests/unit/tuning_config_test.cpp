// The tuning plugin's config parsing (keys, args.cni, runtimeConfig, CNI_ARGS, sysctl key
// resolution, duplicate keys, the allowlist) and its backup file format.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "netcore/base/error.hpp"
#include "netcore/cni/cmd_args.hpp"
#include "support/expect_error.hpp"
#include "tuning/backup.hpp"
#include "tuning/config.hpp"

namespace plugins::tuning {
namespace {

using netcore::ErrorCode;
using netcore::cni::CmdArgs;
using netcore::cni::Environment;
using nlohmann::json;
using nsnet::testing::error_of;

CmdArgs args_of(const std::string& stdin_text, const std::string& cni_args = "",
                const std::string& ifname = "eth0") {
  Environment env{{"CNI_COMMAND", "ADD"},
                  {"CNI_CONTAINERID", "c1"},
                  {"CNI_NETNS", "/run/netns/x"},
                  {"CNI_IFNAME", ifname},
                  {"CNI_PATH", "/opt/cni/bin"}};
  if (!cni_args.empty()) env["CNI_ARGS"] = cni_args;
  std::istringstream in(stdin_text);
  return CmdArgs::parse(env, in);
}

json base(const json& extra) {
  json conf = {{"cniVersion", "1.1.0"}, {"name", "net"}, {"type", "tuning"}};
  conf.merge_patch(extra);
  return conf;
}

Config parse(const json& extra, const std::string& cni_args = "", const std::string& ifname = "eth0") {
  return parse_config(args_of(base(extra).dump(), cni_args, ifname));
}

ErrorCode code_of(const json& extra, const std::string& cni_args = "") {
  return error_of([&] { (void)parse(extra, cni_args); }).code();
}

TEST(TuningConfigTest, EmptyConfigChangesNothing) {
  const Config c = parse(json::object());
  EXPECT_TRUE(c.sysctls.empty());
  EXPECT_FALSE(c.changes_link());
  EXPECT_EQ(c.data_dir, kDefaultDataDir);
}

TEST(TuningConfigTest, ReadsEveryLinkAttribute) {
  const Config c = parse({{"mac", "c2:b0:57:49:47:f1"},
                          {"mtu", 1454},
                          {"promisc", true},
                          {"allmulti", false},
                          {"txQLen", 0},
                          {"dataDir", "/tmp/x"}});
  EXPECT_EQ(c.mac->to_string(), "c2:b0:57:49:47:f1");
  EXPECT_EQ(c.mtu, 1454u);
  EXPECT_EQ(c.promisc, true);
  EXPECT_EQ(c.allmulti, false);
  EXPECT_EQ(c.txqlen, 0u);  // 0 is a length to set, not "unset"
  EXPECT_EQ(c.data_dir, "/tmp/x");
  EXPECT_TRUE(c.changes_link());
}

TEST(TuningConfigTest, MtuZeroMeansUnsetAsInTheReference) { EXPECT_FALSE(parse({{"mtu", 0}}).mtu); }

TEST(TuningConfigTest, ArgsCniOverrideTopLevelValues) {
  const Config c = parse({{"mtu", 1400},
                          {"promisc", true},
                          {"sysctl", {{"net.core.somaxconn", "100"}, {"net.ipv4.ip_forward", "0"}}},
                          {"args",
                           {{"cni",
                             {{"mtu", 1300},
                              {"promisc", false},
                              {"allmulti", true},
                              {"txQLen", 50},
                              {"sysctl", {{"net.core.somaxconn", "200"}}}}}}}});
  EXPECT_EQ(c.mtu, 1300u);
  EXPECT_EQ(c.promisc, false);
  EXPECT_EQ(c.allmulti, true);
  EXPECT_EQ(c.txqlen, 50u);
  ASSERT_EQ(c.sysctls.size(), 2u);
  EXPECT_EQ(c.sysctls[0].name, "net.core.somaxconn");
  EXPECT_EQ(c.sysctls[0].value, "200");
  EXPECT_EQ(c.sysctls[1].key, "net/ipv4/ip_forward");
}

TEST(TuningConfigTest, MacPrecedenceIsArgsThenRuntimeConfigThenCniArgsThenTopLevel) {
  const std::string env_mac = "MAC=02:00:00:00:00:03";
  EXPECT_EQ(parse({{"mac", "02:00:00:00:00:04"}}).mac->to_string(), "02:00:00:00:00:04");
  EXPECT_EQ(parse({{"mac", "02:00:00:00:00:04"}}, env_mac).mac->to_string(), "02:00:00:00:00:03");
  EXPECT_EQ(parse({{"mac", "02:00:00:00:00:04"}, {"runtimeConfig", {{"mac", "02:00:00:00:00:02"}}}},
                  env_mac)
                .mac->to_string(),
            "02:00:00:00:00:02");
  EXPECT_EQ(parse({{"runtimeConfig", {{"mac", "02:00:00:00:00:02"}}},
                   {"args", {{"cni", {{"mac", "02:00:00:00:00:01"}}}}}},
                  env_mac)
                .mac->to_string(),
            "02:00:00:00:00:01");
}

TEST(TuningConfigTest, UnknownCniArgsAreRefusedUnlessIgnored) {
  EXPECT_EQ(code_of(json::object(), "FOO=1"), ErrorCode::kInvalidEnvironment);
  EXPECT_FALSE(parse(json::object(), "IgnoreUnknown=1;FOO=1").mac);
}

TEST(TuningConfigTest, SysctlDotsBecomeSlashesThenIfnameIsSubstituted) {
  EXPECT_EQ(resolve_sysctl_key("net.ipv4.conf.IFNAME.arp_filter", "eth0"),
            "net/ipv4/conf/eth0/arp_filter");
  // A dotted interface name survives because the substitution comes after the dots.
  EXPECT_EQ(resolve_sysctl_key("net.ipv4.conf.IFNAME.forwarding", "eth0.100"),
            "net/ipv4/conf/eth0.100/forwarding");
  EXPECT_EQ(resolve_sysctl_key("net/core/somaxconn", "eth0"), "net/core/somaxconn");
  const Config c = parse({{"sysctl", {{"net.ipv6.conf.IFNAME.accept_ra", "0"}}}}, "", "net1");
  EXPECT_EQ(c.sysctls.at(0).key, "net/ipv6/conf/net1/accept_ra");
}

TEST(TuningConfigTest, SysctlKeysOutsideNetAreRefused) {
  for (const char* key : {"kernel.panic", "net", "net..core.somaxconn", "net.core.", "/net/core/x",
                          "net/../kernel/panic", "vm.swappiness"}) {
    SCOPED_TRACE(key);
    const auto e = error_of([&] { (void)parse({{"sysctl", {{key, "1"}}}}); });
    EXPECT_EQ(e.code(), ErrorCode::kInvalidNetworkConfig);
    EXPECT_NE(e.msg().find(key), std::string::npos) << e.msg();
  }
}

TEST(TuningConfigTest, DuplicateSysctlKeysAreRefused) {
  const std::string conf =
      R"({"cniVersion":"1.1.0","name":"net","type":"tuning",
          "sysctl":{"net.core.somaxconn":"1","net.core.somaxconn":"2"}})";
  const auto e = error_of([&] { (void)parse_config(args_of(conf)); });
  EXPECT_EQ(e.code(), ErrorCode::kInvalidNetworkConfig);
  EXPECT_NE(e.msg().find("net.core.somaxconn"), std::string::npos) << e.msg();
  const std::string in_args =
      R"({"cniVersion":"1.1.0","name":"net","type":"tuning",
          "args":{"cni":{"sysctl":{"net.a":"1","net.a":"2"}}}})";
  EXPECT_EQ(error_of([&] { (void)parse_config(args_of(in_args)); }).code(),
            ErrorCode::kInvalidNetworkConfig);
  // The same key in two different objects is no duplicate, nor is a repeated key elsewhere.
  const std::string elsewhere =
      R"({"cniVersion":"1.1.0","name":"net","type":"tuning","x":{"k":1,"k":2},
          "sysctl":{"net.core.somaxconn":"1"},"args":{"cni":{"sysctl":{"net.core.somaxconn":"2"}}}})";
  EXPECT_EQ(parse_config(args_of(elsewhere)).sysctls.at(0).value, "2");
}

TEST(TuningConfigTest, BadValuesAreRefusedWithTheirCode) {
  EXPECT_EQ(code_of({{"mac", "not-a-mac"}}), ErrorCode::kInvalidNetworkConfig);
  EXPECT_EQ(code_of({{"mac", "01:00:5e:00:00:01"}}),
            ErrorCode::kInvalidNetworkConfig);  // multicast
  EXPECT_EQ(code_of({{"mac", "00:00:00:00:00:00"}}), ErrorCode::kInvalidNetworkConfig);
  EXPECT_EQ(code_of({{"mtu", 67}}), ErrorCode::kInvalidNetworkConfig);
  EXPECT_EQ(code_of({{"mtu", 65536}}), ErrorCode::kInvalidNetworkConfig);
  EXPECT_EQ(code_of({{"args", {{"cni", {{"mtu", 10}}}}}}), ErrorCode::kInvalidNetworkConfig);
  EXPECT_EQ(code_of({{"mtu", -1}}), ErrorCode::kDecodingFailure);
  EXPECT_EQ(code_of({{"promisc", "yes"}}), ErrorCode::kDecodingFailure);
  EXPECT_EQ(code_of({{"txQLen", -5}}), ErrorCode::kDecodingFailure);
  EXPECT_EQ(code_of({{"sysctl", {{"net.core.somaxconn", 5}}}}), ErrorCode::kDecodingFailure);
  EXPECT_EQ(code_of({{"sysctl", "net.core.somaxconn=5"}}), ErrorCode::kDecodingFailure);
  EXPECT_EQ(code_of({{"args", {{"cni", {{"mac", "zz"}}}}}}), ErrorCode::kInvalidNetworkConfig);
  const auto e = error_of([&] { (void)parse(json::object(), "MAC=nope"); });
  EXPECT_EQ(e.code(), ErrorCode::kInvalidNetworkConfig);
  EXPECT_NE(e.msg().find("CNI_ARGS MAC"), std::string::npos) << e.msg();
}

TEST(TuningConfigTest, DelAndGcReadOnlyTheDataDir) {
  // A config ADD would refuse still lets DEL find its backup.
  EXPECT_EQ(parse_data_dir(args_of(base({{"mtu", 5}, {"dataDir", "/d"}}).dump())), "/d");
  EXPECT_EQ(parse_data_dir(args_of(base(json::object()).dump())), kDefaultDataDir);
}

std::vector<SysctlSetting> sysctls(std::initializer_list<const char*> names) {
  std::vector<SysctlSetting> out;
  for (const char* name : names) out.push_back({.name = name, .key = "", .value = "1"});
  return out;
}

TEST(TuningConfigTest, AllowlistMatchesAnyPartOfTheNameAsWritten) {
  const std::string allowlist = "\n  ^net\\.ipv4\\.conf\\.IFNAME\\.[a-z_]*$  \n\nsomaxconn\n";
  EXPECT_NO_THROW(check_allowlist(sysctls({"net.ipv4.conf.IFNAME.arp_filter"}), allowlist, "f"));
  EXPECT_NO_THROW(check_allowlist(sysctls({"net.core.somaxconn"}), allowlist, "f"));
  const auto e = error_of([&] {
    check_allowlist(sysctls({"net.core.somaxconn", "net.ipv4.ip_forward"}), allowlist, "f");
  });
  EXPECT_EQ(e.code(), ErrorCode::kInvalidNetworkConfig);
  EXPECT_NE(e.msg().find("net.ipv4.ip_forward"), std::string::npos) << e.msg();
  // An empty allowlist allows nothing; no sysctls need nothing.
  EXPECT_EQ(error_of([&] { check_allowlist(sysctls({"net.core.x"}), "", "f"); }).code(),
            ErrorCode::kInvalidNetworkConfig);
  EXPECT_NO_THROW(check_allowlist({}, "", "f"));
  EXPECT_EQ(error_of([&] { check_allowlist(sysctls({"net.core.x"}), "([", "f"); }).code(),
            ErrorCode::kInvalidNetworkConfig);
}

TEST(TuningBackupTest, KeepsTheReferenceLayoutPlusOneKey) {
  Backup b;
  b.mac = "0a:00:00:00:00:01";
  b.mtu = 1500;
  b.promisc = false;
  b.allmulti = true;
  b.txqlen = 1000;
  b.network = "net";
  b.container_id = "c1";
  b.ifname = "eth0";
  b.sysctls = {{"net/core/somaxconn", "4096"}};
  const json j = b.to_json();
  EXPECT_EQ(j["mac"], "0a:00:00:00:00:01");
  EXPECT_EQ(j["mtu"], 1500);
  EXPECT_EQ(j["promisc"], false);
  EXPECT_EQ(j["allmulti"], true);
  EXPECT_EQ(j["txQLen"], 1000);
  EXPECT_EQ(j["nsnet"]["sysctl"]["net/core/somaxconn"], "4096");
  const Backup back = Backup::from_json(j);
  EXPECT_EQ(back.to_json(), j);
  EXPECT_EQ(backup_path("/run/cni/tuning", "c1", "eth0"), "/run/cni/tuning/c1_eth0.json");
}

TEST(TuningBackupTest, ReadsAReferenceFile) {
  const Backup b = Backup::from_json(json::parse(R"({"mac": "0a:58:0a:00:00:02", "mtu": 1500})"));
  EXPECT_EQ(b.mac, "0a:58:0a:00:00:02");
  EXPECT_EQ(b.mtu, 1500u);
  EXPECT_FALSE(b.promisc);
  EXPECT_TRUE(b.network.empty());
  EXPECT_TRUE(b.sysctls.empty());
  EXPECT_THROW((void)Backup::from_json(json::parse(R"({"mtu": "x"})")), netcore::Error);
  EXPECT_THROW((void)Backup::from_json(json::parse("[]")), netcore::Error);
}

}  // namespace
}  // namespace plugins::tuning
