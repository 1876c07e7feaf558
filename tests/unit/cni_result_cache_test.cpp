// The result cache against libcni's layout: the file name, modes, the JSON keys and their order,
// base64 config, round trips, and what a reader does with empty, corrupt, legacy or stray files.

#include "netcore/cni/result_cache.hpp"

#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "netcore/base/error.hpp"
#include "netcore/base/file.hpp"
#include "support/expect_error.hpp"

namespace netcore::cni {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using nsnet::testing::error_of;

constexpr const char* kListText =
    R"({"cniVersion": "1.0.0", "name": "net1", "plugins": [{"type": "bridge"}]})";

class ResultCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = (fs::temp_directory_path() / "nsnet-cache-XXXXXX").string();
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    root_ = templ;
    list_ = NetworkList::parse(kListText);
    result_ = Result::from_json(json::parse(R"({"cniVersion": "1.0.0",
        "interfaces": [{"name": "eth0", "mac": "0a:58:0a:4d:00:05", "sandbox": "/run/netns/c1"}],
        "ips": [{"address": "10.77.0.5/24", "gateway": "10.77.0.1", "interface": 0}],
        "routes": [{"dst": "0.0.0.0/0"}]})"),
                                "1.0.0");
    rt_ = RuntimeConf{.container_id = "c1", .netns = "/run/netns/c1", .ifname = "eth0"};
  }
  void TearDown() override { fs::remove_all(root_); }

  fs::path file(const std::string& name) const { return root_ / "cache" / "results" / name; }
  void write(const std::string& name, const std::string& text) const {
    fs::create_directories(file(name).parent_path());
    std::ofstream(file(name)) << text;
  }

  fs::path root_;
  NetworkList list_;
  Result result_;
  RuntimeConf rt_;
};

TEST_F(ResultCacheTest, WritesLibcniLayoutWithItsKeyOrderAndModes) {
  rt_.args = {{"IgnoreUnknown", "1"}, {"K8S_POD_NAME", "p"}};
  rt_.capability_args = {{"portMappings", json::array({{{"hostPort", 8080}}})}};
  const ResultCache cache(root_ / "cache");
  EXPECT_EQ(cache.dir(), root_ / "cache" / "results");
  cache.save(list_, rt_, result_);

  const fs::path path = file("net1-c1-eth0");
  ASSERT_TRUE(fs::exists(path));
  EXPECT_EQ(cache.path("net1", "c1", "eth0"), path);
  struct stat st{};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_EQ(::stat(path.parent_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  ASSERT_EQ(::stat(path.parent_path().parent_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);  // MkdirAll makes every missing level 0700

  const std::string text = read_file(path);
  // Go marshals the struct's fields in declaration order; the maps inside sort their keys.
  const auto pos = [&](const char* key) { return text.find(std::string("\"") + key + "\":"); };
  EXPECT_EQ(pos("kind"), 1u);
  EXPECT_LT(pos("kind"), pos("containerId"));
  EXPECT_LT(pos("containerId"), pos("config"));
  EXPECT_LT(pos("config"), pos("ifName"));
  EXPECT_LT(pos("ifName"), pos("networkName"));
  EXPECT_LT(pos("networkName"), pos("netns"));
  EXPECT_LT(pos("netns"), pos("cniArgs"));
  EXPECT_LT(pos("cniArgs"), pos("capabilityArgs"));
  EXPECT_LT(pos("capabilityArgs"), pos("result"));

  const json doc = json::parse(text);
  EXPECT_EQ(doc["kind"], "cniCacheV1");
  EXPECT_EQ(doc["containerId"], "c1");
  EXPECT_EQ(doc["ifName"], "eth0");
  EXPECT_EQ(doc["networkName"], "net1");
  EXPECT_EQ(doc["netns"], "/run/netns/c1");
  EXPECT_EQ(doc["cniArgs"], json::parse(R"([["IgnoreUnknown", "1"], ["K8S_POD_NAME", "p"]])"));
  EXPECT_EQ(doc["capabilityArgs"], rt_.capability_args);
  // base64 of the list's bytes (encoding/json's []byte), checked against a known encoding.
  const NetworkList small = NetworkList::parse(R"({"name":"ab","plugins":[{"type":"x"}]})");
  cache.save(small, rt_, result_);
  EXPECT_EQ(json::parse(read_file(file("ab-c1-eth0")))["config"],
            "eyJuYW1lIjoiYWIiLCJwbHVnaW5zIjpbeyJ0eXBlIjoieCJ9XX0=");
  // The result as the list's version prints it, with the "dns" Go always writes.
  json expected = result_.to_json("1.0.0");
  expected["dns"] = json::object();
  EXPECT_EQ(doc["result"], expected);
}

TEST_F(ResultCacheTest, LeavesEmptyOptionalKeysOutAsGoOmitempty) {
  const ResultCache cache(root_ / "cache");
  rt_.netns.clear();
  cache.save(list_, rt_, result_);
  const json doc = json::parse(read_file(file("net1-c1-eth0")));
  EXPECT_FALSE(doc.contains("netns"));
  EXPECT_FALSE(doc.contains("cniArgs"));
  EXPECT_FALSE(doc.contains("capabilityArgs"));
  EXPECT_TRUE(doc.contains("result"));
}

TEST_F(ResultCacheTest, RoundTripsEveryField) {
  rt_.args = {{"IP", "10.77.0.9"}};
  rt_.capability_args = {{"mac", "c2:11:22:33:44:55"}};
  const ResultCache cache(root_ / "cache");
  cache.save(list_, rt_, result_);
  const auto entry = cache.load("net1", "c1", "eth0");
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->container_id, "c1");
  EXPECT_EQ(entry->network_name, "net1");
  EXPECT_EQ(entry->ifname, "eth0");
  EXPECT_EQ(entry->netns, "/run/netns/c1");
  EXPECT_EQ(entry->cni_args, rt_.args);
  EXPECT_EQ(entry->capability_args, rt_.capability_args);
  EXPECT_EQ(entry->config, list_.bytes);
  ASSERT_TRUE(entry->result);
  EXPECT_EQ(Result::from_json(*entry->result, "1.0.0"), result_);

  // Every config length, so each base64 padding case decodes back.
  for (const std::string name : {"a", "ab", "abc", "abcd"}) {
    const auto list = NetworkList::parse(R"({"name":")" + name + R"(","plugins":[{"type":"x"}]})");
    cache.save(list, rt_, result_);
    EXPECT_EQ(cache.load(name, "c1", "eth0")->config, list.bytes) << name;
  }

  cache.remove("net1", "c1", "eth0");
  EXPECT_FALSE(cache.load("net1", "c1", "eth0"));
  EXPECT_FALSE(fs::exists(file("net1-c1-eth0")));
  cache.remove("net1", "c1", "eth0");  // a missing entry is not an error
}

TEST_F(ResultCacheTest, ReadsWhatLibcniWrote) {
  // A file as libcni 1.1 writes it: no "netns", result with Go's "dns":{}.
  write("net1-c9-eth1",
        R"({"kind":"cniCacheV1","containerId":"c9","config":"eyJhIjoxfQ==","ifName":"eth1",)"
        R"("networkName":"net1","cniArgs":[["K","V"]],"capabilityArgs":{"mac":"c2:11:22:33:44:55"},)"
        R"("result":{"cniVersion":"1.0.0","dns":{},"ips":[{"address":"10.1.0.2/24"}]}})");
  const auto entry = ResultCache(root_ / "cache").load("net1", "c9", "eth1");
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->config, R"({"a":1})");
  EXPECT_EQ(entry->netns, "");
  EXPECT_EQ(entry->cni_args, (std::vector<std::pair<std::string, std::string>>{{"K", "V"}}));
  EXPECT_EQ(entry->capability_args["mac"], "c2:11:22:33:44:55");
  ASSERT_TRUE(entry->result);
  EXPECT_EQ(Result::from_json(*entry->result, "1.0.0").ips.size(), 1u);
}

TEST_F(ResultCacheTest, TreatsEmptyAndCorruptFilesAsAbsent) {
  const ResultCache cache(root_ / "cache");
  EXPECT_FALSE(cache.load("net1", "c1", "eth0"));  // no directory at all
  EXPECT_TRUE(cache.list("net1").empty());
  for (const std::string text :
       {"", "{", "[]", R"({"kind":"cniCacheV2"})", R"({"kind":"cniCacheV1","cniArgs":"x"})",
        R"({"kind":"cniCacheV1","config":"!!"})"}) {
    write("net1-c1-eth0", text);
    EXPECT_FALSE(cache.load("net1", "c1", "eth0")) << text;
    EXPECT_TRUE(cache.list("net1").empty()) << text;
  }
}

TEST_F(ResultCacheTest, LoadsALegacyBareResult) {
  write("net1-c1-eth0", R"({"cniVersion":"0.3.1","ips":[{"version":"4","address":"10.1.0.2/24"}]})");
  const ResultCache cache(root_ / "cache");
  const auto entry = cache.load("net1", "c1", "eth0");
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->container_id, "c1");
  EXPECT_EQ(entry->network_name, "net1");
  EXPECT_EQ(entry->ifname, "eth0");
  ASSERT_TRUE(entry->result);
  EXPECT_EQ((*entry->result)["cniVersion"], "0.3.1");
  EXPECT_TRUE(cache.list("net1").empty());  // libcni's GetCachedAttachments skips them too
}

TEST_F(ResultCacheTest, ListsOneNetworkSortedAndSkipsStrays) {
  const ResultCache cache(root_ / "cache");
  for (const char* id : {"c3", "c1", "c2"}) {
    rt_.container_id = id;
    cache.save(list_, rt_, result_);
  }
  // Another network whose name starts like this one, a stray temporary file of an interrupted
  // write, and an entry whose content names another attachment.
  const auto other = NetworkList::parse(R"({"name":"net1-x","plugins":[{"type":"x"}]})");
  cache.save(other, rt_, result_);
  fs::copy_file(file("net1-c1-eth0"), file("net1-c1-eth0.tmp.Ab12Cd"));
  fs::copy_file(file("net1-c2-eth0"), file("net1-c7-eth0"));

  const auto entries = cache.list("net1");
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].container_id, "c1");
  EXPECT_EQ(entries[1].container_id, "c2");
  EXPECT_EQ(entries[2].container_id, "c3");
  ASSERT_EQ(cache.list("net1-x").size(), 1u);
}

TEST_F(ResultCacheTest, RejectsUnsafeNamesBeforeTouchingTheDisk) {
  const ResultCache cache(root_ / "cache");
  const auto expect_rejected = [&](const std::string& net, const std::string& id,
                                   const std::string& ifname) {
    EXPECT_EQ(error_of([&] { (void)cache.load(net, id, ifname); }).code(),
              ErrorCode::kInvalidNetworkConfig)
        << net << " " << id << " " << ifname;
    EXPECT_EQ(error_of([&] { cache.remove(net, id, ifname); }).code(),
              ErrorCode::kInvalidNetworkConfig);
    RuntimeConf rt{.container_id = id, .netns = "/x", .ifname = ifname};
    auto list = list_;
    list.name = net;
    EXPECT_EQ(error_of([&] { cache.save(list, rt, result_); }).code(),
              ErrorCode::kInvalidNetworkConfig);
  };
  expect_rejected("../x", "c1", "eth0");
  expect_rejected("net1", "../../etc", "eth0");
  expect_rejected("net1", "c/1", "eth0");
  expect_rejected("net1", "", "eth0");
  expect_rejected("net1", "c1", "../a");
  expect_rejected("net1", "c1", "..");
  expect_rejected("net1", "c1", "");
  expect_rejected("net1", "c1", "a b");
  expect_rejected("net1", "c1", "verylonginterface0");
  EXPECT_EQ(error_of([&] { (void)cache.list("a/b"); }).code(), ErrorCode::kInvalidNetworkConfig);
  EXPECT_FALSE(fs::exists(root_ / "cache"));
}

}  // namespace
}  // namespace netcore::cni
