// netcore::cni::Runtime with fake plugins (shell scripts that log every call with its stdin):
// what reaches the cache on ADD, the cached result CHECK and DEL send (in the list's version),
// when the entry goes away, and GC's two phases.

#include "netcore/cni/runtime.hpp"

#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
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

// One logged call: "COMMAND CONTAINERID NETNS IFNAME CNI_ARGS" and the config it read (logged
// on one line: a JSON text's own newlines are only whitespace).
struct Call {
  std::string line;
  json config;
};

class RuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "nsnet-runtime-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    // "main" answers ADD with a 1.0.0 result; "failing" fails the command named in FAIL_ON.
    write_plugin("main", R"(in=$(cat)
echo "$CNI_COMMAND $CNI_CONTAINERID $CNI_NETNS $CNI_IFNAME $CNI_ARGS" >> "$LOG"
printf '%s' "$in" | tr -d '\n' >> "$LOG.in"; echo >> "$LOG.in"
[ "$CNI_COMMAND" = ADD ] && echo '{"cniVersion":"1.0.0","interfaces":[{"name":"eth0","sandbox":"/n1"}],"ips":[{"address":"10.1.0.2/24","interface":0}]}'
exit 0
)");
    write_plugin("failing", R"(in=$(cat)
echo "$CNI_COMMAND failing" >> "$LOG"
printf '%s' "$in" | tr -d '\n' >> "$LOG.in"; echo >> "$LOG.in"
if [ "$CNI_COMMAND" = "$FAIL_ON" ]; then echo '{"code":11,"msg":"busy"}'; exit 1; fi
[ "$CNI_COMMAND" = ADD ] && echo '{"cniVersion":"1.0.0","interfaces":[{"name":"eth0","sandbox":"/n1"}],"ips":[{"address":"10.1.0.2/24","interface":0}]}'
exit 0
)");
    runner_.path = {dir_.string()};
    runner_.env = {{"PATH", "/usr/bin:/bin"}, {"LOG", (dir_ / "calls").string()}};
  }
  void TearDown() override { fs::remove_all(dir_); }

  void write_plugin(const std::string& name, const std::string& body) const {
    const auto path = dir_ / name;
    std::ofstream(path) << "#!/bin/sh\n" << body;
    ::chmod(path.c_str(), 0755);
  }
  Runtime runtime() const { return Runtime(runner_, ResultCache(dir_ / "cache")); }
  std::vector<Call> calls() const {
    std::ifstream lines(dir_ / "calls"), inputs(dir_ / "calls.in");
    std::vector<Call> out;
    for (std::string line, input; std::getline(lines, line) && std::getline(inputs, input);) {
      while (!line.empty() && line.back() == ' ') line.pop_back();
      out.push_back({line, json::parse(input)});
    }
    return out;
  }
  void clear_calls() const {
    fs::remove(dir_ / "calls");
    fs::remove(dir_ / "calls.in");
  }

  fs::path dir_;
  PluginRunner runner_;
  RuntimeConf rt_{.container_id = "c1", .netns = "/n1", .ifname = "eth0", .args = {{"K", "V"}}};
};

TEST_F(RuntimeTest, AddCachesTheResultThatCheckAndDelThenSend) {
  const auto list = NetworkList::parse(R"({"name": "n", "cniVersion": "1.0.0",
      "plugins": [{"type": "main"}, {"type": "failing"}]})");
  const auto rt = runtime();
  const Result result = rt.add(list, rt_);
  ASSERT_EQ(result.ips.size(), 1u);
  const auto entry = rt.cache().load("n", "c1", "eth0");
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->netns, "/n1");
  EXPECT_EQ(entry->cni_args, rt_.args);
  EXPECT_EQ(Result::from_json(*entry->result, "1.0.0"), result);

  clear_calls();
  rt.check(list, rt_);
  rt.del(list, rt_);
  const auto seen = calls();
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[0].line, "CHECK c1 /n1 eth0 K=V");
  EXPECT_EQ(seen[2].line, "DEL failing");  // reverse order
  EXPECT_EQ(seen[3].line, "DEL c1 /n1 eth0 K=V");
  for (const auto& call : seen) EXPECT_EQ(call.config["prevResult"], result.to_json("1.0.0"));
  EXPECT_FALSE(rt.cache().load("n", "c1", "eth0"));
}

TEST_F(RuntimeTest, CachedResultGoesOutInTheListsVersion) {
  // Cached at 1.0.0 (no ips[].version), the list now says 0.4.0: converted, as libcni does.
  const auto list_100 = NetworkList::parse(R"({"name": "n", "cniVersion": "1.0.0",
      "plugins": [{"type": "main"}]})");
  const auto rt = runtime();
  (void)rt.add(list_100, rt_);
  const auto list_040 = NetworkList::parse(R"({"name": "n", "cniVersion": "0.4.0",
      "plugins": [{"type": "main"}]})");
  clear_calls();
  rt.check(list_040, rt_);
  rt.del(list_040, rt_);
  for (const auto& call : calls()) {
    EXPECT_EQ(call.config["prevResult"]["cniVersion"], "0.4.0");
    EXPECT_EQ(call.config["prevResult"]["ips"][0]["version"], "4");
  }
}

TEST_F(RuntimeTest, CheckNeedsACachedResultAndVersionZeroFourAndHonoursDisableCheck) {
  const auto rt = runtime();
  const auto list = NetworkList::parse(R"({"name": "n", "cniVersion": "1.0.0",
      "plugins": [{"type": "main"}]})");
  const Error none = error_of([&] { rt.check(list, rt_); });
  EXPECT_EQ(none.code(), ErrorCode::kInvalidNetworkConfig);
  EXPECT_NE(std::string(none.what()).find("network n container c1 ifname eth0"),
            std::string::npos)
      << none.what();
  const auto old = NetworkList::parse(R"({"name": "n", "cniVersion": "0.3.1",
      "plugins": [{"type": "main"}]})");
  EXPECT_EQ(error_of([&] { rt.check(old, rt_); }).code(), ErrorCode::kIncompatibleVersion);
  const auto disabled = NetworkList::parse(R"({"name": "n", "cniVersion": "1.0.0",
      "disableCheck": true, "plugins": [{"type": "main"}]})");
  rt.check(disabled, rt_);
  EXPECT_TRUE(calls().empty());
}

TEST_F(RuntimeTest, DelKeepsTheEntryWhileAPluginFailsAndDropsACorruptOne) {
  const auto list = NetworkList::parse(R"({"name": "n", "cniVersion": "1.0.0",
      "plugins": [{"type": "main"}, {"type": "failing"}]})");
  const auto rt = runtime();
  (void)rt.add(list, rt_);
  runner_.env["FAIL_ON"] = "DEL";
  const auto failing = runtime();
  clear_calls();
  EXPECT_EQ(error_of([&] { failing.del(list, rt_); }).code(), ErrorCode::kTryAgainLater);
  EXPECT_EQ(calls().size(), 2u);  // main still ran
  EXPECT_TRUE(rt.cache().load("n", "c1", "eth0"));
  rt.del(list, rt_);
  EXPECT_FALSE(rt.cache().load("n", "c1", "eth0"));

  // An empty file (a crashed non-atomic writer): DEL runs without prevResult and removes it.
  std::ofstream(rt.cache().path("n", "c1", "eth0")).flush();
  clear_calls();
  rt.del(list, rt_);
  for (const auto& call : calls()) EXPECT_FALSE(call.config.contains("prevResult"));
  EXPECT_FALSE(fs::exists(rt.cache().path("n", "c1", "eth0")));
}

TEST_F(RuntimeTest, AddRejectsUnsafeNamesBeforeAnyPluginRuns) {
  const auto list = NetworkList::parse(R"({"name": "n", "cniVersion": "1.0.0",
      "plugins": [{"type": "main"}]})");
  rt_.ifname = "../../x";
  EXPECT_EQ(error_of([&] { (void)runtime().add(list, rt_); }).code(),
            ErrorCode::kInvalidNetworkConfig);
  EXPECT_TRUE(calls().empty());
}

TEST_F(RuntimeTest, GcDeletesStaleAttachmentsFromTheirCacheThenGcsThePlugins) {
  const auto list = NetworkList::parse(R"({"name": "n", "cniVersion": "1.1.0",
      "plugins": [{"type": "main", "capabilities": {"portMappings": true}}]})");
  const auto rt = runtime();
  RuntimeConf stale = rt_;
  stale.capability_args = {{"portMappings", json::array({{{"hostPort", 80}}})}};
  (void)rt.add(list, stale);
  RuntimeConf live{.container_id = "c2", .netns = "/n2", .ifname = "eth0"};
  (void)rt.add(list, live);
  clear_calls();

  rt.gc(list, {{.container_id = "c2", .ifname = "eth0"}});
  const auto seen = calls();
  ASSERT_EQ(seen.size(), 2u);
  // The stale one: a full DEL with what ADD had (netns, CNI_ARGS, capability args, result).
  EXPECT_EQ(seen[0].line, "DEL c1 /n1 eth0 K=V");
  EXPECT_EQ(seen[0].config["runtimeConfig"], stale.capability_args);
  EXPECT_TRUE(seen[0].config.contains("prevResult"));
  EXPECT_EQ(seen[1].line, "GC");
  const json valid = json::parse(R"([{"containerID": "c2", "ifname": "eth0"}])");
  EXPECT_EQ(seen[1].config["cni.dev/valid-attachments"], valid);
  EXPECT_FALSE(rt.cache().load("n", "c1", "eth0"));
  EXPECT_TRUE(rt.cache().load("n", "c2", "eth0"));

  // A disableGC list: nothing at all.
  const auto disabled = NetworkList::parse(R"({"name": "n", "cniVersion": "1.1.0",
      "disableGC": true, "plugins": [{"type": "main"}]})");
  clear_calls();
  rt.gc(disabled, {});
  EXPECT_TRUE(calls().empty());
  EXPECT_TRUE(rt.cache().load("n", "c2", "eth0"));
}

TEST_F(RuntimeTest, GcTriesEverythingAndReportsEveryFailure) {
  const auto list = NetworkList::parse(R"({"name": "n", "cniVersion": "1.1.0",
      "plugins": [{"type": "main"}, {"type": "failing"}]})");
  const auto rt = runtime();
  (void)rt.add(list, rt_);
  (void)rt.add(list, RuntimeConf{.container_id = "c2", .netns = "/n2", .ifname = "eth0"});
  runner_.env["FAIL_ON"] = "DEL";
  clear_calls();
  const Error e = error_of([&] { runtime().gc(list, {}); });
  const std::string what = e.what();
  EXPECT_NE(what.find("delete stale attachment c1 eth0"), std::string::npos) << what;
  EXPECT_NE(what.find("delete stale attachment c2 eth0"), std::string::npos) << what;
  EXPECT_EQ(calls().size(), 6u);  // two DELs of two plugins, then GC to both
  EXPECT_TRUE(rt.cache().load("n", "c1", "eth0"));  // kept for the next GC
}

}  // namespace
}  // namespace netcore::cni
