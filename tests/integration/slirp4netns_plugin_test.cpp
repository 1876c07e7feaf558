// slirp4netns through its real binary, run from the sandbox's "host" netns as a runtime would:
// the daemon it leaves running, the tap it addresses in the container, published ports reaching
// a server in the container from the host's 127.0.0.1, CHECK, DEL (no process, no state left),
// GC of orphans, STATUS without the binary, failures that leave nothing behind, and the same
// lifecycle through `nsnet net`. Skipped without /usr/bin/slirp4netns.

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "netcore/base/file.hpp"
#include "netcore/net/address.hpp"
#include "netcore/net/link.hpp"
#include "netcore/net/netlink.hpp"
#include "netcore/net/netns.hpp"
#include "netcore/proc/daemon.hpp"
#include "netcore/proc/process.hpp"
#include "support/l2_plugin_test.hpp"
#include "support/socket_probe.hpp"

namespace slirp4netns_plugin_test {
namespace {

namespace fs = std::filesystem;
namespace net = netcore::net;
namespace proc = netcore::proc;
using nlohmann::json;
using nsnet::testing::run_in_netns;

constexpr const char* kSlirpBinary = "/usr/bin/slirp4netns";

// The slirp4netns processes (not zombies) whose command line names `needle`: the daemons of
// one test's netns, whatever other tests run meanwhile.
std::vector<pid_t> daemons_naming(const std::string& needle) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = std::stoi(name);
    std::string cmdline;
    try {
      cmdline = netcore::find_file_content(entry.path() / "cmdline").value_or("");
    } catch (const std::exception&) {
      continue;
    }
    for (auto& c : cmdline)
      if (c == '\0') c = ' ';
    if (cmdline.find("slirp4netns") == std::string::npos ||
        cmdline.find(needle) == std::string::npos)
      continue;
    if (!proc::process_start_time(pid)) continue;  // a zombie waiting for its reaper
    out.push_back(pid);
  }
  return out;
}

class Slirp4netnsPluginTest : public nsnet::testing::L2PluginTest {
 protected:
  Slirp4netnsPluginTest() : L2PluginTest("slirp4netns") {}

  void SetUp() override {
    if (!fs::exists(kSlirpBinary)) GTEST_SKIP() << kSlirpBinary << " is not installed";
    L2PluginTest::SetUp();
    if (IsSkipped()) return;
    data_dir_ = temp_dir() / "slirp";
    // The host's 127.0.0.1 is where published ports are tried.
    host_->run([] {
      const auto nl = net::Netlink::connect();
      net::set_up(nl, net::get_link(nl, "lo").index);
    });
  }
  void TearDown() override {
    // Whatever a failed test left running for its netns.
    if (!netns_path_.empty())
      for (const pid_t pid : daemons_naming(netns_path_))
        if (const auto start = proc::process_start_time(pid))
          (void)proc::stop_process({pid, *start}, std::chrono::milliseconds(500));
    L2PluginTest::TearDown();
  }

  json conf(const json& extra = json::object(), const std::string& version = "1.1.0") {
    json c = {{"cniVersion", version},
              {"name", "slirpnet"},
              {"type", "slirp4netns"},
              {"dataDir", data_dir_.string()}};
    c.merge_patch(extra);
    return c;
  }
  static json with_ports(json c, json mappings) {
    c["runtimeConfig"] = {{"portMappings", std::move(mappings)}};
    return c;
  }
  nsnet::testing::PluginRun slirp(const std::string& command, const json& c,
                                  std::map<std::string, std::string> env = {}) {
    env.emplace("CNI_IFNAME", "tap0");
    return call(command, c, std::move(env));
  }
  fs::path state_dir(const std::string& cid = "ctr1", const std::string& ifname = "tap0") const {
    return data_dir_ / "slirpnet" / (cid + "-" + ifname);
  }
  json state(const std::string& cid = "ctr1") const {
    return json::parse(netcore::read_file(state_dir(cid) / "state.json"));
  }
  static proc::ProcessId process_of(const json& s) {
    return {s.at("pid").get<pid_t>(), s.at("start_time").get<std::uint64_t>()};
  }

  fs::path data_dir_;
};

TEST_F(Slirp4netnsPluginTest, AddConfiguresTheTapAndDelStopsTheDaemon) {
  const auto add = slirp("ADD", conf());
  ASSERT_EQ(add.exit_code, 0) << add.out << add.err;
  const auto result = add.json();
  const auto cnl = ctr_nl();
  const auto tap = net::get_link(cnl, "tap0");
  EXPECT_EQ(tap.kind, "tun");
  EXPECT_TRUE(tap.up);
  EXPECT_EQ(tap.mtu, 65520u);
  EXPECT_EQ(result["interfaces"][0]["name"], "tap0");
  EXPECT_EQ(result["interfaces"][0]["mac"], tap.mac.to_string());
  EXPECT_EQ(result["interfaces"][0]["sandbox"], netns_path_);
  EXPECT_EQ(result["ips"][0]["address"], "10.0.2.100/24");
  EXPECT_EQ(result["ips"][0]["gateway"], "10.0.2.2");
  EXPECT_EQ(result["ips"][0]["interface"], 0);
  EXPECT_EQ(result["routes"][0], (json{{"dst", "0.0.0.0/0"}, {"gw", "10.0.2.2"}}));
  EXPECT_EQ(result["dns"]["nameservers"], json::array({"10.0.2.3"}));
  const auto addresses = net::list_addresses(cnl, tap.index, AF_INET);
  ASSERT_EQ(addresses.size(), 1u);
  EXPECT_EQ(addresses[0].prefix.to_string(), "10.0.2.100/24");
  // Once per feature through iproute2: the default route via the gateway on tap0.
  const auto routes = json::parse(run_in_netns(*container_, "ip -j -4 route show default"));
  ASSERT_EQ(routes.size(), 1u) << routes;
  EXPECT_EQ(routes[0]["gateway"], "10.0.2.2");
  EXPECT_EQ(routes[0]["dev"], "tap0");
  EXPECT_EQ(link_count(host_nl()), 0u);  // user-mode: nothing on the host side

  // The state: 0700 directory, 0600 file, a live daemon with the recorded start time.
  struct stat st {};
  ASSERT_EQ(::stat(state_dir().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  ASSERT_EQ(::stat((state_dir() / "state.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  const auto s = state();
  EXPECT_EQ(s["netns"], netns_path_);
  EXPECT_EQ(s["ifname"], "tap0");
  EXPECT_EQ(s["api_socket"], (state_dir() / "api.sock").string());
  EXPECT_TRUE(fs::exists(state_dir() / "api.sock"));
  const auto daemon = process_of(s);
  EXPECT_TRUE(proc::process_alive(daemon));
  EXPECT_EQ(daemons_naming(netns_path_), std::vector<pid_t>{daemon.pid});

  EXPECT_EQ(slirp("CHECK", with_prev(conf(), add)).exit_code, 0);
  EXPECT_EQ(slirp("CHECK", conf()).exit_code, 0);  // prevResult is not needed

  const auto del = slirp("DEL", conf());
  EXPECT_EQ(del.exit_code, 0) << del.out;
  EXPECT_TRUE(del.out.empty());
  EXPECT_FALSE(proc::process_alive(daemon));
  EXPECT_TRUE(daemons_naming(netns_path_).empty());
  EXPECT_FALSE(fs::exists(state_dir()));
  EXPECT_FALSE(net::find_link(ctr_nl(), "tap0"));  // the tap went with the daemon
  EXPECT_EQ(slirp("DEL", conf()).exit_code, 0);
  // CHECK after DEL names what is missing.
  const auto check = slirp("CHECK", conf());
  EXPECT_EQ(check.exit_code, 1);
  EXPECT_NE(check.out.find("no state"), std::string::npos) << check.out;
}

TEST_F(Slirp4netnsPluginTest, ResultInOlderVersionsAndOptions) {
  const auto add = slirp("ADD", conf({{"mtu", 1500}, {"cidr", "10.7.0.0/16"}}, "0.2.0"));
  ASSERT_EQ(add.exit_code, 0) << add.out;
  EXPECT_EQ(add.json()["ip4"]["ip"], "10.7.0.100/16");
  EXPECT_EQ(add.json()["ip4"]["gateway"], "10.7.0.2");
  EXPECT_EQ(net::get_link(ctr_nl(), "tap0").mtu, 1500u);
  const auto del = slirp("DEL", conf(json::object(), "0.2.0"));
  EXPECT_EQ(del.exit_code, 0) << del.out << del.err;

  const auto add4 =
      slirp("ADD", conf({{"enableSandbox", false}, {"enableSeccomp", false}}, "0.4.0"));
  ASSERT_EQ(add4.exit_code, 0) << add4.out;
  EXPECT_EQ(add4.json()["ips"][0]["version"], "4");
  EXPECT_EQ(slirp("CHECK", conf(json::object(), "0.4.0")).exit_code, 0);
  EXPECT_EQ(slirp("DEL", conf(json::object(), "0.4.0")).exit_code, 0);
}

TEST_F(Slirp4netnsPluginTest, PublishedPortsReachTheContainer) {
  const std::uint16_t tcp_port = 18080, udp_port = 18053;
  const auto listener = nsnet::testing::bound_socket(*container_, AF_INET, SOCK_STREAM, 80);
  const auto udp_server = nsnet::testing::bound_socket(*container_, AF_INET, SOCK_DGRAM, 53);
  ASSERT_TRUE(listener && udp_server);
  const auto c = with_ports(conf(), {{{"hostPort", tcp_port}, {"containerPort", 80}},
                                     {{"hostPort", udp_port},
                                      {"containerPort", 53},
                                      {"protocol", "udp"},
                                      {"hostIP", "127.0.0.1"}}});
  const auto add = slirp("ADD", c);
  ASSERT_EQ(add.exit_code, 0) << add.out;
  EXPECT_EQ(state()["hostfwd_ids"].size(), 2u);
  // slirp4netns connects to the container from its gateway address.
  EXPECT_EQ(nsnet::testing::tcp_peer(*host_, "127.0.0.1", tcp_port, listener.get(), 3000),
            "10.0.2.2");
  EXPECT_EQ(nsnet::testing::udp_peer(*host_, "127.0.0.1", udp_port, udp_server.get(), 0, 3000),
            "10.0.2.2");
  EXPECT_EQ(slirp("DEL", c).exit_code, 0);
  // The host port is free again once the daemon is gone.
  EXPECT_TRUE(nsnet::testing::bound_socket(*host_, AF_INET, SOCK_STREAM, tcp_port));
}

TEST_F(Slirp4netnsPluginTest, SecondAddIsRefusedAndDelWorksWithoutNetns) {
  ASSERT_EQ(slirp("ADD", conf()).exit_code, 0);
  const auto daemon = process_of(state());
  const auto again = slirp("ADD", conf());
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.out.find("already has a running slirp4netns"), std::string::npos) << again.out;
  EXPECT_TRUE(proc::process_alive(daemon));  // the refused ADD left the first one alone
  EXPECT_EQ(slirp("CHECK", conf()).exit_code, 0);

  // A daemon that died (crash, reboot): CHECK says so, and the next ADD replaces the leftovers.
  ASSERT_TRUE(proc::stop_process(daemon, std::chrono::milliseconds(500)));
  const auto check = slirp("CHECK", conf());
  EXPECT_EQ(check.exit_code, 1);
  EXPECT_NE(check.out.find("is not running"), std::string::npos) << check.out;
  for (int i = 0; i < 50 && net::find_link(ctr_nl(), "tap0"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const auto replaced = slirp("ADD", conf());
  ASSERT_EQ(replaced.exit_code, 0) << replaced.out;
  const auto second = process_of(state());
  EXPECT_NE(second.pid, daemon.pid);

  EXPECT_EQ(slirp("DEL", conf(), {{"CNI_NETNS", ""}}).exit_code, 0);
  EXPECT_FALSE(proc::process_alive(second));
  EXPECT_FALSE(fs::exists(state_dir()));
  net::Netns::delete_persisted_if_exists(netns_name_);
  EXPECT_EQ(slirp("DEL", conf()).exit_code, 0);  // netns gone, state gone
}

TEST_F(Slirp4netnsPluginTest, GcStopsDaemonsOfAttachmentsNotValid) {
  // A second attachment in a netns of its own.
  const auto other = net::Netns::create();
  const std::string other_name = unique_name("sl2");
  other.persist(other_name);
  const std::string other_path = "/run/netns/" + other_name;
  ASSERT_EQ(slirp("ADD", conf()).exit_code, 0);
  const auto add2 = slirp("ADD", conf(), {{"CNI_CONTAINERID", "ctr2"}, {"CNI_NETNS", other_path}});
  ASSERT_EQ(add2.exit_code, 0) << add2.out;
  const auto first = process_of(state("ctr1")), second = process_of(state("ctr2"));

  auto gc = conf();
  EXPECT_EQ(slirp("GC", gc).exit_code, 0);  // no valid list: nothing is collected
  EXPECT_TRUE(proc::process_alive(first) && proc::process_alive(second));

  gc["cni.dev/valid-attachments"] = {{{"containerID", "ctr1"}, {"ifname", "tap0"}}};
  const auto run = slirp("GC", gc);
  EXPECT_EQ(run.exit_code, 0) << run.out;
  EXPECT_TRUE(proc::process_alive(first));
  EXPECT_FALSE(proc::process_alive(second));
  EXPECT_TRUE(fs::exists(state_dir("ctr1")));
  EXPECT_FALSE(fs::exists(state_dir("ctr2")));
  EXPECT_TRUE(daemons_naming(other_path).empty());

  // An empty list: the last one is an orphan too; debris without state goes as well.
  fs::create_directories(data_dir_ / "slirpnet" / "crashed-tap0");
  gc["cni.dev/valid-attachments"] = json::array();
  EXPECT_EQ(slirp("GC", gc).exit_code, 0);
  EXPECT_FALSE(proc::process_alive(first));
  EXPECT_TRUE(fs::is_empty(data_dir_ / "slirpnet"));
  EXPECT_EQ(slirp("GC", gc).exit_code, 0);  // idempotent
  net::Netns::delete_persisted_if_exists(other_name);
}

TEST_F(Slirp4netnsPluginTest, StatusIsNotReadyWithoutTheBinary) {
  EXPECT_EQ(slirp("STATUS", conf()).exit_code, 0);  // /usr/bin/slirp4netns
  for (const auto& [extra, path] : std::vector<std::pair<json, std::string>>{
           {{{"binary", "/nonexistent/slirp4netns"}}, "/nonexistent"},
           {{{"binary", "no-such-slirp4netns"}}, "/nonexistent"}}) {
    SCOPED_TRACE(extra.dump());
    const auto status = slirp("STATUS", conf(extra), {{"PATH", path}});
    EXPECT_EQ(status.exit_code, 1);
    EXPECT_EQ(status.json()["code"], 50) << status.out;
    EXPECT_NE(status.out.find("not found"), std::string::npos) << status.out;
  }
  EXPECT_EQ(slirp("STATUS", conf({{"binary", kSlirpBinary}})).exit_code, 0);
}

TEST_F(Slirp4netnsPluginTest, FailuresLeaveNoProcessAndNoState) {
  // Refused before anything starts.
  for (const auto& bad :
       {conf({{"mtu", 10}}), conf({{"cidr", "10.0.2.0/26"}}),
        with_ports(conf(), {{{"hostPort", 8080}, {"containerPort", 80}, {"hostIP", "::1"}}}),
        conf({{"binary", "/nonexistent/slirp4netns"}})}) {
    SCOPED_TRACE(bad.dump());
    const auto add = slirp("ADD", bad);
    EXPECT_EQ(add.exit_code, 1);
    EXPECT_NE(add.json()["code"], 0);
  }
  EXPECT_EQ(slirp("ADD", conf({{"mtu", 10}})).json()["code"], 7);
  const auto v6 = slirp(
      "ADD", with_ports(conf(), {{{"hostPort", 8080}, {"containerPort", 80}, {"hostIP", "::1"}}}));
  EXPECT_EQ(v6.json()["code"], 7);
  EXPECT_NE(v6.out.find("hostIP"), std::string::npos) << v6.out;

  // Failing after the daemon started: a host port already taken in the host netns, and a
  // "daemon" that exits before it is ready.
  const auto taken = nsnet::testing::bound_socket(*host_, AF_INET, SOCK_STREAM, 18081);
  ASSERT_TRUE(taken);
  const auto busy =
      slirp("ADD", with_ports(conf(), {{{"hostPort", 18081}, {"containerPort", 80}}}));
  EXPECT_EQ(busy.exit_code, 1);
  EXPECT_NE(busy.out.find("add_hostfwd"), std::string::npos) << busy.out;
  const auto early = slirp("ADD", conf({{"binary", "/bin/false"}}));
  EXPECT_EQ(early.exit_code, 1);
  // "start /bin/false: it exited at once" or "false failed before it was ready": a race.
  EXPECT_NE(early.out.find("false"), std::string::npos) << early.out;

  EXPECT_TRUE(daemons_naming(netns_path_).empty());
  EXPECT_FALSE(fs::exists(state_dir()));
  for (int i = 0; i < 50 && net::find_link(ctr_nl(), "tap0"); ++i)  // the kernel drops it async
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(net::find_link(ctr_nl(), "tap0"));
  // What a runtime does after a failed ADD: DEL, which succeeds.
  EXPECT_EQ(slirp("DEL", conf({{"mtu", 10}})).exit_code, 0);
  // And then the attachment works.
  ASSERT_EQ(slirp("ADD", conf()).exit_code, 0);
  EXPECT_EQ(slirp("DEL", conf()).exit_code, 0);
}

TEST_F(Slirp4netnsPluginTest, LongContainerIdsStillGetAnApiSocket) {
  // A unix socket path has at most 107 bytes; Kubernetes container IDs alone are 64.
  const std::string cid(64, 'a');
  const auto c = with_ports(conf(), {{{"hostPort", 18082}, {"containerPort", 80}}});
  const auto add = slirp("ADD", c, {{"CNI_CONTAINERID", cid}});
  ASSERT_EQ(add.exit_code, 0) << add.out;
  EXPECT_GT(state_dir(cid).string().size() + 9, 107u);
  EXPECT_TRUE(fs::exists(state_dir(cid) / "api.sock"));
  EXPECT_EQ(state(cid)["hostfwd_ids"].size(), 1u);
  EXPECT_EQ(slirp("DEL", c, {{"CNI_CONTAINERID", cid}}).exit_code, 0);
  EXPECT_FALSE(fs::exists(state_dir(cid)));
}

// `nsnet net`, a CNI runtime with libcni's result cache, drives the plugin.
TEST_F(Slirp4netnsPluginTest, AddCheckDelThroughNsnetNet) {
  const fs::path conf_dir = temp_dir() / "conf", cache_dir = temp_dir() / "cache";
  fs::create_directories(conf_dir);
  const json list = {{"cniVersion", "1.1.0"},
                     {"name", "slirpnet"},
                     {"plugins",
                      {{{"type", "slirp4netns"},
                        {"dataDir", data_dir_.string()},
                        {"capabilities", {{"portMappings", true}}}}}}};
  std::ofstream(conf_dir / "10-slirp.conflist") << list.dump(2);
  const auto listener = nsnet::testing::bound_socket(*container_, AF_INET, SOCK_STREAM, 80);
  auto nsnet_net = [&](const std::string& command) {
    proc::RunRequest request{
        .program = NSNET_BIN,
        .args = {"net", "--cache-dir", cache_dir.string(), command, "slirpnet", netns_path_},
        .env = {{"PATH", "/usr/sbin:/usr/bin:/sbin:/bin"},
                {"NETCONFPATH", conf_dir.string()},
                {"CNI_PATH", NSNET_PLUGIN_DIR},
                {"CNI_IFNAME", "tap0"},
                {"CAP_ARGS",
                 R"({"portMappings":[{"hostPort":18083,"containerPort":80,"protocol":"tcp"}]})"},
                {"NSNET_LOG_LEVEL", "warn"}},
        .timeout = std::chrono::seconds(60)};
    return host_->run([&] { return proc::run(request); });
  };
  const auto add = nsnet_net("add");
  ASSERT_TRUE(add.succeeded()) << add.out << add.err;
  EXPECT_EQ(json::parse(add.out)["ips"][0]["address"], "10.0.2.100/24");
  EXPECT_EQ(daemons_naming(netns_path_).size(), 1u);
  EXPECT_EQ(nsnet::testing::tcp_peer(*host_, "127.0.0.1", 18083, listener.get(), 3000), "10.0.2.2");
  const auto check = nsnet_net("check");
  EXPECT_TRUE(check.succeeded()) << check.out << check.err;
  const auto del = nsnet_net("del");
  EXPECT_TRUE(del.succeeded()) << del.out << del.err;
  EXPECT_TRUE(daemons_naming(netns_path_).empty());
  EXPECT_TRUE(fs::is_empty(data_dir_ / "slirpnet"));
  EXPECT_FALSE(net::find_link(ctr_nl(), "tap0"));
}

}  // namespace
}  // namespace slirp4netns_plugin_test
