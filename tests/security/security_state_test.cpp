// Plugins never follow a symbolic link planted in their state (issue 9, item 5): host-local's
// network directory, a reservation it is about to make, last_reserved_ip.0 and its lock; the
// tuning backup and its directory; the slirp4netns plugin's attachment directory; the result
// cache of `nsnet net`. Each link points at a "victim" in the test's temp dir whose names,
// modes, contents and link targets must be unchanged afterwards; the plugin either refuses with
// a CNI error naming the link or replaces the link without writing through it. Also the modes
// of the state each one writes (the reference's where it has one).

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "integration/tuning_fixture.hpp"
#include "net/net_env.hpp"
#include "netcore/net/link.hpp"
#include "netcore/proc/daemon.hpp"
#include "netcore/proc/process.hpp"
#include "support/ipam_files.hpp"
#include "support/l2_plugin_test.hpp"
#include "support/plugin_runner.hpp"
#include "support/sandbox.hpp"

namespace nsnet::testing {
namespace security_state_test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Everything below `root` (root included): relative name -> type, mode, content or link target.
std::map<std::string, std::string> tree_of(const fs::path& root) {
  std::map<std::string, std::string> out;
  const auto describe = [&](const fs::path& p) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0) return std::string("missing");
    std::string d = std::to_string(st.st_mode) + " ";
    if (S_ISLNK(st.st_mode)) return d + "-> " + fs::read_symlink(p).string();
    if (S_ISREG(st.st_mode)) {
      std::ifstream in(p);
      return d + std::string(std::istreambuf_iterator<char>(in), {});
    }
    return d;
  };
  out["."] = describe(root);
  std::error_code ec;
  if (fs::is_directory(fs::symlink_status(root)))
    for (const auto& e : fs::recursive_directory_iterator(root, ec))
      out[fs::relative(e.path(), root).string()] = describe(e.path());
  return out;
}

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  if (::lstat(p.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

bool is_link(const fs::path& p) { return fs::is_symlink(fs::symlink_status(p)); }

mode_t current_umask() {
  const mode_t mask = ::umask(022);
  ::umask(mask);
  return mask;
}

// A CNI error on stdout whose message names `needle`.
void expect_cni_error(const PluginRun& run, const std::string& needle) {
  EXPECT_NE(run.exit_code, 0) << run.out << run.err;
  if (run.exit_code == 0) return;
  const auto error = run.json();
  EXPECT_TRUE(error.contains("code")) << run.out;
  const std::string text = error.value("msg", "") + " " + error.value("details", "");
  EXPECT_NE(text.find(needle), std::string::npos) << run.out;
}

// What a planted link points at: a directory (0750) with a file (0640) somewhere no plugin has
// business in, and what it held when last recorded.
struct Victim {
  fs::path dir, file;
  std::map<std::string, std::string> before;

  void plant(const fs::path& parent) {
    dir = parent / "victim";
    fs::create_directories(dir);
    ::chmod(dir.c_str(), 0750);
    file = dir / "precious";
    std::ofstream(file) << "precious content\n";
    ::chmod(file.c_str(), 0640);
    record();
  }
  void record() { before = tree_of(dir); }
};

class SecurityStateTest : public SandboxTest {
 protected:
  void SetUp() override {
    SandboxTest::SetUp();
    if (IsSkipped()) return;
    victim_.plant(temp_dir());
  }
  void expect_victim_untouched() { EXPECT_EQ(tree_of(victim_.dir), victim_.before); }

  Victim victim_;
};

// host-local run directly, as a main plugin delegates to it, on network "secnet".
class SecurityHostLocalTest : public SecurityStateTest {
 protected:
  void SetUp() override {
    SecurityStateTest::SetUp();
    if (IsSkipped()) return;
    data_dir_ = temp_dir() / "ipam";
    fs::create_directories(data_dir_);
    net_dir_ = data_dir_ / "secnet";
  }
  // One address, 10.77.0.5, unless `end` says otherwise.
  PluginRun host_local(const std::string& command, const std::string& end = "10.77.0.5") {
    const json conf = {
        {"cniVersion", "1.0.0"},
        {"name", "secnet"},
        {"type", "bridge"},
        {"ipam",
         {{"type", "host-local"},
          {"dataDir", data_dir_.string()},
          {"ranges",
           {{{{"subnet", "10.77.0.0/24"}, {"rangeStart", "10.77.0.5"}, {"rangeEnd", end}}}}}}}};
    return exec_plugin(plugin_dir(), "host-local", command,
                       {{"CNI_CONTAINERID", "ctr1"},
                        {"CNI_NETNS", "/run/netns/secnet-ctr1"},
                        {"CNI_IFNAME", "eth0"}},
                       conf.dump());
  }
  fs::path data_dir_, net_dir_;
};

TEST_F(SecurityHostLocalTest, LinkedNetworkDirectoryIsRefused) {
  fs::create_directory_symlink(victim_.dir, net_dir_);
  const auto add = host_local("ADD");
  expect_cni_error(add, "symbolic link");
  expect_victim_untouched();  // no lock, no reservation, no last_reserved_ip.0 in it
  EXPECT_TRUE(is_link(net_dir_));
  EXPECT_FALSE(fs::exists(data_dir_ / ".nsnet"));
  const auto del = host_local("DEL");
  EXPECT_NE(del.exit_code, 0) << del.out;
  expect_victim_untouched();
}

TEST_F(SecurityHostLocalTest, LinkedReservationIsRefusedNotRead) {
  fs::create_directories(net_dir_);
  fs::create_symlink(victim_.file, net_dir_ / "10.77.0.5");  // the only address of the range
  const auto add = host_local("ADD");
  // Not "no addresses available" (the victim's content read as an owner).
  expect_cni_error(add, "10.77.0.5: a symbolic link");
  expect_victim_untouched();
  EXPECT_TRUE(is_link(net_dir_ / "10.77.0.5"));
  EXPECT_FALSE(fs::exists(net_dir_ / "last_reserved_ip.0"));
}

TEST_F(SecurityHostLocalTest, LinkedLastReservedIsNeverWrittenThrough) {
  fs::create_directories(net_dir_);
  fs::create_symlink(victim_.file, net_dir_ / "last_reserved_ip.0");
  const auto add = host_local("ADD", "10.77.0.9");
  if (add.exit_code == 0) {
    EXPECT_FALSE(is_link(net_dir_ / "last_reserved_ip.0"));  // replaced, not followed
  } else {
    expect_cni_error(add, "last_reserved_ip.0");
    EXPECT_TRUE(reserved_addresses(net_dir_).empty()) << "a refused ADD left a reservation";
  }
  expect_victim_untouched();
}

TEST_F(SecurityHostLocalTest, LinkedLockIsRefusedAndCreatesNothing) {
  fs::create_directories(net_dir_);
  const auto target = victim_.dir / "created-by-lock";
  fs::create_symlink(target, net_dir_ / "lock");  // dangling: O_CREAT would make the target
  const auto add = host_local("ADD");
  expect_cni_error(add, "lock");
  EXPECT_FALSE(fs::exists(fs::symlink_status(target)));
  EXPECT_TRUE(reserved_addresses(net_dir_).empty());
  fs::remove(net_dir_ / "lock");
  fs::create_symlink(victim_.file, net_dir_ / "lock");  // and to an existing file
  expect_cni_error(host_local("ADD"), "lock");
  expect_victim_untouched();
  EXPECT_TRUE(reserved_addresses(net_dir_).empty());
}

// The reference's modes (disk/backend.go: MkdirAll 0755, reservations and last_reserved_ip
// 0644), under the caller's umask; the lock is ours alone (0600).
TEST_F(SecurityHostLocalTest, StateModesMatchTheReference) {
  const auto add = host_local("ADD");
  ASSERT_EQ(add.exit_code, 0) << add.out;
  const mode_t mask = current_umask();
  EXPECT_EQ(mode_of(net_dir_), 0755 & ~mask);
  EXPECT_EQ(mode_of(net_dir_ / "10.77.0.5"), 0644 & ~mask);
  EXPECT_EQ(mode_of(net_dir_ / "last_reserved_ip.0"), 0644 & ~mask);
  EXPECT_EQ(mode_of(net_dir_ / "lock"), 0600 & ~mask);
  for (const auto& e : fs::recursive_directory_iterator(data_dir_))
    EXPECT_EQ(mode_of(e.path()) & 0022, 0U) << e.path() << " is group/world-writable";
}

class SecurityTuningTest : public TuningFixture {
 protected:
  void SetUp() override {
    TuningFixture::SetUp();
    if (IsSkipped()) return;
    victim_.plant(temp_dir());
  }
  json sysctl_conf() { return config({{"sysctl", {{"net.ipv4.conf.eth0.arp_ignore", "1"}}}}); }
  std::string arp_ignore() {
    return container_->run(
        [] { return netcore::net::read_sysctl("net/ipv4/conf/eth0/arp_ignore"); });
  }
  Victim victim_;
};

TEST_F(SecurityTuningTest, LinkedBackupDirectoryIsRefused) {
  fs::create_directory_symlink(victim_.dir, data_dir_);
  const auto add = call("ADD", sysctl_conf());
  expect_cni_error(add, "symbolic link");
  EXPECT_EQ(tree_of(victim_.dir), victim_.before);  // no ctr1_eth0.json in it
  EXPECT_EQ(arp_ignore(), "0");
  EXPECT_TRUE(is_link(data_dir_));

  // GC does not delete, through the link, what looks like a stale backup of this network.
  std::ofstream(victim_.dir / "old_eth0.json")
      << json{{"nsnet", {{"network", "tunenet"}, {"containerID", "old"}, {"ifname", "eth0"}}}}
             .dump();
  victim_.record();
  json gc = config();
  gc.erase("prevResult");
  gc["cniVersion"] = "1.1.0";
  gc["cni.dev/valid-attachments"] = json::array();
  const auto run =
      host_->run([&] { return exec_plugin(plugin_dir(), "tuning", "GC", {}, gc.dump()); });
  EXPECT_NE(run.exit_code, 0) << run.out;
  EXPECT_EQ(tree_of(victim_.dir), victim_.before);
}

// A planted backup is neither read (DEL would "restore" what it says) nor written through.
TEST_F(SecurityTuningTest, LinkedBackupFileIsNeitherReadNorWritten) {
  fs::create_directories(data_dir_);
  ::chmod(data_dir_.c_str(), 0700);
  const auto forged = victim_.dir / "forged.json";
  std::ofstream(forged) << json{{"mtu", 1280}}.dump();
  victim_.record();
  const unsigned mtu = state().mtu;
  ASSERT_NE(mtu, 1280U);

  fs::create_symlink(forged, backup_file());
  const auto del = call("DEL", config());
  EXPECT_EQ(del.exit_code, 0) << del.out;
  EXPECT_EQ(state().mtu, mtu) << "DEL restored the MTU a planted link named";
  EXPECT_FALSE(fs::exists(fs::symlink_status(backup_file())));  // the link alone went

  fs::create_symlink(forged, backup_file());
  const auto add = call("ADD", sysctl_conf());
  if (add.exit_code == 0) {
    EXPECT_FALSE(is_link(backup_file()));
  } else {
    expect_cni_error(add, "symbolic link");
    EXPECT_EQ(arp_ignore(), "0");
  }
  EXPECT_EQ(tree_of(victim_.dir), victim_.before);
}

// The reference's createBackup: MkdirAll(dataDir, 0700), WriteFile(..., 0600).
TEST_F(SecurityTuningTest, BackupIsPrivate) {
  const auto add = call("ADD", sysctl_conf());
  ASSERT_EQ(add.exit_code, 0) << add.out;
  EXPECT_EQ(mode_of(data_dir_), 0700U);
  EXPECT_EQ(mode_of(backup_file()), 0600U);
  EXPECT_EQ(call("DEL", config()).exit_code, 0);
}

class SecuritySlirpPluginTest : public L2PluginTest {
 protected:
  SecuritySlirpPluginTest() : L2PluginTest("slirp4netns") {}
  void SetUp() override {
    L2PluginTest::SetUp();
    if (IsSkipped()) return;
    data_dir_ = temp_dir() / "slirp";
    victim_.plant(temp_dir());
  }
  void TearDown() override {
    if (bystander_ > 0) {
      ::kill(bystander_, SIGKILL);
      ::waitpid(bystander_, nullptr, 0);
    }
    L2PluginTest::TearDown();
  }
  json conf() const {
    return {{"cniVersion", "1.1.0"},
            {"name", "slirpnet"},
            {"type", "slirp4netns"},
            {"dataDir", data_dir_.string()}};
  }
  PluginRun slirp(const std::string& command) {
    return call(command, conf(), {{"CNI_IFNAME", "tap0"}});
  }
  fs::path state_dir() const { return data_dir_ / "slirpnet" / "ctr1-tap0"; }

  fs::path data_dir_;
  Victim victim_;
  pid_t bystander_ = -1;
};

// A link in place of the attachment's state directory, to a directory whose state.json names
// a live process: DEL (and GC) must not stop it, nor touch the directory.
TEST_F(SecuritySlirpPluginTest, LinkedStateDirectoryIsNotFollowed) {
  bystander_ = ::fork();
  if (bystander_ == 0) {
    ::execl("/bin/sleep", "sleep", "60", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ASSERT_GT(bystander_, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // exec'd: its start time is final
  const auto start = netcore::proc::process_start_time(bystander_);
  ASSERT_TRUE(start);
  std::ofstream(victim_.dir / "state.json")
      << json{{"pid", bystander_}, {"start_time", *start}, {"container_id", "ctr1"},
              {"ifname", "tap0"},  {"netns", netns_path_}, {"api_socket", ""}}
             .dump();
  const auto before = tree_of(victim_.dir);
  fs::create_directories(state_dir().parent_path());
  fs::create_directory_symlink(victim_.dir, state_dir());

  const auto del = slirp("DEL");
  EXPECT_EQ(del.exit_code, 0) << del.out << del.err;
  EXPECT_TRUE(netcore::proc::process_alive({bystander_, *start})) << "DEL stopped a bystander";
  EXPECT_EQ(tree_of(victim_.dir), before);
  EXPECT_FALSE(fs::exists(fs::symlink_status(state_dir())));

  fs::create_directory_symlink(victim_.dir, state_dir());
  const json gc = {{"cniVersion", "1.1.0"},
                   {"name", "slirpnet"},
                   {"type", "slirp4netns"},
                   {"dataDir", data_dir_.string()},
                   {"cni.dev/valid-attachments", json::array()}};
  const auto run = exec_plugin(plugin_dir(), "slirp4netns", "GC", {}, gc.dump());
  EXPECT_EQ(run.exit_code, 0) << run.out;
  EXPECT_TRUE(netcore::proc::process_alive({bystander_, *start})) << "GC stopped a bystander";
  EXPECT_EQ(tree_of(victim_.dir), before);
}

TEST_F(SecuritySlirpPluginTest, LinkedStateDirectoryIsReplacedOnAddAndStateIsPrivate) {
  if (!netcore::proc::find_program("slirp4netns")) GTEST_SKIP() << "slirp4netns is not installed";
  const auto before = tree_of(victim_.dir);
  fs::create_directories(state_dir().parent_path());
  fs::create_directory_symlink(victim_.dir, state_dir());
  const auto add = slirp("ADD");
  if (add.exit_code == 0) {
    EXPECT_FALSE(is_link(state_dir()));
    EXPECT_EQ(mode_of(state_dir()), 0700U);
    EXPECT_EQ(mode_of(state_dir() / "state.json"), 0600U);
    EXPECT_EQ(slirp("DEL").exit_code, 0);
  } else {
    expect_cni_error(add, "symbolic link");
  }
  EXPECT_EQ(tree_of(victim_.dir), before);
}

// `nsnet net`'s result cache (libcni's layout): a link planted as the attachment's cache file is
// replaced by the new file, never written through; the file is 0600 in a 0700 directory
// (libcni: MkdirAll 0700, WriteFile 0600).
class SecurityResultCacheTest : public SecurityStateTest {};

TEST_F(SecurityResultCacheTest, LinkedCacheFileIsReplacedNotWrittenThrough) {
  const auto conf_dir = temp_dir() / "conf";
  const auto cache_dir = temp_dir() / "cache";
  fs::create_directories(conf_dir);
  const std::string network = unique_name("sc");
  std::ofstream(conf_dir / "10-sec.conflist") << json{
      {"cniVersion", "1.1.0"},
      {"name", network},
      {"plugins", {{{"type", "loopback"}}}}}.dump();
  const std::string netns_name = unique_name("scn");
  container_->persist(netns_name);
  const std::string netns = "/run/netns/" + netns_name;
  const auto file =
      cache_dir / "results" / (network + "-" + nsnet::net::cnitool_container_id(netns) + "-eth0");
  fs::create_directories(file.parent_path());
  ::chmod(file.parent_path().c_str(), 0700);
  ::chmod(cache_dir.c_str(), 0700);
  fs::create_symlink(victim_.file, file);

  const auto run_net = [&](const std::string& verb) {
    netcore::proc::RunRequest request{
        .program = NSNET_BIN,
        .args = {"net", "--cache-dir", cache_dir.string(), verb, network, netns},
        .env = {{"PATH", "/usr/sbin:/usr/bin:/sbin:/bin"},
                {"NETCONFPATH", conf_dir.string()},
                {"CNI_PATH", NSNET_PLUGIN_DIR},
                {"NSNET_LOG_LEVEL", "warn"}},
        .timeout = std::chrono::seconds(60)};
    return host_->run([&] { return netcore::proc::run(request); });
  };
  const auto add = run_net("add");
  EXPECT_TRUE(add.succeeded()) << add.out << add.err;
  expect_victim_untouched();
  EXPECT_FALSE(is_link(file));
  EXPECT_EQ(mode_of(file), 0600U);
  EXPECT_EQ(mode_of(file.parent_path()), 0700U);
  const auto del = run_net("del");
  EXPECT_TRUE(del.succeeded()) << del.out << del.err;
  expect_victim_untouched();
  netcore::net::Netns::delete_persisted_if_exists(netns_name);
}

}  // namespace
}  // namespace security_state_test
}  // namespace nsnet::testing
