#include "netcore/cni/conflist.hpp"

#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "netcore/base/error.hpp"
#include "support/expect_error.hpp"

namespace netcore::cni {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using nsnet::testing::error_of;

TEST(NetworkListTest, ParsesKeysAndNegotiatesTheHighestKnownVersion) {
  const auto list = NetworkList::parse(R"({"name": "n1", "cniVersion": "0.4.0",
      "cniVersions": ["1.0.0", "9.9.9", "1.1.0"], "disableCheck": "true", "disableGC": false,
      "plugins": [{"type": "bridge"}, {"type": "portmap", "capabilities": {"portMappings": true}}]})");
  EXPECT_EQ(list.name, "n1");
  EXPECT_EQ(list.cni_version, "1.1.0");
  EXPECT_TRUE(list.disable_check);
  EXPECT_FALSE(list.disable_gc);
  ASSERT_EQ(list.plugins.size(), 2u);
  EXPECT_EQ(list.plugins[1]["type"], "portmap");
  EXPECT_EQ(NetworkList::parse(R"({"name": "n", "plugins": [{"type": "x"}]})").cni_version,
            "0.1.0");
}

TEST(NetworkListTest, WrapsASinglePluginConfig) {
  const auto list =
      NetworkList::parse(R"({"name": "one", "cniVersion": "1.0.0", "type": "ptp"})", true);
  EXPECT_EQ(list.name, "one");
  EXPECT_EQ(list.cni_version, "1.0.0");
  ASSERT_EQ(list.plugins.size(), 1u);
  EXPECT_EQ(list.plugins[0]["type"], "ptp");
  // Its bytes are the wrapping list's JSON, as libcni's ConfListFromConf makes them (the result
  // cache records them as "config").
  EXPECT_EQ(json::parse(list.bytes), json::parse(R"({"name": "one", "cniVersion": "1.0.0",
      "plugins": [{"name": "one", "cniVersion": "1.0.0", "type": "ptp"}]})"));
}

TEST(NetworkListTest, RejectsBadListsNamingTheKey) {
  struct Case {
    const char* text;
    ErrorCode code;
    const char* needle;
  };
  const Case cases[] = {
      {"{", ErrorCode::kDecodingFailure, "network list"},
      {"[]", ErrorCode::kDecodingFailure, "not an object"},
      {R"({"plugins": [{"type": "x"}]})", ErrorCode::kInvalidNetworkConfig, "\"name\""},
      {R"({"name": "../x", "plugins": [{"type": "x"}]})", ErrorCode::kInvalidNetworkConfig,
       "\"name\""},
      {R"({"name": "n", "plugins": []})", ErrorCode::kInvalidNetworkConfig, "plugins"},
      {R"({"name": "n", "plugins": [{"type": "a/b"}]})", ErrorCode::kInvalidNetworkConfig,
       "plugins[0]"},
      {R"({"name": "n", "plugins": [{}]})", ErrorCode::kInvalidNetworkConfig, "\"type\""},
      {R"({"name": "n", "cniVersion": "9.9.9", "plugins": [{"type": "x"}]})",
       ErrorCode::kIncompatibleVersion, "9.9.9"},
      {R"({"name": "n", "disableCheck": 1, "plugins": [{"type": "x"}]})",
       ErrorCode::kInvalidNetworkConfig, "disableCheck"},
  };
  for (const auto& c : cases) {
    const Error e = error_of([&] { (void)NetworkList::parse(c.text); });
    EXPECT_EQ(e.code(), c.code) << c.text;
    EXPECT_NE(std::string(e.what()).find(c.needle), std::string::npos) << e.what();
  }
}

TEST(NetworkListTest, PluginConfigInjectsNameVersionCapabilitiesAndPrevResult) {
  const auto list = NetworkList::parse(R"({"name": "n1", "cniVersion": "1.0.0", "plugins": [
      {"type": "portmap", "capabilities": {"portMappings": true, "bandwidth": false}}]})");
  RuntimeConf rt{.container_id = "c", .netns = "/run/netns/x", .ifname = "eth0"};
  rt.capability_args = {{"portMappings", json::array({{{"hostPort", 80}}})},
                        {"bandwidth", {{"ingressRate", 1}}},
                        {"mac", "c2:00:00:00:00:01"}};
  const json prev = {{"cniVersion", "1.0.0"}, {"ips", json::array()}};
  const json config = plugin_config(list, list.plugins[0], rt, prev);
  EXPECT_EQ(config["name"], "n1");
  EXPECT_EQ(config["cniVersion"], "1.0.0");
  EXPECT_EQ(config["runtimeConfig"], json({{"portMappings", json::array({{{"hostPort", 80}}})}}));
  EXPECT_EQ(config["prevResult"], prev);
  // No capability asked for and granted: no runtimeConfig at all.
  rt.capability_args = json::object();
  EXPECT_FALSE(plugin_config(list, list.plugins[0], rt, std::nullopt).contains("runtimeConfig"));
}

// Fake plugins: shell scripts that log each call (command, type, whether a prevResult came) to
// a shared file and answer like a plugin would.
class ChainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "nsnet-conflist-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    log_ = dir_ / "calls";
    // A main plugin: returns one interface and address; a chained plugin: echoes prevResult with
    // one more interface; a failing plugin: error 11 on the command named in FAIL_ON.
    write_plugin("main", R"(in=$(cat)
echo "$CNI_COMMAND main $CNI_CONTAINERID $CNI_IFNAME $CNI_ARGS" >> "$LOG"
[ "$CNI_COMMAND" = ADD ] && echo '{"cniVersion":"1.0.0","interfaces":[{"name":"eth0","sandbox":"/x"}],"ips":[{"address":"10.1.0.2/24","interface":0}]}'
exit 0
)");
    write_plugin("chained", R"(in=$(cat)
has_prev=no; case "$in" in *prevResult*) has_prev=yes;; esac
echo "$CNI_COMMAND chained prev=$has_prev" >> "$LOG"
if [ "$CNI_COMMAND" = ADD ]; then
  echo '{"cniVersion":"1.0.0","interfaces":[{"name":"eth0","sandbox":"/x"},{"name":"ifb0"}],"ips":[{"address":"10.1.0.2/24","interface":0}]}'
fi
exit 0
)");
    write_plugin("failing", R"(cat > /dev/null
echo "$CNI_COMMAND failing" >> "$LOG"
if [ "$CNI_COMMAND" = "$FAIL_ON" ]; then
  echo '{"cniVersion":"1.0.0","code":11,"msg":"busy"}'; exit 1
fi
[ "$CNI_COMMAND" = ADD ] && echo '{"cniVersion":"1.0.0"}'
exit 0
)");
    runner_.path = {dir_.string()};
    runner_.env = {{"PATH", "/usr/bin:/bin"}, {"LOG", log_.string()}};
  }
  void TearDown() override { fs::remove_all(dir_); }

  void write_plugin(const std::string& name, const std::string& body) {
    const auto path = dir_ / name;
    std::ofstream(path) << "#!/bin/sh\n" << body;
    ::chmod(path.c_str(), 0755);
  }
  std::vector<std::string> calls() const {
    std::ifstream in(log_);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) {
      while (!line.empty() && line.back() == ' ') line.pop_back();
      lines.push_back(line);
    }
    return lines;
  }

  fs::path dir_, log_;
  PluginRunner runner_;
  RuntimeConf rt_{.container_id = "ctr1", .netns = "/x", .ifname = "eth0", .args = {{"K", "V"}}};
};

TEST_F(ChainTest, AddPassesEachResultOnAndDelRunsInReverse) {
  const auto list = NetworkList::parse(R"({"name": "n", "cniVersion": "1.1.0",
      "plugins": [{"type": "main"}, {"type": "chained"}]})");
  const Result result = add_network_list(list, rt_, runner_);
  ASSERT_EQ(result.interfaces.size(), 2u);
  EXPECT_EQ(result.interfaces[1].name, "ifb0");
  check_network_list(list, rt_, result, runner_);
  del_network_list(list, rt_, result, runner_);
  EXPECT_EQ(calls(), (std::vector<std::string>{
                         "ADD main ctr1 eth0 K=V", "ADD chained prev=yes",
                         "CHECK main ctr1 eth0 K=V", "CHECK chained prev=yes",
                         "DEL chained prev=yes", "DEL main ctr1 eth0 K=V"}));
}

TEST_F(ChainTest, AddStopsAtTheFirstFailureNamingThePlugin) {
  runner_.env["FAIL_ON"] = "ADD";
  const auto list = NetworkList::parse(R"({"name": "n", "cniVersion": "1.0.0",
      "plugins": [{"type": "main"}, {"type": "failing"}, {"type": "chained"}]})");
  const Error e = error_of([&] { (void)add_network_list(list, rt_, runner_); });
  EXPECT_EQ(e.code(), ErrorCode::kTryAgainLater);
  EXPECT_NE(std::string(e.what()).find("plugin failing"), std::string::npos) << e.what();
  EXPECT_EQ(calls(), (std::vector<std::string>{"ADD main ctr1 eth0 K=V", "ADD failing"}));
}

TEST_F(ChainTest, DelGoesOnPastAFailingPluginSoIpamIsReleased) {
  runner_.env["FAIL_ON"] = "DEL";
  const auto list = NetworkList::parse(R"({"name": "n", "cniVersion": "1.0.0",
      "plugins": [{"type": "main"}, {"type": "failing"}, {"type": "chained"}]})");
  const Error e = error_of([&] { del_network_list(list, rt_, std::nullopt, runner_); });
  EXPECT_NE(std::string(e.what()).find("plugin failing"), std::string::npos) << e.what();
  EXPECT_EQ(calls(), (std::vector<std::string>{"DEL chained prev=no", "DEL failing",
                                               "DEL main ctr1 eth0 K=V"}));
}

TEST_F(ChainTest, CheckGcAndStatusFollowTheListVersionAndFlags) {
  const auto old = NetworkList::parse(R"({"name": "n", "cniVersion": "0.3.1",
      "plugins": [{"type": "main"}]})");
  check_network_list(old, rt_, Result{}, runner_);  // CHECK needs 0.4.0
  gc_network_list(old, {}, runner_);                // GC and STATUS need 1.1.0
  status_network_list(old, runner_);
  const auto no_check = NetworkList::parse(R"({"name": "n", "cniVersion": "1.1.0",
      "disableCheck": true, "disableGC": true, "plugins": [{"type": "main"}]})");
  check_network_list(no_check, rt_, Result{}, runner_);
  gc_network_list(no_check, {}, runner_);
  EXPECT_TRUE(calls().empty());

  const auto current = NetworkList::parse(R"({"name": "n", "cniVersion": "1.1.0",
      "plugins": [{"type": "main"}, {"type": "chained"}]})");
  gc_network_list(current, {{"ctr1", "eth0"}}, runner_);
  status_network_list(current, runner_);
  // GC and STATUS carry no container: the fake main plugin logs empty fields for them.
  EXPECT_EQ(calls(), (std::vector<std::string>{"GC main", "GC chained prev=no", "STATUS main",
                                               "STATUS chained prev=no"}));
}

TEST(FindNetworkTest, TakesTheLexicographicallyFirstMatchAndPrefersConflists) {
  std::string tmpl = (fs::temp_directory_path() / "nsnet-confdir-XXXXXX").string();
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  const fs::path dir = tmpl;
  std::ofstream(dir / "20-b.conflist") << R"({"name": "net", "cniVersion": "1.0.0",
      "plugins": [{"type": "second"}]})";
  std::ofstream(dir / "10-a.conflist") << R"({"name": "net", "cniVersion": "1.0.0",
      "plugins": [{"type": "first"}]})";
  std::ofstream(dir / "05-single.conf") << R"({"name": "net", "type": "single"})";
  std::ofstream(dir / "06-other.conf") << R"({"name": "other", "type": "single"})";
  std::ofstream(dir / "01-broken.conflist") << "{";
  const auto net = find_network(dir, "net");
  ASSERT_TRUE(net);
  EXPECT_EQ(net->plugins.at(0)["type"], "first");
  const auto other = find_network(dir, "other");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->plugins.at(0)["type"], "single");
  EXPECT_FALSE(find_network(dir, "missing"));
  EXPECT_FALSE(find_network(dir / "nope", "net"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace netcore::cni
