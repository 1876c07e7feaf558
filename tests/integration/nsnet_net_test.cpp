// `nsnet net` as a user runs it: the built binary, with NETCONFPATH and --cache-dir in the test's
// temp dir, inside the test's sandbox "host" netns, attaching the test's "container" netns.
// ADD/CHECK/DEL/GC/STATUS through our plugins and through the reference ones, the cache files it
// leaves (libcni's layout; tests/interop compares them with libcni's own), CNI_ARGS and CAP_ARGS
// reaching the plugins, a DEL that goes on past a failing middle plugin so IPAM is released, and
// a GC that deletes the cached attachment whose netns is gone.

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "net/net_env.hpp"
#include "netcore/base/file.hpp"
#include "netcore/net/netns.hpp"
#include "netcore/proc/process.hpp"
#include "support/plugin_runner.hpp"
#include "support/sandbox.hpp"

namespace {

namespace fs = std::filesystem;
namespace net = netcore::net;
namespace proc = netcore::proc;
using nlohmann::json;
using nsnet::testing::run_in_netns;

struct NetRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::ostream& operator<<(std::ostream& os, const NetRun& run) {
  return os << "exit " << run.exit_code << "\nstdout: " << run.out << "\nstderr: " << run.err;
}

class NsnetNetTest : public nsnet::testing::SandboxTest {
 protected:
  void SetUp() override {
    SandboxTest::SetUp();
    if (IsSkipped()) return;
    conf_dir_ = temp_dir() / "conf";
    cache_dir_ = temp_dir() / "cache";
    ipam_dir_ = temp_dir() / "ipam";
    bin_dir_ = temp_dir() / "bin";
    for (const auto& dir : {conf_dir_, bin_dir_}) fs::create_directories(dir);
    network_ = unique_name("nn");
    bridge_ = unique_name("nb");
    netns_ = persist(*container_, "c");
  }
  void TearDown() override {
    for (const auto& name : persisted_) net::Netns::delete_persisted_if_exists(name);
    SandboxTest::TearDown();
  }

  std::string persist(const net::Netns& netns, const std::string& prefix) {
    const std::string name = unique_name(prefix);
    netns.persist(name);
    persisted_.push_back(name);
    return "/run/netns/" + name;
  }

  // A bridge + host-local plugin object on this test's bridge and subnet 10.93.<octet>.0/24.
  json bridge_plugin(int octet = 1) const {
    return {{"type", "bridge"},
            {"bridge", bridge_},
            {"isGateway", true},
            {"ipMasq", false},
            {"ipam",
             {{"type", "host-local"},
              {"subnet", "10.93." + std::to_string(octet) + ".0/24"},
              {"dataDir", ipam_dir_.string()}}}};
  }
  // Writes the list into NETCONFPATH.
  void write_list(const std::string& version, const std::vector<json>& plugins) const {
    const json list = {{"cniVersion", version}, {"name", network_}, {"plugins", plugins}};
    std::ofstream(conf_dir_ / "10-test.conflist") << list.dump(2);
  }

  // `nsnet net --cache-dir CACHE ARGS...` run in the sandbox host.
  NetRun nsnet(const std::vector<std::string>& args, const proc::Environment& extra = {},
               const std::string& cni_path = NSNET_PLUGIN_DIR) const {
    proc::RunRequest request{.program = NSNET_BIN,
                             .args = {"net", "--cache-dir", cache_dir_.string()},
                             .env = {{"PATH", "/usr/sbin:/usr/bin:/sbin:/bin"},
                                     {"NETCONFPATH", conf_dir_.string()},
                                     {"CNI_PATH", cni_path},
                                     {"NSNET_LOG_LEVEL", "warn"}},
                             .timeout = std::chrono::seconds(60)};
    request.args.insert(request.args.end(), args.begin(), args.end());
    for (const auto& [key, value] : extra) request.env[key] = value;
    const auto result = host_->run([&] { return proc::run(request); });
    return {result.succeeded() ? 0 : (result.exit_code != 0 ? result.exit_code : -1), result.out,
            result.err};
  }

  std::string container_id(const std::string& netns) const {
    return nsnet::net::cnitool_container_id(netns);
  }
  fs::path cache_file(const std::string& netns, const std::string& ifname = "eth0") const {
    return cache_dir_ / "results" / (network_ + "-" + container_id(netns) + "-" + ifname);
  }
  json cached(const std::string& netns, const std::string& ifname = "eth0") const {
    return json::parse(netcore::read_file(cache_file(netns, ifname)));
  }
  // host-local's reservations of this network: IP -> "<containerID>\r\n<ifname>".
  std::map<std::string, std::string> reservations() const {
    std::map<std::string, std::string> out;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(ipam_dir_ / network_, ec)) {
      const auto name = entry.path().filename().string();
      if (name == "lock" || name.starts_with("last_reserved_ip")) continue;
      out[name] = netcore::read_file(entry.path());
    }
    return out;
  }
  bool has_link(const net::Netns& netns, const std::string& name) const {
    return run_in_netns(netns, "ip -o link show " + name + " 2>/dev/null || true").find(name) !=
           std::string::npos;
  }
  // A plugin script in bin_dir_: on ADD it passes prevResult on, on DEL it runs `del` (a shell
  // fragment), everything else succeeds quietly.
  void write_script_plugin(const std::string& name, const std::string& del) const {
    const fs::path path = bin_dir_ / name;
    std::ofstream(path) << "#!/bin/sh\n"
                           "case \"$CNI_COMMAND\" in\n"
                           "  ADD) jq -c .prevResult ;;\n"
                           "  DEL) " << del << " ;;\n"
                           "  VERSION) echo '{\"cniVersion\":\"1.1.0\",\"supportedVersions\":"
                           "[\"0.4.0\",\"1.0.0\",\"1.1.0\"]}' ;;\n"
                           "esac\n";
    fs::permissions(path, fs::perms::owner_all);
  }

  fs::path conf_dir_, cache_dir_, ipam_dir_, bin_dir_;
  std::string network_, bridge_, netns_;
  std::vector<std::string> persisted_;
};

TEST_F(NsnetNetTest, AddCheckDelWithOurBridgeAndHostLocal) {
  write_list("1.1.0", {bridge_plugin()});
  const auto add = nsnet({"add", network_, netns_});
  ASSERT_EQ(add.exit_code, 0) << add;
  const json result = json::parse(add.out);
  EXPECT_EQ(result["cniVersion"], "1.1.0");
  ASSERT_EQ(result["ips"].size(), 1u);
  const std::string address = result["ips"][0]["address"];
  EXPECT_TRUE(address.starts_with("10.93.1.")) << address;
  EXPECT_NE(run_in_netns(*container_, "ip -o addr show dev eth0").find(address),
            std::string::npos);

  // The cache entry: libcni's name (cnitool's container ID), modes and fields.
  const fs::path file = cache_file(netns_);
  ASSERT_TRUE(fs::exists(file)) << file;
  struct stat st{};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_EQ(::stat(file.parent_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  const json entry = cached(netns_);
  EXPECT_EQ(entry["kind"], "cniCacheV1");
  EXPECT_EQ(entry["containerId"], container_id(netns_));
  EXPECT_EQ(entry["networkName"], network_);
  EXPECT_EQ(entry["ifName"], "eth0");
  EXPECT_EQ(entry["netns"], netns_);
  EXPECT_FALSE(entry.contains("cniArgs"));
  EXPECT_FALSE(entry.contains("capabilityArgs"));
  json printed = result;
  printed["dns"] = json::object();
  EXPECT_EQ(entry["result"], printed);
  EXPECT_EQ(reservations().size(), 1u);

  const auto check = nsnet({"check", network_, netns_});
  EXPECT_EQ(check.exit_code, 0) << check;

  const auto del = nsnet({"del", network_, netns_});
  EXPECT_EQ(del.exit_code, 0) << del;
  EXPECT_FALSE(fs::exists(file));
  EXPECT_FALSE(has_link(*container_, "eth0"));
  EXPECT_TRUE(reservations().empty());
  const auto again = nsnet({"del", network_, netns_});
  EXPECT_EQ(again.exit_code, 0) << again;
  // CHECK with nothing cached names the attachment.
  const auto stale_check = nsnet({"check", network_, netns_});
  EXPECT_EQ(stale_check.exit_code, 1);
  EXPECT_NE(stale_check.err.find("no cached result"), std::string::npos) << stale_check;
}

TEST_F(NsnetNetTest, ChainWithPortmapGetsCapabilityArgsAndDelUsesTheCachedOnes) {
  write_list("1.0.0", {bridge_plugin(2),
                       {{"type", "portmap"}, {"capabilities", {{"portMappings", true}}}}});
  const json mappings = {{"portMappings",
                          {{{"hostPort", 18093}, {"containerPort", 80}, {"protocol", "tcp"}}}}};
  const auto add = nsnet({"add", network_, netns_}, {{"CAP_ARGS", mappings.dump()}});
  ASSERT_EQ(add.exit_code, 0) << add;
  EXPECT_EQ(cached(netns_)["capabilityArgs"], mappings);
  EXPECT_NE(run_in_netns(*host_, "nft list ruleset").find("18093"), std::string::npos);

  const auto check = nsnet({"check", network_, netns_}, {{"CAP_ARGS", mappings.dump()}});
  EXPECT_EQ(check.exit_code, 0) << check;
  const auto check_cached = nsnet({"check", network_, netns_});
  EXPECT_EQ(check_cached.exit_code, 0) << check_cached;
  // No CAP_ARGS on DEL: the cached ones go to portmap, which removes the mapping.
  const auto del = nsnet({"del", network_, netns_});
  EXPECT_EQ(del.exit_code, 0) << del;
  EXPECT_EQ(run_in_netns(*host_, "nft list ruleset").find("18093"), std::string::npos);
  EXPECT_TRUE(reservations().empty());
}

TEST_F(NsnetNetTest, CniArgsAndEnvironmentReachThePlugins) {
  write_list("1.0.0", {bridge_plugin(3)});
  const auto add = nsnet({"add", network_, netns_}, {{"CNI_ARGS", "IgnoreUnknown=1;IP=10.93.3.77"},
                                                     {"CNI_IFNAME", "net7"},
                                                     {"CNI_CONTAINERID", "my-ctr"}});
  ASSERT_EQ(add.exit_code, 0) << add;
  EXPECT_EQ(json::parse(add.out)["ips"][0]["address"], "10.93.3.77/24");
  EXPECT_TRUE(has_link(*container_, "net7"));
  const fs::path file = cache_dir_ / "results" / (network_ + "-my-ctr-net7");
  ASSERT_TRUE(fs::exists(file));
  const json entry = json::parse(netcore::read_file(file));
  EXPECT_EQ(entry["cniArgs"], json::parse(R"([["IgnoreUnknown","1"],["IP","10.93.3.77"]])"));
  EXPECT_EQ(reservations()["10.93.3.77"], "my-ctr\r\nnet7");

  // DEL once the netns path is gone: the container ID must then be given.
  const auto del = nsnet({"del", network_, ""}, {{"CNI_IFNAME", "net7"},
                                                 {"CNI_CONTAINERID", "my-ctr"}});
  EXPECT_EQ(del.exit_code, 0) << del;
  EXPECT_FALSE(fs::exists(file));
  EXPECT_TRUE(reservations().empty());
}

TEST_F(NsnetNetTest, ReferencePluginsThroughTheSameRuntime) {
  if (!fs::exists(nsnet::testing::kReferencePluginDir / "bridge")) GTEST_SKIP() << "no reference";
  write_list("1.0.0", {bridge_plugin(4)});
  const auto add = nsnet({"add", network_, netns_}, {}, "/usr/lib/cni");
  ASSERT_EQ(add.exit_code, 0) << add;
  const json result = json::parse(add.out);
  EXPECT_EQ(result["cniVersion"], "1.0.0");
  EXPECT_EQ(cached(netns_)["result"]["ips"], result["ips"]);
  EXPECT_EQ(reservations().size(), 1u);
  const auto check = nsnet({"check", network_, netns_}, {}, "/usr/lib/cni");
  EXPECT_EQ(check.exit_code, 0) << check;
  const auto del = nsnet({"del", network_, netns_}, {}, "/usr/lib/cni");
  EXPECT_EQ(del.exit_code, 0) << del;
  EXPECT_FALSE(fs::exists(cache_file(netns_)));
  EXPECT_FALSE(has_link(*container_, "eth0"));
  EXPECT_TRUE(reservations().empty());
}

TEST_F(NsnetNetTest, DelGoesPastAFailingMiddlePluginSoIpamIsReleased) {
  write_script_plugin("faildel",
                      "echo '{\"cniVersion\":\"1.0.0\",\"code\":999,\"msg\":\"faildel says no\"}';"
                      " exit 1");
  write_list("1.0.0", {bridge_plugin(5), {{"type", "faildel"}},
                       {{"type", "portmap"}, {"capabilities", {{"portMappings", true}}}}});
  const std::string path = bin_dir_.string() + ":" + NSNET_PLUGIN_DIR;
  const auto add = nsnet({"add", network_, netns_}, {}, path);
  ASSERT_EQ(add.exit_code, 0) << add;
  ASSERT_EQ(reservations().size(), 1u);

  const auto del = nsnet({"del", network_, netns_}, {}, path);
  EXPECT_EQ(del.exit_code, 1) << del;
  EXPECT_NE(del.err.find("nsnet net: "), std::string::npos) << del;
  EXPECT_NE(del.err.find("faildel says no"), std::string::npos) << del;
  // bridge, before faildel in the list and so after it on DEL, still ran.
  EXPECT_TRUE(reservations().empty());
  EXPECT_FALSE(has_link(*container_, "eth0"));
  // The entry stays for a retry, which succeeds once the plugin does.
  EXPECT_TRUE(fs::exists(cache_file(netns_)));
  write_script_plugin("faildel", "true");
  const auto retry = nsnet({"del", network_, netns_}, {}, path);
  EXPECT_EQ(retry.exit_code, 0) << retry;
  EXPECT_FALSE(fs::exists(cache_file(netns_)));
}

TEST_F(NsnetNetTest, FailedAddIsUndoneAndASecondAddIsRefused) {
  // A plugin that fails ADD after bridge made the interface and reserved an address.
  std::ofstream(bin_dir_ / "failadd")
      << "#!/bin/sh\n[ \"$CNI_COMMAND\" = ADD ] && { echo '{\"code\":999,\"msg\":\"no\"}'; "
         "exit 1; }\nexit 0\n";
  fs::permissions(bin_dir_ / "failadd", fs::perms::owner_all);
  const std::string path = bin_dir_.string() + ":" + NSNET_PLUGIN_DIR;
  write_list("1.0.0", {bridge_plugin(6), {{"type", "failadd"}}});
  const auto failed = nsnet({"add", network_, netns_}, {}, path);
  EXPECT_EQ(failed.exit_code, 1) << failed;
  EXPECT_TRUE(reservations().empty());
  EXPECT_FALSE(has_link(*container_, "eth0"));
  EXPECT_FALSE(fs::exists(cache_file(netns_)));

  write_list("1.0.0", {bridge_plugin(6)});
  const auto add = nsnet({"add", network_, netns_});
  ASSERT_EQ(add.exit_code, 0) << add;
  const auto twice = nsnet({"add", network_, netns_});
  EXPECT_EQ(twice.exit_code, 1) << twice;
  EXPECT_NE(twice.err.find("already attached"), std::string::npos) << twice;
  EXPECT_TRUE(has_link(*container_, "eth0"));  // the refused ADD left the first one alone
  EXPECT_EQ(reservations().size(), 1u);
  EXPECT_EQ(nsnet({"del", network_, netns_}).exit_code, 0);
}

TEST_F(NsnetNetTest, GcDeletesTheStaleCachedAttachmentAndCollectsLeaks) {
  write_list("1.1.0", {bridge_plugin(7)});
  std::optional<net::Netns> gone(net::Netns::create());
  const std::string gone_path = persist(*gone, "g");
  ASSERT_EQ(nsnet({"add", network_, netns_}).exit_code, 0);
  ASSERT_EQ(nsnet({"add", network_, gone_path}).exit_code, 0);
  ASSERT_EQ(reservations().size(), 2u);
  // A reservation nobody caches: what a runtime that crashed before caching leaves.
  std::ofstream(ipam_dir_ / network_ / "10.93.7.200") << "ghost\r\neth0";
  // An entry as libcni 1.1 writes it, without "netns": GC cannot tell it is stale, so it stays.
  json old_entry = cached(netns_);
  old_entry.erase("netns");
  old_entry["containerId"] = "old-ctr";
  std::ofstream(cache_dir_ / "results" / (network_ + "-old-ctr-eth0")) << old_entry.dump();
  std::ofstream(ipam_dir_ / network_ / "10.93.7.201") << "old-ctr\r\neth0";
  ASSERT_EQ(reservations().size(), 4u);

  // The second container's netns goes away without a DEL.
  net::Netns::delete_persisted_if_exists(fs::path(gone_path).filename().string());
  gone.reset();

  const auto gc = nsnet({"gc", network_});
  EXPECT_EQ(gc.exit_code, 0) << gc;
  EXPECT_TRUE(fs::exists(cache_file(netns_)));
  EXPECT_FALSE(fs::exists(cache_file(gone_path)));
  EXPECT_TRUE(fs::exists(cache_dir_ / "results" / (network_ + "-old-ctr-eth0")));
  auto left = reservations();
  EXPECT_EQ(left.size(), 2u);
  EXPECT_EQ(left["10.93.7.201"], "old-ctr\r\neth0");
  left.erase("10.93.7.201");
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left.begin()->second, container_id(netns_) + "\r\neth0");
  EXPECT_TRUE(has_link(*container_, "eth0"));
  EXPECT_EQ(nsnet({"del", network_, netns_}).exit_code, 0);
}

TEST_F(NsnetNetTest, StatusAndErrors) {
  write_list("1.1.0", {bridge_plugin(8)});
  const auto status = nsnet({"status", network_});
  EXPECT_EQ(status.exit_code, 0) << status;
  EXPECT_TRUE(status.out.empty());

  const auto missing = nsnet({"add", "no-such-net", netns_});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.err, "nsnet net: network no-such-net not found in " + conf_dir_.string() +
                             "\n");
  const auto bad_args = nsnet({"add", network_, netns_}, {{"CNI_ARGS", "novalue"}});
  EXPECT_EQ(bad_args.exit_code, 1);
  EXPECT_NE(bad_args.err.find("CNI_ARGS"), std::string::npos) << bad_args;
  const auto bad_ifname = nsnet({"add", network_, netns_}, {{"CNI_IFNAME", "../x"}});
  EXPECT_EQ(bad_ifname.exit_code, 1);
  EXPECT_FALSE(has_link(*container_, "eth0"));
  EXPECT_TRUE(reservations().empty());
  EXPECT_EQ(nsnet({"frobnicate"}).exit_code, 2);
  EXPECT_EQ(nsnet({"add", network_}).exit_code, 2);
  const auto help = nsnet({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("NETCONFPATH"), std::string::npos) << help;
}

}  // namespace
