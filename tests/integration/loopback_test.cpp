// The loopback plugin through its real binary, as a runtime calls it, across every spec version.

#include <gtest/gtest.h>

#include <set>

#include "netcore/net/address.hpp"
#include "netcore/net/link.hpp"
#include "netcore/net/netlink.hpp"
#include "support/plugin_runner.hpp"
#include "netcore/cni/version.hpp"
#include "support/sandbox.hpp"

namespace {

namespace net = netcore::net;
using nlohmann::json;
using nsnet::testing::exec_plugin;
using nsnet::testing::PluginRun;

const std::vector<std::string> kLoopbackVersions = netcore::cni::all_spec_versions();

using netcore::cni::version_at_least;

class LoopbackTest : public nsnet::testing::SandboxTest {
 protected:
  void SetUp() override {
    SandboxTest::SetUp();
    if (IsSkipped()) return;
    netns_name_ = unique_name("lo");
    container_->persist(netns_name_);
    netns_path_ = "/run/netns/" + netns_name_;
  }
  void TearDown() override {
    if (!netns_name_.empty()) net::Netns::delete_persisted_if_exists(netns_name_);
    SandboxTest::TearDown();
  }

  static std::string config(const std::string& version, const json& extra = json::object()) {
    json conf = {{"cniVersion", version}, {"name", "lonet"}, {"type", "loopback"}};
    conf.update(extra);
    return conf.dump();
  }

  PluginRun call(const std::string& command, const std::string& conf,
                 std::map<std::string, std::string> env = {},
                 const std::filesystem::path& dir = nsnet::testing::plugin_dir()) {
    env.emplace("CNI_CONTAINERID", "ctr-" + netns_name_);
    env.emplace("CNI_NETNS", netns_path_);
    env.emplace("CNI_IFNAME", "eth0");
    return exec_plugin(dir, "loopback", command, env, conf);
  }

  bool lo_up() {
    const auto nl = container_->run([] { return net::Netlink::connect(); });
    return net::get_link(nl, "lo").up;
  }

  std::string netns_name_;
  std::string netns_path_;
};

// ADD, CHECK, DEL, DEL in every version; the result's shape follows the requested version.
TEST_F(LoopbackTest, LifecycleInEverySpecVersion) {
  for (const auto& version : kLoopbackVersions) {
    SCOPED_TRACE(version);
    ASSERT_FALSE(lo_up());
    const auto add = call("ADD", config(version));
    ASSERT_EQ(add.exit_code, 0) << add.out << add.err;
    const json result = add.json();
    EXPECT_EQ(result.at("cniVersion"), version);
    if (version_at_least(version, "0.3.0")) {
      ASSERT_EQ(result.at("interfaces").size(), 1u);
      EXPECT_EQ(result["interfaces"][0].at("name"), "lo");
      EXPECT_EQ(result["interfaces"][0].at("mac"), "00:00:00:00:00:00");
      EXPECT_EQ(result["interfaces"][0].at("sandbox"), netns_path_);
      std::set<std::string> addresses;
      for (const auto& ip : result.at("ips")) {
        addresses.insert(ip.at("address"));
        EXPECT_EQ(ip.at("interface"), 0);
        EXPECT_EQ(ip.contains("version"), !version_at_least(version, "1.0.0"));
      }
      EXPECT_EQ(addresses, (std::set<std::string>{"127.0.0.1/8", "::1/128"}));
    } else {
      EXPECT_EQ(result.at("ip4").at("ip"), "127.0.0.1/8");
      EXPECT_EQ(result.at("ip6").at("ip"), "::1/128");
      EXPECT_FALSE(result.contains("interfaces"));
    }
    EXPECT_TRUE(lo_up());

    const auto check = call("CHECK", config(version));
    if (version_at_least(version, "0.4.0")) {
      EXPECT_EQ(check.exit_code, 0) << check.out;
      EXPECT_EQ(check.out, "");
    } else {
      EXPECT_NE(check.exit_code, 0);
      EXPECT_EQ(check.json().at("code"), 1);  // CHECK needs 0.4.0
    }

    for (int i = 0; i < 2; ++i) {  // DEL is idempotent
      const auto del = call("DEL", config(version));
      EXPECT_EQ(del.exit_code, 0) << del.out;
      EXPECT_EQ(del.out, "");
    }
    EXPECT_FALSE(lo_up());
  }
}

TEST_F(LoopbackTest, AddIsSeenByIproute2) {
  ASSERT_EQ(call("ADD", config("1.1.0")).exit_code, 0);
  const auto links = json::parse(nsnet::testing::run_in_netns(*container_, "ip -j link show lo"));
  const auto flags = links.at(0).at("flags");
  EXPECT_NE(std::find(flags.begin(), flags.end(), "UP"), flags.end()) << links;
}

TEST_F(LoopbackTest, DelToleratesMissingAndEmptyNetns) {
  EXPECT_EQ(call("DEL", config("1.1.0"), {{"CNI_NETNS", "/run/netns/does-not-exist"}}).exit_code, 0);
  EXPECT_EQ(call("DEL", config("1.1.0"), {{"CNI_NETNS", ""}}).exit_code, 0);
}

TEST_F(LoopbackTest, AddRejectsWhatIsNotANetworkNamespace) {
  for (const std::string path : {"/etc/hostname", "/", "/run/netns/does-not-exist"}) {
    const auto add = call("ADD", config("1.1.0"), {{"CNI_NETNS", path}});
    EXPECT_NE(add.exit_code, 0) << path;
    const auto error = add.json();
    EXPECT_TRUE(error.contains("code")) << error;
    EXPECT_NE(error.value("msg", "").find(path), std::string::npos) << error;
  }
}

TEST_F(LoopbackTest, AddFailsWhenLoCarriesANonLoopbackAddress) {
  const auto nl = container_->run([] { return net::Netlink::connect(); });
  net::add_address(nl, net::get_link(nl, "lo").index, net::Prefix::parse("10.9.8.7/32"), {});
  const auto add = call("ADD", config("1.1.0"));
  EXPECT_NE(add.exit_code, 0);
  EXPECT_NE(add.json().value("msg", "").find("10.9.8.7"), std::string::npos) << add.out;
}

TEST_F(LoopbackTest, CheckFailsWhenLoIsDown) {
  const auto check = call("CHECK", config("1.1.0"));
  EXPECT_NE(check.exit_code, 0);
  EXPECT_NE(check.json().value("msg", "").find("down"), std::string::npos) << check.out;
}

TEST_F(LoopbackTest, ChainedAddPassesPrevResultThrough) {
  const json prev = {{"cniVersion", "1.1.0"},
                     {"interfaces", {{{"name", "eth0"}, {"sandbox", netns_path_}}}},
                     {"ips", {{{"address", "10.1.0.5/24"}, {"interface", 0}}}}};
  const auto add = call("ADD", config("1.1.0", {{"prevResult", prev}}));
  ASSERT_EQ(add.exit_code, 0) << add.out;
  const auto result = add.json();
  EXPECT_EQ(result.at("ips"), prev.at("ips"));
  EXPECT_EQ(result.at("interfaces"), prev.at("interfaces"));
  EXPECT_TRUE(lo_up());
}

TEST_F(LoopbackTest, StatusGcAndVersion) {
  EXPECT_EQ(exec_plugin(nsnet::testing::plugin_dir(), "loopback", "STATUS", {}, config("1.1.0")).exit_code, 0);
  json gc = json::parse(config("1.1.0"));
  gc["cni.dev/valid-attachments"] = json::array();
  EXPECT_EQ(exec_plugin(nsnet::testing::plugin_dir(), "loopback", "GC", {}, gc.dump()).exit_code, 0);
  const auto version = exec_plugin(nsnet::testing::plugin_dir(), "loopback", "VERSION", {},
                                   R"({"cniVersion":"0.4.0"})");
  ASSERT_EQ(version.exit_code, 0);
  EXPECT_EQ(version.json().at("cniVersion"), "0.4.0");
  EXPECT_EQ(version.json().at("supportedVersions"), json(kLoopbackVersions));
}

// The same calls through Debian's reference plugin give the same interfaces and addresses.
TEST_F(LoopbackTest, MatchesTheReferencePlugin) {
  if (!std::filesystem::exists(nsnet::testing::kReferencePluginDir / "loopback"))
    GTEST_SKIP() << "reference plugins not installed";
  // Debian's reference (1.1.1) speaks up to 1.0.0, and prints pre-0.3.0 results in the 0.3
  // shape; compare from 0.3.0 on.
  for (const std::string version : {"0.3.0", "0.3.1", "0.4.0", "1.0.0"}) {
    SCOPED_TRACE(version);
    const auto ours = call("ADD", config(version));
    const auto reference = call("ADD", config(version), {}, nsnet::testing::kReferencePluginDir);
    ASSERT_EQ(ours.exit_code, 0);
    ASSERT_EQ(reference.exit_code, 0) << reference.out;
    auto normalize = [](json r) {
      for (auto& ip : r["ips"]) ip.erase("version");  // the 1.1.1 reference omits it (a bug)
      r.erase("dns");                                  // it prints "dns":{}, we omit it
      return r;
    };
    EXPECT_EQ(normalize(ours.json()), normalize(reference.json()));
    EXPECT_EQ(call("CHECK", config(version)).exit_code, version == "0.3.0" || version == "0.3.1" ? 1 : 0);
    EXPECT_EQ(call("DEL", config(version)).exit_code, 0);
    EXPECT_EQ(call("DEL", config(version), {}, nsnet::testing::kReferencePluginDir).exit_code, 0);
    EXPECT_FALSE(lo_up());
  }
}

}  // namespace
