// The bad-input catalogue (issue #9, item 2): every plugin fed malformed, mistyped, missing,
// out-of-range, traversing, oversized and deeply nested input, and CNI_NETNS paths that are no
// (usable) network namespace. Each case is one CNI call through the real binary, from the test's
// "host" namespace, and must end with a non-zero exit, exactly one error JSON on stdout with the
// expected code and a message naming the culprit, within a time bound and without a signal, and
// with the sandbox exactly as before: links, addresses and routes on both sides, the nft ruleset,
// and every file under /run and /var/lib/cni (IPAM dataDir, tuning dataDir, result cache).
// All cases share one sandbox, so the whole catalogue runs in seconds.

#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "netcore/net/netns.hpp"
#include "support/plugin_runner.hpp"
#include "support/sandbox.hpp"
#include "support/snapshot.hpp"

extern char** environ;

namespace {

namespace fs = std::filesystem;
namespace net = netcore::net;
using nlohmann::json;

// One bad call: which plugin, which command, what differs from the default environment
// (CNI_CONTAINERID=bad1, CNI_NETNS=<the container>, CNI_IFNAME=eth0, CNI_PATH=<plugin dir>; an
// empty value is an unset variable, as the reference's os.Getenv reads it), the stdin, and what
// the error must say.
struct BadInputCase {
  std::string name;
  std::string plugin;
  std::string command;
  std::map<std::string, std::string> env;
  std::string stdin_text;
  int code;
  std::string culprit;       // a substring of "msg"
  std::string details = {};  // a substring of "details", when the reference fixes "msg"
};

// A time bound for every call (the huge and deeply nested inputs included): generous, so that a
// loaded CI machine never trips it, yet far below what an unbounded parse would take.
constexpr auto kBadInputTimeLimit = std::chrono::seconds(10);

// Everything a failed call might leave behind, as text: links, addresses and routes of both
// namespaces (through ip -j, independent of netcore), the host's nft ruleset, and the file trees
// under /run (netns mounts, temporary dirs holding the IPAM and tuning dataDirs) and /var/lib/cni.
class BadInputTest : public nsnet::testing::SandboxTest {
 protected:
  void SetUp() override {
    SandboxTest::SetUp();
    if (IsSkipped()) return;
    // A plugin that refuses a 64 MiB stdin stops reading; our write then fails with EPIPE,
    // which must not kill the test binary.
    old_sigpipe_ = std::signal(SIGPIPE, SIG_IGN);
    netns_name_ = unique_name("bad");
    container_->persist(netns_name_);
    netns_path_ = "/run/netns/" + netns_name_;
    root_ = temp_dir();
    fs::create_directories(root_ / "ipam");  // a node's /var/lib/cni/networks exists already
    fs::create_directories(root_ / "tuning");
    fs::create_directories(root_ / "a-dir");
    // Plugins inherit our working directory: inside the sandbox, so that a relative path a
    // plugin wrongly accepts ("../ipam") lands where the snapshot sees it, never in the tree
    // the test binary was started from.
    fs::create_directories(root_ / "cwd");
    old_cwd_ = fs::current_path();
    fs::current_path(root_ / "cwd");
    std::ofstream(root_ / "a-file") << "not a namespace\n";
    host_pid_ = spawn_sleeper(*host_);
    dead_pid_ = spawn_sleeper(*host_);
    ::kill(dead_pid_, SIGKILL);
    ::waitpid(dead_pid_, nullptr, 0);
  }
  void TearDown() override {
    if (host_pid_ > 0) {
      ::kill(host_pid_, SIGKILL);
      ::waitpid(host_pid_, nullptr, 0);
    }
    if (!netns_name_.empty()) net::Netns::delete_persisted_if_exists(netns_name_);
    if (!old_cwd_.empty()) fs::current_path(old_cwd_);
    if (old_sigpipe_ != SIG_ERR) std::signal(SIGPIPE, old_sigpipe_);
    SandboxTest::TearDown();
  }

  // A `sleep` started from a thread inside `netns`, so /proc/PID/ns/* are that namespace's.
  static pid_t spawn_sleeper(const net::Netns& netns) {
    return netns.run([] {
      pid_t pid = -1;
      char arg0[] = "sleep";
      char arg1[] = "600";
      char* argv[] = {arg0, arg1, nullptr};
      EXPECT_EQ(::posix_spawn(&pid, "/bin/sleep", nullptr, nullptr, argv, environ), 0);
      return pid;
    });
  }

  std::string snapshot() {
    return nsnet::testing::sandbox_snapshot(
        {.netns = {&*host_, &*container_}, .trees = {"/run", "/var/lib/cni"}});
  }

  // Runs one case; returns whether every check held. The sandbox is compared with its state just
  // before the call (`state`, updated to the state after it), so that one case's leftover does
  // not fail every case after it. `slowest` keeps the longest call.
  bool run_case(const BadInputCase& c, std::string& state,
                std::pair<std::chrono::nanoseconds, std::string>& slowest) {
    SCOPED_TRACE("case " + c.name + " (" + c.plugin + " " + c.command + ")");
    const int failures_before = failed_part_count();
    std::map<std::string, std::string> env = {{"CNI_CONTAINERID", "bad1"},
                                              {"CNI_NETNS", netns_path_},
                                              {"CNI_IFNAME", "eth0"},
                                              {"CNI_PATH", nsnet::testing::plugin_dir().string()}};
    for (const auto& [key, value] : c.env) env[key] = value;

    const auto start = std::chrono::steady_clock::now();
    const auto run = host_->run([&] {
      return nsnet::testing::exec_plugin(nsnet::testing::plugin_dir(), c.plugin, c.command, env,
                                         c.stdin_text);
    });
    const auto elapsed = std::chrono::steady_clock::now() - start;
    if (elapsed > slowest.first) slowest = {elapsed, c.name};
    EXPECT_LT(elapsed, kBadInputTimeLimit);  // exec_plugin also fails a signal or a timeout
    EXPECT_NE(run.exit_code, 0) << run.out;

    json doc;
    try {
      doc = json::parse(run.out);  // throws on trailing content: exactly one document
    } catch (const json::exception& e) {
      ADD_FAILURE() << "stdout is not one JSON document (" << e.what() << "): " << run.out
                    << "\nstderr: " << run.err;
    }
    if (doc.is_object()) {
      for (const auto& [key, value] : doc.items())
        EXPECT_TRUE(key == "cniVersion" || key == "code" || key == "msg" || key == "details")
            << "unexpected key " << key << ": " << run.out;
      EXPECT_TRUE(doc.contains("code") && doc["code"].is_number_unsigned()) << run.out;
      EXPECT_TRUE(doc.contains("msg") && doc["msg"].is_string()) << run.out;
      EXPECT_EQ(doc.value("code", 0), c.code) << run.out;
      const std::string msg = doc.value("msg", "");
      EXPECT_NE(msg.find(c.culprit), std::string::npos)
          << "msg does not name \"" << c.culprit << "\": " << run.out.substr(0, 2000);
      if (!c.details.empty()) {
        EXPECT_NE(doc.value("details", "").find(c.details), std::string::npos) << run.out;
      }
    } else if (!run.out.empty()) {
      ADD_FAILURE() << "stdout is not an error object: " << run.out.substr(0, 2000);
    }

    std::string after = snapshot();
    EXPECT_EQ(after, state) << "the sandbox changed";
    state = std::move(after);
    return failed_part_count() == failures_before;
  }

  static int failed_part_count() {
    const auto* result = ::testing::UnitTest::GetInstance()->current_test_info()->result();
    int failed = 0;
    for (int i = 0; i < result->total_part_count(); ++i)
      if (result->GetTestPartResult(i).failed()) ++failed;
    return failed;
  }

  std::string netns_name_;
  std::string netns_path_;
  fs::path root_;
  fs::path old_cwd_;
  pid_t host_pid_ = -1;
  pid_t dead_pid_ = -1;
  void (*old_sigpipe_)(int) = SIG_ERR;
};

// The catalogue. `netns` is the container's path, `root` the directory holding ipam/, tuning/,
// a-dir/, a-file and cwd/ (the plugins' working directory), `host_pid` a live process in the host
// namespace (where the plugin runs), `dead_pid` one that has exited, `bridge` a bridge name unique
// to the test.
std::vector<BadInputCase> bad_input_cases(const std::string& netns, const fs::path& root,
                                          pid_t host_pid, pid_t dead_pid,
                                          const std::string& bridge) {
  const std::string ipam_dir = (root / "ipam").string();
  const json host_local = {
      {"type", "host-local"}, {"dataDir", ipam_dir}, {"ranges", {{{{"subnet", "10.77.0.0/24"}}}}}};
  const json prev = {{"cniVersion", "1.0.0"},
                     {"interfaces", {{{"name", "eth0"}, {"sandbox", netns}}}},
                     {"ips", {{{"address", "10.77.0.5/24"}, {"interface", 0}}}}};
  const auto base = [&](const std::string& type) {
    json c = {{"cniVersion", "1.0.0"}, {"name", "badnet"}, {"type", type}};
    if (type == "bridge") {
      c["bridge"] = bridge;
      c["ipam"] = host_local;
    } else if (type == "ptp" || type == "host-local") {
      c["type"] = "ptp";  // host-local is exec'd as a main plugin's delegate would
      c["ipam"] = host_local;
    } else if (type == "static") {
      c["ipam"] = {{"type", "static"},
                   {"addresses", {{{"address", "10.78.0.2/24"}, {"gateway", "10.78.0.1"}}}}};
    } else if (type == "macvlan") {
      c["master"] = "nsnetnomaster";
      c["mode"] = "bridge";
    } else if (type == "tuning") {
      c["dataDir"] = (root / "tuning").string();
      c["prevResult"] = prev;
    } else if (type == "bandwidth") {
      c["ingressRate"] = 1000000;
      c["ingressBurst"] = 100000;
      c["prevResult"] = prev;
    } else if (type == "portmap") {
      c["runtimeConfig"] = {
          {"portMappings", {{{"hostPort", 8080}, {"containerPort", 80}, {"protocol", "tcp"}}}}};
      c["prevResult"] = prev;
    } else if (type == "firewall") {
      c["prevResult"] = prev;
    } else if (type == "host-device") {
      c["device"] = "nsnetnodev0";
    }
    return c;
  };
  // The plugin's base config with `patch` merged in (RFC 7386: null removes a key), as text.
  const auto with = [&](const std::string& type, const json& patch) {
    json c = base(type);
    c.merge_patch(patch);
    return c.dump();
  };
  const auto ok = [&](const std::string& type) { return base(type).dump(); };
  const std::string kib4(4096, 'a');
  const std::string nul_name = std::string("bad\0net", 7);
  const std::string proc = "/proc/" + std::to_string(host_pid);
  const std::string gone = "/proc/" + std::to_string(dead_pid) + "/ns/net";
  const std::string dir = (root / "a-dir").string();
  const std::string file = (root / "a-file").string();
  const std::string huge = R"({"cniVersion":"1.0.0","name":"badnet","type":"bridge","pad":")" +
                           std::string(64u << 20, 'x') + "\"}";
  const std::string dup_sysctl =
      R"({"cniVersion":"1.0.0","name":"badnet","type":"tuning",)"
      R"("sysctl":{"net.ipv4.ip_forward":"1","net.ipv4.ip_forward":"0"}})";
  const std::string deep_arrays(100000, '[');
  std::string deep_objects;
  for (int i = 0; i < 100000; ++i) deep_objects += R"({"a":)";
  const std::string deep_in_config =
      R"({"cniVersion":"1.0.0","name":"badnet","type":"tuning","prevResult":)" + deep_arrays;

  // One case per entry reads better than one field per line.
  // clang-format off
  std::vector<BadInputCase> cases = {
      // Malformed JSON.
      {"empty stdin", "bridge", "ADD", {}, "", 6, "decode network config"},
      {"truncated object", "ptp", "ADD", {}, "{", 6, "decode network config"},
      {"not json", "host-local", "ADD", {}, "not json", 6, "decode network config"},
      {"array, not object", "static", "ADD", {}, "[1,2]", 6, "expected an object"},
      {"trailing comma", "macvlan", "ADD", {},
       R"({"cniVersion":"1.0.0","name":"badnet","type":"macvlan",})", 6, "decode network config"},
      {"two documents", "tuning", "ADD", {}, ok("tuning") + ok("tuning"), 6,
       "decode network config"},
      {"binary garbage", "loopback", "ADD", {}, std::string("\xff\xfe\x00\x01", 4), 6,
       "decode network config"},
      {"invalid UTF-8 in a string", "bandwidth", "ADD", {},
       "{\"cniVersion\":\"1.0.0\",\"name\":\"bad\xff\",\"type\":\"bandwidth\"}", 6,
       "decode network config"},
      {"unterminated string", "firewall", "ADD", {}, R"({"cniVersion":"1.0.0","name":"bad)", 6,
       "decode network config"},
      // Wrong types and missing keys at the top level.
      {"cniVersion a number", "firewall", "ADD", {}, with("firewall", {{"cniVersion", 1}}), 6,
       "cniVersion"},
      {"cniVersion an array", "static", "ADD", {}, with("static", {{"cniVersion", json::array()}}),
       6, "cniVersion"},
      {"name a number", "tap", "ADD", {}, with("tap", {{"name", 5}}), 6, "name"},
      {"name missing", "portmap", "ADD", {}, with("portmap", {{"name", nullptr}}), 7,
       "network name"},
      {"name empty", "host-device", "ADD", {}, with("host-device", {{"name", ""}}), 7,
       "network name"},
      // Versions: the reference's message is fixed, its details name the version.
      {"unknown cniVersion", "bridge", "ADD", {}, with("bridge", {{"cniVersion", "9.9.9"}}), 1,
       "incompatible CNI versions", "9.9.9"},
      {"two-part cniVersion", "host-local", "ADD", {}, with("host-local", {{"cniVersion", "1.0"}}),
       1, "incompatible CNI versions", "\"1.0\""},
      {"CHECK before 0.4.0", "loopback", "CHECK", {}, with("loopback", {{"cniVersion", "0.3.1"}}),
       1, "CHECK"},
      {"GC before 1.1.0", "bridge", "GC", {}, ok("bridge"), 1, "GC"},
      {"STATUS before 1.1.0", "ptp", "STATUS", {}, with("ptp", {{"cniVersion", "0.4.0"}}), 1,
       "STATUS"},
      // The environment.
      {"unknown command", "tap", "BOGUS", {}, ok("tap"), 4, "CNI_COMMAND"},
      {"lower-case command", "loopback", "add", {}, ok("loopback"), 4, "CNI_COMMAND"},
      {"no CNI_NETNS", "bridge", "ADD", {{"CNI_NETNS", ""}}, ok("bridge"), 4, "CNI_NETNS"},
      {"no CNI_IFNAME", "ptp", "ADD", {{"CNI_IFNAME", ""}}, ok("ptp"), 4, "CNI_IFNAME"},
      {"no CNI_CONTAINERID", "host-local", "ADD", {{"CNI_CONTAINERID", ""}}, ok("host-local"), 4,
       "CNI_CONTAINERID"},
      {"no CNI_PATH", "static", "ADD", {{"CNI_PATH", ""}}, ok("static"), 4, "CNI_PATH"},
      {"container ID ../etc", "macvlan", "ADD", {{"CNI_CONTAINERID", "../etc"}}, ok("macvlan"), 4,
       "CNI_CONTAINERID"},
      {"container ID a/b", "tuning", "ADD", {{"CNI_CONTAINERID", "a/b"}}, ok("tuning"), 4,
       "CNI_CONTAINERID"},
      {"container ID starting with -", "host-local", "DEL", {{"CNI_CONTAINERID", "-rf"}},
       ok("host-local"), 4, "CNI_CONTAINERID"},
      {"container ID 4 KiB ending in /", "bridge", "ADD", {{"CNI_CONTAINERID", kib4 + "/"}},
       ok("bridge"), 4, "CNI_CONTAINERID"},
      {"ifname ../x", "bridge", "ADD", {{"CNI_IFNAME", "../x"}}, ok("bridge"), 4, "CNI_IFNAME"},
      {"ifname ..", "ptp", "ADD", {{"CNI_IFNAME", ".."}}, ok("ptp"), 4, "CNI_IFNAME"},
      {"ifname a/b", "tap", "ADD", {{"CNI_IFNAME", "a/b"}}, ok("tap"), 4, "CNI_IFNAME"},
      {"ifname with :", "macvlan", "ADD", {{"CNI_IFNAME", "eth0:1"}}, ok("macvlan"), 4,
       "CNI_IFNAME"},
      {"ifname with a space", "host-device", "ADD", {{"CNI_IFNAME", "eth 0"}}, ok("host-device"),
       4, "CNI_IFNAME"},
      {"ifname 16 bytes", "loopback", "ADD", {{"CNI_IFNAME", "abcdefghijklmnop"}}, ok("loopback"),
       4, "longer than 15 bytes"},
      {"ifname 16 bytes, bridge", "bridge", "ADD", {{"CNI_IFNAME", "abcdefghijklmnop"}},
       ok("bridge"), 4, "CNI_IFNAME"},
      {"ifname 4 KiB", "host-local", "ADD", {{"CNI_IFNAME", kib4}}, ok("host-local"), 4,
       "CNI_IFNAME"},
      {"CNI_ARGS without =", "host-local", "ADD", {{"CNI_ARGS", "IP"}}, ok("host-local"), 4,
       "CNI_ARGS"},
      {"CNI_ARGS unknown key", "bridge", "ADD", {{"CNI_ARGS", "FOO=1"}}, ok("bridge"), 4, "FOO"},
      {"CNI_ARGS IgnoreUnknown not a boolean", "static", "ADD",
       {{"CNI_ARGS", "IgnoreUnknown=maybe"}}, ok("static"), 4, "IgnoreUnknown"},
      // Network names: the reference's pattern, checked before anything touches a path.
      {"network name ../evil", "bridge", "ADD", {}, with("bridge", {{"name", "../evil"}}), 7,
       "invalid network name"},
      {"network name a/b", "host-local", "ADD", {}, with("host-local", {{"name", "a/b"}}), 7,
       "invalid network name"},
      {"network name with NUL", "static", "ADD", {}, with("static", {{"name", nul_name}}), 7,
       "invalid network name"},
      {"network name ../x, portmap", "portmap", "ADD", {}, with("portmap", {{"name", "../x"}}), 7,
       "invalid network name"},
      {"network name 4 KiB, host-local", "host-local", "ADD", {},
       with("host-local", {{"name", kib4}}), 999, kib4.substr(0, 64)},
      {"network name 4 KiB, bridge rolls back", "bridge", "ADD", {},
       with("bridge", {{"name", kib4}}), 999, kib4.substr(0, 64)},
      // dataDir.
      {"dataDir with NUL", "host-local", "ADD", {},
       with("host-local", {{"ipam", {{"dataDir", ipam_dir + std::string("/x\0y", 4)}}}}), 7,
       "dataDir"},
      {"dataDir relative ../", "host-local", "ADD", {},
       with("host-local", {{"ipam", {{"dataDir", "../ipam"}}}}), 7, "dataDir"},
      {"dataDir a regular file", "host-local", "ADD", {},
       with("host-local", {{"ipam", {{"dataDir", file}}}}), 999, file},
      {"dataDir 4 KiB component", "host-local", "ADD", {},
       with("host-local", {{"ipam", {{"dataDir", ipam_dir + "/" + kib4}}}}), 999,
       kib4.substr(0, 64)},
      {"dataDir with NUL, bridge rolls back", "bridge", "ADD", {},
       with("bridge", {{"ipam", {{"dataDir", ipam_dir + std::string("\0", 1)}}}}), 7, "dataDir"},
      {"tuning dataDir with NUL", "tuning", "ADD", {},
       with("tuning", {{"dataDir", (root / "tuning").string() + std::string("\0x", 2)}}), 7,
       "dataDir"},
      {"tuning dataDir relative", "tuning", "ADD", {}, with("tuning", {{"dataDir", "rel/dir"}}),
       7, "dataDir"},
      // Delegated plugin types.
      {"ipam type ../host-local", "bridge", "ADD", {},
       with("bridge", {{"ipam", {{"type", "../host-local"}}}}), 7, "invalid plugin name"},
      {"ipam type absolute", "ptp", "ADD", {}, with("ptp", {{"ipam", {{"type", "/bin/true"}}}}), 7,
       "invalid plugin name"},
      {"ipam type with NUL, tap rolls back", "tap", "ADD", {},
       with("tap", {{"ipam", {{"type", std::string("host-local\0x", 12)}}}}), 7,
       "invalid plugin name"},
      {"ipam type 4 KiB", "ptp", "ADD", {}, with("ptp", {{"ipam", {{"type", kib4}}}}), 999,
       "failed to find plugin"},
      {"ipam type ..", "bridge", "ADD", {}, with("bridge", {{"ipam", {{"type", ".."}}}}), 999,
       "failed to find plugin \"..\""},
      {"ipam type unknown", "bridge", "ADD", {},
       with("bridge", {{"ipam", {{"type", "nsnet-no-such-ipam"}}}}), 999, "nsnet-no-such-ipam"},
      {"ipam type empty", "ptp", "ADD", {}, with("ptp", {{"ipam", {{"type", ""}}}}), 7,
       "ipam.type"},
      // host-local ranges.
      {"overlapping range sets", "host-local", "ADD", {},
       with("host-local", {{"ipam", {{"ranges", {{{{"subnet", "10.77.0.0/24"}}},
                                                  {{{"subnet", "10.77.0.0/16"}}}}}}}}),
       7, "range set 0 overlaps with 1"},
      {"overlapping ranges in one set", "host-local", "ADD", {},
       with("host-local",
            {{"ipam",
              {{"ranges", {{{{"subnet", "10.77.0.0/24"}}, {{"subnet", "10.77.0.128/25"}}}}}}}}),
       7, "10.77.0.128/25"},
      {"runtime ipRanges overlapping ranges", "bridge", "ADD", {},
       with("bridge", {{"runtimeConfig", {{"ipRanges", {{{{"subnet", "10.77.0.0/25"}}}}}}}}), 7,
       "overlaps"},
      {"subnet /33", "host-local", "ADD", {},
       with("host-local", {{"ipam", {{"ranges", {{{{"subnet", "10.77.0.0/33"}}}}}}}}), 7,
       "10.77.0.0/33"},
      {"rangeStart outside the subnet", "host-local", "ADD", {},
       with("host-local",
            {{"ipam", {{"ranges", {{{{"subnet", "10.77.0.0/24"}, {"rangeStart", "10.9.0.5"}}}}}}}}),
       7, "rangeStart"},
      {"ranges a string", "host-local", "ADD", {},
       with("host-local", {{"ipam", {{"ranges", "x"}}}}), 6, "ipam.ranges"},
      {"empty range set", "host-local", "ADD", {},
       with("host-local", {{"ipam", {{"ranges", {json::array()}}}}}), 7, "ipam.ranges[0]"},
      {"range without subnet", "host-local", "ADD", {},
       with("host-local", {{"ipam", {{"ranges", {{json::object()}}}}}}), 7, "subnet"},
      {"no ranges", "host-local", "ADD", {}, with("host-local", {{"ipam", {{"ranges", nullptr}}}}),
       7, "no IP ranges"},
      {"no ipam", "host-local", "ADD", {}, with("host-local", {{"ipam", nullptr}}), 7, "ipam"},
      {"two v4 sets at 0.2.0", "host-local", "ADD", {},
       with("host-local", {{"cniVersion", "0.2.0"},
                           {"ipam", {{"ranges", {{{{"subnet", "10.77.0.0/24"}}},
                                                 {{{"subnet", "10.79.0.0/24"}}}}}}}}),
       7, "0.2.0"},
      {"requested IP in no range", "host-local", "ADD", {{"CNI_ARGS", "IP=10.99.0.9"}},
       ok("host-local"), 7, "10.99.0.9"},
      {"route dst a number", "host-local", "ADD", {},
       with("host-local", {{"ipam", {{"routes", {{{"dst", 5}}}}}}}), 6, "routes[0]"},
      {"runtimeConfig a string", "host-local", "ADD", {},
       with("host-local", {{"runtimeConfig", "x"}}), 6, "runtimeConfig"},
      {"args.cni.ips not an address", "host-local", "ADD", {},
       with("host-local", {{"args", {{"cni", {{"ips", {"bogus"}}}}}}}), 7, "args.cni.ips"},
      // MTUs.
      {"bridge mtu 70000", "bridge", "ADD", {}, with("bridge", {{"mtu", 70000}}), 7, "mtu"},
      {"bridge mtu -1", "bridge", "ADD", {}, with("bridge", {{"mtu", -1}}), 6, "mtu"},
      {"ptp mtu a string", "ptp", "ADD", {}, with("ptp", {{"mtu", "1500"}}), 6, "mtu"},
      {"tap mtu 20", "tap", "ADD", {}, with("tap", {{"mtu", 20}}), 7, "mtu"},
      {"macvlan mtu 70000", "macvlan", "ADD", {}, with("macvlan", {{"mtu", 70000}}), 7, "mtu"},
      {"tuning mtu 10", "tuning", "ADD", {}, with("tuning", {{"mtu", 10}}), 7, "mtu"},
      {"tuning args.cni.mtu 70000", "tuning", "ADD", {},
       with("tuning", {{"args", {{"cni", {{"mtu", 70000}}}}}}), 7, "args.cni.mtu"},
      {"bridge vlan 5000", "bridge", "ADD", {}, with("bridge", {{"vlan", 5000}}), 7,
       "VLAN ID 5000"},
      // Ports.
      {"hostPort 0", "portmap", "ADD", {},
       with("portmap", {{"runtimeConfig",
                         {{"portMappings", {{{"hostPort", 0}, {"containerPort", 80}}}}}}}),
       7, "hostPort"},
      {"hostPort 70000", "portmap", "ADD", {},
       with("portmap",
            {{"runtimeConfig",
              {{"portMappings",
                {{{"hostPort", 70000}, {"containerPort", 80}, {"protocol", "tcp"}}}}}}}),
       7, "hostPort"},
      {"containerPort -5", "portmap", "ADD", {},
       with("portmap",
            {{"runtimeConfig",
              {{"portMappings",
                {{{"hostPort", 8080}, {"containerPort", -5}, {"protocol", "tcp"}}}}}}}),
       7, "containerPort"},
      {"hostPort a string", "portmap", "ADD", {},
       with("portmap",
            {{"runtimeConfig",
              {{"portMappings",
                {{{"hostPort", "80"}, {"containerPort", 80}, {"protocol", "tcp"}}}}}}}),
       6, "hostPort"},
      {"protocol icmp", "portmap", "ADD", {},
       with("portmap",
            {{"runtimeConfig",
              {{"portMappings",
                {{{"hostPort", 8080}, {"containerPort", 80}, {"protocol", "icmp"}}}}}}}),
       7, "protocol"},
      {"hostIP not an address", "portmap", "ADD", {},
       with("portmap", {{"runtimeConfig",
                         {{"portMappings", {{{"hostPort", 8080},
                                             {"containerPort", 80},
                                             {"protocol", "tcp"},
                                             {"hostIP", "not-an-ip"}}}}}}}),
       7, "hostIP"},
      {"host port mapped twice", "portmap", "ADD", {},
       with("portmap",
            {{"runtimeConfig",
              {{"portMappings",
                {{{"hostPort", 8080}, {"containerPort", 80}, {"protocol", "tcp"}},
                 {{"hostPort", 8080}, {"containerPort", 81}, {"protocol", "tcp"}}}}}}}),
       7, "already mapped"},
      {"portMappings an object", "portmap", "ADD", {},
       with("portmap", {{"runtimeConfig", {{"portMappings", {{"a", 1}}}}}}), 6, "portMappings"},
      {"portmap iptables backend", "portmap", "ADD", {}, with("portmap", {{"backend", "iptables"}}),
       2, "backend"},
      {"portmap markMasqBit", "portmap", "ADD", {}, with("portmap", {{"markMasqBit", 13}}), 2,
       "markMasqBit"},
      {"portmap iptables conditions", "portmap", "ADD", {},
       with("portmap", {{"conditionsV4", {"-s 1.2.3.4"}}}), 2, "conditionsV4"},
      // Rates.
      {"ingressRate without burst", "bandwidth", "ADD", {},
       with("bandwidth", {{"ingressBurst", nullptr}}), 7, "ingressBurst"},
      {"ingressRate -1", "bandwidth", "ADD", {}, with("bandwidth", {{"ingressRate", -1}}), 6,
       "ingressRate"},
      {"ingressRate 4 bits/s", "bandwidth", "ADD", {}, with("bandwidth", {{"ingressRate", 4}}), 7,
       "ingressRate"},
      {"egressRate a float", "bandwidth", "ADD", {},
       with("bandwidth", {{"egressRate", 1e12}, {"egressBurst", 100000}}), 6, "egressRate"},
      {"ingressBurst 2^40 bits", "bandwidth", "ADD", {},
       with("bandwidth", {{"ingressBurst", std::uint64_t{1} << 40}}), 7, "ingressBurst"},
      {"ingressRate 2^63 bits/s", "bandwidth", "ADD", {},
       with("bandwidth", {{"ingressRate", std::uint64_t{1} << 63}}), 7, "ingressRate"},
      {"shapedSubnets", "bandwidth", "ADD", {},
       with("bandwidth", {{"shapedSubnets", {"10.0.0.0/8"}}}), 2, "shapedSubnets"},
      {"runtime bandwidth a string", "bandwidth", "ADD", {},
       with("bandwidth", {{"runtimeConfig", {{"bandwidth", "fast"}}}}), 6,
       "runtimeConfig.bandwidth"},
      // tuning.
      {"sysctl outside net", "tuning", "ADD", {},
       with("tuning", {{"sysctl", {{"kernel.hostname", "x"}}}}), 7, "kernel.hostname"},
      {"sysctl traversal", "tuning", "ADD", {},
       with("tuning", {{"sysctl", {{"net/../kernel/hostname", "x"}}}}), 7,
       "net/../kernel/hostname"},
      {"sysctl given twice", "tuning", "ADD", {}, dup_sysctl, 7, "net.ipv4.ip_forward"},
      {"sysctl value a number", "tuning", "ADD", {},
       with("tuning", {{"sysctl", {{"net.ipv4.ip_forward", 1}}}}), 6, "sysctl"},
      {"tuning multicast mac", "tuning", "ADD", {}, with("tuning", {{"mac", "01:00:5e:00:00:01"}}),
       7, "mac"},
      {"tuning promisc a string", "tuning", "ADD", {}, with("tuning", {{"promisc", "yes"}}), 6,
       "promisc"},
      {"tuning txQLen -1", "tuning", "ADD", {}, with("tuning", {{"txQLen", -1}}), 6, "txQLen"},
      {"tuning without prevResult", "tuning", "ADD", {}, with("tuning", {{"prevResult", nullptr}}),
       7, "prevResult"},
      // firewall.
      {"firewall iptables backend", "firewall", "ADD", {},
       with("firewall", {{"backend", "iptables"}}), 2, "backend"},
      {"firewall ingressPolicy", "firewall", "ADD", {},
       with("firewall", {{"ingressPolicy", "bogus"}}), 7, "ingressPolicy"},
      {"firewall admin chain name", "firewall", "ADD", {},
       with("firewall", {{"iptablesAdminChainName", "bad name!"}}), 7, "iptablesAdminChainName"},
      {"firewalldZone", "firewall", "ADD", {}, with("firewall", {{"firewalldZone", "trusted"}}), 2,
       "firewalldZone"},
      {"prevResult a string", "firewall", "ADD", {}, with("firewall", {{"prevResult", "x"}}), 6,
       "prevResult"},
      // static.
      {"static address without prefix", "static", "ADD", {},
       with("static", {{"ipam", {{"addresses", {{{"address", "10.78.0.2"}}}}}}}), 7, "address"},
      {"static addresses a string", "static", "ADD", {},
       with("static", {{"ipam", {{"addresses", "x"}}}}), 6, "ipam.addresses"},
      {"static address a number", "static", "ADD", {},
       with("static", {{"ipam", {{"addresses", {{{"address", 5}}}}}}}), 6, "address"},
      {"static gateway not an address", "static", "ADD", {},
       with("static",
            {{"ipam", {{"addresses", {{{"address", "10.78.0.2/24"}, {"gateway", "nope"}}}}}}}),
       7, "gateway"},
      {"static without ipam", "static", "ADD", {}, with("static", {{"ipam", nullptr}}), 7, "ipam"},
      {"static route dst not a prefix", "static", "ADD", {},
       with("static", {{"ipam", {{"routes", {{{"dst", "bad"}}}}}}}), 7, "routes"},
      {"static CNI_ARGS IP not CIDR", "static", "ADD", {{"CNI_ARGS", "IP=bad"}}, ok("static"), 7,
       "CNI_ARGS IP"},
      {"static two v4 at 0.2.0", "static", "ADD", {},
       with("static", {{"cniVersion", "0.2.0"},
                       {"ipam", {{"addresses", {{{"address", "10.78.0.2/24"}},
                                                {{"address", "10.78.0.3/24"}}}}}}}),
       7, "0.2.0"},
      // host-device.
      {"host-device names nothing", "host-device", "ADD", {},
       with("host-device", {{"device", nullptr}}), 7, "device"},
      {"host-device device ../eth0", "host-device", "ADD", {},
       with("host-device", {{"device", "../eth0"}}), 7, "device"},
      {"host-device kernelpath traversal", "host-device", "ADD", {},
       with("host-device", {{"device", nullptr}, {"kernelpath", "/sys/devices/../../etc"}}), 7,
       "kernelpath"},
      {"host-device pciBusID", "host-device", "ADD", {},
       with("host-device", {{"device", nullptr}, {"pciBusID", "0000:00:1f.6"}}), 2, "pciBusID"},
      {"host-device hwaddr", "host-device", "ADD", {},
       with("host-device", {{"device", nullptr}, {"hwaddr", "zz"}}), 7, "hwaddr"},
      // macvlan.
      {"macvlan mode", "macvlan", "ADD", {}, with("macvlan", {{"mode", "bogus"}}), 7, "mode"},
      {"macvlan source mode", "macvlan", "ADD", {}, with("macvlan", {{"mode", "source"}}), 2,
       "source"},
      {"macvlan bcqueuelen", "macvlan", "ADD", {}, with("macvlan", {{"bcqueuelen", 5}}), 2,
       "bcqueuelen"},
      {"macvlan master ../x", "macvlan", "ADD", {}, with("macvlan", {{"master", "../x"}}), 7,
       "master"},
      {"macvlan multicast mac", "macvlan", "ADD", {},
       with("macvlan", {{"mac", "01:00:5e:00:00:01"}}), 7, "mac"},
      // tap.
      {"tap selinuxContext", "tap", "ADD", {},
       with("tap", {{"selinuxContext", "system_u:object_r:tun_tap_device_t"}}), 2,
       "selinuxContext"},
      {"tap owner -1", "tap", "ADD", {}, with("tap", {{"owner", -1}}), 6, "owner"},
      {"tap bridge a/b", "tap", "ADD", {}, with("tap", {{"bridge", "a/b"}}), 7, "bridge"},
      {"tap multiQueue a string", "tap", "ADD", {}, with("tap", {{"multiQueue", "yes"}}), 6,
       "multiQueue"},
      // bridge and ptp.
      {"bridge hairpin and promisc", "bridge", "ADD", {},
       with("bridge", {{"hairpinMode", true}, {"promiscMode", true}}), 7, "hairpin"},
      {"bridge name a/b", "bridge", "ADD", {}, with("bridge", {{"bridge", "a/b"}}), 7, "bridge"},
      {"bridge name 16 bytes", "bridge", "ADD", {},
       with("bridge", {{"bridge", "abcdefghijklmnop"}}), 7, "abcdefghijklmnop"},
      {"hostVethPrefix too long", "bridge", "ADD", {},
       with("bridge", {{"hostVethPrefix", "much-too-long"}}), 7, "hostVethPrefix"},
      {"isGateway a string", "bridge", "ADD", {}, with("bridge", {{"isGateway", "yes"}}), 6,
       "isGateway"},
      {"ipMasqBackend iptables", "bridge", "ADD", {},
       with("bridge", {{"ipMasqBackend", "iptables"}}), 2, "ipMasqBackend"},
      {"ipMasqExclude not a prefix", "bridge", "ADD", {},
       with("bridge", {{"ipMasqExclude", {"bad"}}}), 7, "ipMasqExclude"},
      {"bridge ipam a string", "bridge", "ADD", {}, with("bridge", {{"ipam", "x"}}), 7, "ipam"},
      {"bridge runtime mac multicast", "bridge", "ADD", {},
       with("bridge", {{"runtimeConfig", {{"mac", "01:00:5e:00:00:01"}}}}), 7, "mac"},
      {"ptp without ipam", "ptp", "ADD", {}, with("ptp", {{"ipam", nullptr}}), 7, "ipam"},
      {"ptp ipMasqBackend iptables", "ptp", "ADD", {},
       with("ptp", {{"ipMasqBackend", "iptables"}}), 2, "ipMasqBackend"},
      // CNI_NETNS that is no network namespace, or not one the command may use.
      {"netns a regular file", "bridge", "ADD", {{"CNI_NETNS", file}}, ok("bridge"), 8, file},
      {"netns a directory", "ptp", "ADD", {{"CNI_NETNS", dir}}, ok("ptp"), 8, dir},
      {"netns missing", "tap", "ADD", {{"CNI_NETNS", dir + "/none"}}, ok("tap"), 8,
       dir + "/none"},
      {"netns a mount namespace", "loopback", "ADD", {{"CNI_NETNS", proc + "/ns/mnt"}},
       ok("loopback"), 8, proc + "/ns/mnt"},
      {"netns a user namespace", "tap", "ADD", {{"CNI_NETNS", proc + "/ns/user"}}, ok("tap"), 8,
       proc + "/ns/user"},
      {"netns the plugin's own, macvlan", "macvlan", "ADD", {{"CNI_NETNS", proc + "/ns/net"}},
       ok("macvlan"), 8, proc + "/ns/net"},
      {"netns the plugin's own, loopback", "loopback", "ADD", {{"CNI_NETNS", proc + "/ns/net"}},
       ok("loopback"), 8, proc + "/ns/net"},
      {"netns the plugin's own, bridge", "bridge", "ADD", {{"CNI_NETNS", proc + "/ns/net"}},
       ok("bridge"), 8, proc + "/ns/net"},
      {"netns of an exited process", "bridge", "ADD", {{"CNI_NETNS", gone}}, ok("bridge"), 8,
       gone},
      {"tuning netns a regular file", "tuning", "ADD", {{"CNI_NETNS", file}}, ok("tuning"), 8,
       file},
      {"host-device netns a directory", "host-device", "ADD", {{"CNI_NETNS", dir}},
       ok("host-device"), 8, dir},
      {"CHECK with netns a regular file", "loopback", "CHECK", {{"CNI_NETNS", file}},
       ok("loopback"), 8, file},
      {"DEL with netns a directory", "loopback", "DEL", {{"CNI_NETNS", dir}}, ok("loopback"), 8,
       dir},
      // Bounded: huge and deeply nested input ends in an error, not in a crash or a long parse.
      {"64 MiB stdin", "bridge", "ADD", {}, huge, 5, "stdin"},
      {"64 MiB stdin on DEL", "host-local", "DEL", {}, huge, 5, "stdin"},
      {"100000 [", "loopback", "ADD", {}, deep_arrays, 6, "nesting"},
      {"100000 nested objects", "portmap", "ADD", {}, deep_objects, 6, "nesting"},
      {"deep prevResult", "tuning", "ADD", {}, deep_in_config, 6, "nesting"},
      {"64 MiB of whitespace", "firewall", "ADD", {}, std::string(64u << 20, ' '), 5, "stdin"},
  };
  // clang-format on
  return cases;
}

TEST_F(BadInputTest, EveryCaseFailsCleanlyAndLeavesNothing) {
  const auto cases = bad_input_cases(netns_path_, root_, host_pid_, dead_pid_, unique_name("bb"));
  ASSERT_GE(cases.size(), 80u);
  std::set<std::string> names;
  for (const auto& c : cases) EXPECT_TRUE(names.insert(c.name).second) << "duplicate " << c.name;

  const std::string baseline = snapshot();
  std::string state = baseline;
  std::pair<std::chrono::nanoseconds, std::string> slowest{};
  std::vector<std::string> failed;
  for (const auto& c : cases)
    if (!run_case(c, state, slowest)) failed.push_back(c.name);
  EXPECT_EQ(state, baseline) << "the sandbox changed over the whole catalogue";

  std::string summary;
  for (const auto& name : failed) summary += "\n  " + name;
  std::cout << "[ badinput ] " << cases.size() - failed.size() << " of " << cases.size()
            << " cases passed; slowest call " << slowest.first.count() / 1000000 << " ms ("
            << slowest.second << ")" << summary << '\n';
  EXPECT_TRUE(failed.empty()) << failed.size() << " cases failed:" << summary;
}

}  // namespace
