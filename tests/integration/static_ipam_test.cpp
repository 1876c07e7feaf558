// The static IPAM plugin through its real binary, as a runtime (or a main plugin delegating to
// it) calls it, across every spec version; and side by side with Debian's reference plugin.
// static touches no kernel state, so no netns is needed: CNI_NETNS is only validated.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "netcore/cni/version.hpp"
#include "support/plugin_runner.hpp"

namespace {

using nlohmann::json;
using nsnet::testing::exec_plugin;
using nsnet::testing::PluginRun;

const std::vector<std::string> kStaticVersions = netcore::cni::all_spec_versions();

using netcore::cni::version_at_least;

// A dual-stack network with gateways, routes of both families and DNS.
const json kIpam = {
    {"type", "static"},
    {"addresses",
     {{{"address", "10.10.0.1/24"}, {"gateway", "10.10.0.254"}},
      {{"address", "3ffe:ffff:0:1ff::1/64"}, {"gateway", "3ffe:ffff::1"}}}},
    {"routes",
     {{{"dst", "0.0.0.0/0"}},
      {{"dst", "192.168.0.0/16"}, {"gw", "10.10.5.1"}},
      {{"dst", "3ffe:ffff:0:1ff::/64"}}}},
    {"dns",
     {{"nameservers", {"8.8.8.8"}}, {"domain", "example.com"}, {"search", {"example.com"}}}}};

std::string config(const std::string& version, const json& ipam = kIpam,
                   const json& extra = json::object()) {
  json conf = {{"cniVersion", version}, {"name", "staticnet"}, {"type", "macvlan"}, {"ipam", ipam}};
  if (ipam.is_null()) conf.erase("ipam");
  conf.update(extra);
  return conf.dump();
}

PluginRun call(const std::string& command, const std::string& conf,
               std::map<std::string, std::string> env = {},
               const std::filesystem::path& dir = nsnet::testing::plugin_dir()) {
  env.emplace("CNI_CONTAINERID", "ctr-static");
  env.emplace("CNI_NETNS", "/run/netns/static-test");  // never opened by an IPAM plugin
  env.emplace("CNI_IFNAME", "eth0");
  return exec_plugin(dir, "static", command, env, conf);
}

// ADD in every version; the result's shape follows the requested version.
TEST(StaticIpamExecTest, AddInEverySpecVersion) {
  for (const auto& version : kStaticVersions) {
    SCOPED_TRACE(version);
    const auto add = call("ADD", config(version));
    ASSERT_EQ(add.exit_code, 0) << add.out << add.err;
    const json result = add.json();
    EXPECT_EQ(result.at("cniVersion"), version);
    EXPECT_EQ(result.at("dns"), kIpam.at("dns"));
    EXPECT_FALSE(result.contains("interfaces"));
    if (version_at_least(version, "0.3.0")) {
      json expected_ips = {{{"address", "10.10.0.1/24"}, {"gateway", "10.10.0.254"}},
                           {{"address", "3ffe:ffff:0:1ff::1/64"}, {"gateway", "3ffe:ffff::1"}}};
      if (!version_at_least(version, "1.0.0")) {
        expected_ips[0]["version"] = "4";
        expected_ips[1]["version"] = "6";
      }
      EXPECT_EQ(result.at("ips"), expected_ips);
      EXPECT_EQ(result.at("routes"), kIpam.at("routes"));
      EXPECT_FALSE(result.contains("ip4"));
    } else {
      EXPECT_EQ(
          result.at("ip4"),
          (json{{"ip", "10.10.0.1/24"},
                {"gateway", "10.10.0.254"},
                {"routes",
                 {{{"dst", "0.0.0.0/0"}}, {{"dst", "192.168.0.0/16"}, {"gw", "10.10.5.1"}}}}}));
      EXPECT_EQ(result.at("ip6"), (json{{"ip", "3ffe:ffff:0:1ff::1/64"},
                                        {"gateway", "3ffe:ffff::1"},
                                        {"routes", {{{"dst", "3ffe:ffff:0:1ff::/64"}}}}}));
      EXPECT_FALSE(result.contains("ips"));
    }
  }
}

TEST(StaticIpamExecTest, AddFromCniArgsArgsAndRuntimeConfig) {
  const json ipam = {{"type", "static"}};
  auto add = call("ADD", config("1.1.0", ipam),
                  {{"CNI_ARGS", "IP=10.10.0.2/24,fd00::2/64;GATEWAY=10.10.0.1"}});
  ASSERT_EQ(add.exit_code, 0) << add.out;
  EXPECT_EQ(add.json().at("ips"), (json{{{"address", "10.10.0.2/24"}, {"gateway", "10.10.0.1"}},
                                        {{"address", "fd00::2/64"}}}));
  EXPECT_FALSE(add.json().contains("dns"));  // empty DNS is left out

  add = call("ADD", config("1.1.0", ipam, {{"args", {{"cni", {{"ips", {"10.20.0.2/24"}}}}}}}),
             {{"CNI_ARGS", "IP=10.10.0.2/24"}});
  EXPECT_EQ(add.json().at("ips"), (json{{{"address", "10.20.0.2/24"}}}));

  add = call("ADD", config("1.1.0", ipam,
                           {{"args", {{"cni", {{"ips", {"10.20.0.2/24"}}}}}},
                            {"runtimeConfig", {{"ips", {"10.30.0.2/24"}}}}}));
  EXPECT_EQ(add.json().at("ips"), (json{{{"address", "10.30.0.2/24"}}}));
}

TEST(StaticIpamExecTest, ConfigErrorsAreJsonWithTheirCodes) {
  struct Case {
    std::string conf;
    std::string cni_args;
    int code;
    std::string culprit;
  };
  const std::vector<Case> cases = {
      {config("1.1.0", nullptr), "", 7, "IPAM config missing 'ipam' key"},
      {config("1.1.0", {{"addresses", {{{"address", "10.10.0.1"}}}}}), "", 7, "'10.10.0.1'"},
      {config("1.1.0", {{"type", "static"}}, {{"runtimeConfig", {{"ips", {"10.30.0.1"}}}}}), "", 7,
       "an entry in the 'ips' field is NOT in CIDR notation, got: '10.30.0.1'"},
      {config("1.1.0", {{"type", "static"}}), "IP=10.1.0.1", 7, "'10.1.0.1'"},
      {config("1.1.0", {{"type", "static"}}), "FOO=bar", 4, "FOO"},
      {config("0.2.0", {{"type", "static"}}), "IP=10.1.0.1/24,10.2.0.1/24", 7,
       "CNI version 0.2.0 does not support more than 1 address per family"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.conf + " " + c.cni_args);
    const auto add = call("ADD", c.conf, {{"CNI_ARGS", c.cni_args}});
    EXPECT_EQ(add.exit_code, 1);
    const auto error = add.json();
    EXPECT_EQ(error.value("code", 0), c.code) << error;
    EXPECT_NE(error.value("msg", "").find(c.culprit), std::string::npos) << error;
  }
}

// No addresses at all: fine from 0.3.0 on, and unconvertible before (as in the reference).
TEST(StaticIpamExecTest, AddWithoutAddresses) {
  const auto add = call("ADD", config("1.0.0", {{"type", "static"}}));
  ASSERT_EQ(add.exit_code, 0) << add.out;
  EXPECT_EQ(add.json(), (json{{"cniVersion", "1.0.0"}}));
  const auto old = call("ADD", config("0.2.0", {{"type", "static"}}));
  EXPECT_EQ(old.exit_code, 1);
  EXPECT_NE(old.json().value("msg", "").find("no valid IP addresses"), std::string::npos)
      << old.out;
}

TEST(StaticIpamExecTest, CheckComparesWithPrevResult) {
  for (const std::string version : {"0.4.0", "1.0.0", "1.1.0"}) {
    SCOPED_TRACE(version);
    const auto add = call("ADD", config(version));
    ASSERT_EQ(add.exit_code, 0) << add.out;
    const json prev = add.json();

    const auto ok = call("CHECK", config(version, kIpam, {{"prevResult", prev}}));
    EXPECT_EQ(ok.exit_code, 0) << ok.out;
    EXPECT_EQ(ok.out, "");

    json changed = prev;
    changed["ips"][0]["gateway"] = "10.10.0.253";
    auto check = call("CHECK", config(version, kIpam, {{"prevResult", changed}}));
    EXPECT_EQ(check.exit_code, 1);
    EXPECT_NE(check.json().value("msg", "").find("10.10.0.1/24"), std::string::npos) << check.out;

    changed = prev;
    changed["ips"].erase(1);
    check = call("CHECK", config(version, kIpam, {{"prevResult", changed}}));
    EXPECT_EQ(check.exit_code, 1);
    EXPECT_NE(check.json().value("msg", "").find("3ffe:ffff:0:1ff::1/64"), std::string::npos)
        << check.out;

    check = call("CHECK", config(version));
    EXPECT_EQ(check.exit_code, 1);
    EXPECT_EQ(check.json().value("msg", ""), "static: required prevResult missing");
  }
  for (const std::string version : {"0.1.0", "0.2.0", "0.3.0", "0.3.1"}) {
    const auto check = call("CHECK", config(version));
    EXPECT_EQ(check.exit_code, 1) << version;
    EXPECT_EQ(check.json().value("code", 0), 1) << version;  // CHECK needs 0.4.0
  }
}

TEST(StaticIpamExecTest, DelTwiceSucceedsSilently) {
  for (const auto& version : kStaticVersions) {
    SCOPED_TRACE(version);
    for (int i = 0; i < 2; ++i) {
      const auto del = call("DEL", config(version));
      EXPECT_EQ(del.exit_code, 0) << del.out;
      EXPECT_EQ(del.out, "");
    }
  }
  // Nothing to release, so not even a config without ipam fails.
  EXPECT_EQ(call("DEL", config("1.1.0", nullptr)).exit_code, 0);
}

TEST(StaticIpamExecTest, VersionStatusAndGc) {
  const auto dir = nsnet::testing::plugin_dir();
  const auto version = exec_plugin(dir, "static", "VERSION", {}, R"({"cniVersion":"0.4.0"})");
  ASSERT_EQ(version.exit_code, 0) << version.out;
  EXPECT_EQ(version.json().at("cniVersion"), "0.4.0");
  EXPECT_EQ(version.json().at("supportedVersions"), json(kStaticVersions));

  const auto status = exec_plugin(dir, "static", "STATUS", {}, config("1.1.0"));
  EXPECT_EQ(status.exit_code, 0) << status.out;
  EXPECT_EQ(status.out, "");
  json gc = json::parse(config("1.1.0"));
  gc["cni.dev/valid-attachments"] = json::array();
  const auto collected = exec_plugin(dir, "static", "GC", {}, gc.dump());
  EXPECT_EQ(collected.exit_code, 0) << collected.out;
  EXPECT_EQ(collected.out, "");
}

// The same configs through Debian's reference static (1.1.1, speaks up to 1.0.0) give the same
// ips, routes and dns, and each plugin's CHECK accepts either's ADD result.
TEST(StaticIpamExecTest, MatchesTheReferencePlugin) {
  if (!std::filesystem::exists(nsnet::testing::kReferencePluginDir / "static"))
    GTEST_SKIP() << "reference plugins not installed";
  const json bare = {{"type", "static"}};
  const json one = {{"type", "static"},
                    {"addresses", {{{"address", "10.10.0.1/24"}, {"gateway", "10.10.0.254"}}}},
                    {"routes", {{{"dst", "0.0.0.0/0"}}}}};
  struct Case {
    std::string name;
    json ipam;
    json extra;
    std::string cni_args;
  };
  const std::vector<Case> cases = {
      {"config", kIpam, json::object(), ""},
      {"no addresses", bare, json::object(), ""},
      {"CNI_ARGS appended", one, json::object(),
       "IP=10.10.0.2/24, 11.11.0.2/24,fd00::2/64;GATEWAY=10.10.0.1,fd00::1"},
      // GATEWAY never reaches the config's own addresses, in either.
      {"CNI_ARGS gateway only", one, json::object(), "GATEWAY=10.10.0.1"},
      {"IgnoreUnknown", one, json::object(), "IgnoreUnknown=1;K8S_POD_NAME=web;IP=10.10.0.3/24"},
      {"args.cni.ips",
       one,
       {{"args", {{"cni", {{"ips", {"10.20.0.1/24", "fd00::20/64"}}}}}}},
       "IP=10.10.0.2/24;GATEWAY=10.10.0.1"},
      {"runtimeConfig.ips",
       one,
       {{"args", {{"cni", {{"ips", {"10.20.0.1/24"}}}}}},
        {"runtimeConfig", {{"ips", {"10.30.0.1/24", "fd00::30/64"}}}}},
       "IP=10.10.0.2/24"},
      {"empty ips lists",
       one,
       {{"args", {{"cni", {{"ips", json::array()}}}}}, {"runtimeConfig", {{"ips", json::array()}}}},
       "IP=10.10.0.2/24"},
      {"bad config address replaced",
       {{"type", "static"}, {"addresses", {{{"address", "junk"}}}}},
       {{"runtimeConfig", {{"ips", {"10.30.0.1/24"}}}}},
       ""},
  };
  auto normalize = [](json r) {
    for (auto& ip : r["ips"]) ip.erase("version");  // the 1.1.1 reference may omit it
    if (r["ips"].empty()) r.erase("ips");
    if (r["dns"].empty()) r.erase("dns");  // it prints "dns":{}, we leave it out
    return r;
  };
  for (const std::string version : {"0.3.0", "0.3.1", "0.4.0", "1.0.0"}) {
    for (const auto& c : cases) {
      SCOPED_TRACE(version + " " + c.name);
      const auto conf = config(version, c.ipam, c.extra);
      const std::map<std::string, std::string> env = {{"CNI_ARGS", c.cni_args}};
      const auto ours = call("ADD", conf, env);
      const auto reference = call("ADD", conf, env, nsnet::testing::kReferencePluginDir);
      ASSERT_EQ(ours.exit_code, 0) << ours.out;
      ASSERT_EQ(reference.exit_code, 0) << reference.out;
      EXPECT_EQ(normalize(ours.json()), normalize(reference.json()));
      if (!version_at_least(version, "0.4.0")) continue;
      json with_prev = json::parse(conf);
      with_prev["prevResult"] = reference.json();
      EXPECT_EQ(call("CHECK", with_prev.dump(), env).exit_code, 0);
      with_prev["prevResult"] = ours.json();
      EXPECT_EQ(call("CHECK", with_prev.dump(), env, nsnet::testing::kReferencePluginDir).exit_code,
                0);
    }
    // Both refuse the same bad inputs.
    for (const auto& [conf, cni_args] : std::vector<std::pair<std::string, std::string>>{
             {config(version, nullptr), ""},
             {config(version, {{"addresses", {{{"address", "10.10.0.1"}}}}}), ""},
             {config(version, bare, {{"args", {{"cni", {{"ips", {"10.20.0.1"}}}}}}}), ""},
             {config(version, bare), "IP=10.10.0.1"},
             {config(version, bare), "IP=10.10.0.1/24;GATEWAY=10.10.0.x"},
             {config(version, bare), "FOO=bar"}}) {
      SCOPED_TRACE(version + " " + conf + " " + cni_args);
      const std::map<std::string, std::string> env = {{"CNI_ARGS", cni_args}};
      EXPECT_EQ(call("ADD", conf, env).exit_code, 1);
      EXPECT_EQ(call("ADD", conf, env, nsnet::testing::kReferencePluginDir).exit_code, 1);
    }
  }
}

}  // namespace
