// tuning's sysctl writes stay under /proc/sys/net (issue 9, item 5): keys that name something
// else, climb out with "..", are absolute, hold a NUL, or reach a symbolic link under
// /proc/sys/net are refused (code 7, the message naming the key), nothing is written, and no
// backup is left. Every call runs in a mount namespace of its own in which tmpfs copies stand
// in for /proc/sys/kernel (and, for the link, /proc/sys/net), so even a plugin that let a key
// through would write only into those copies, where the test sees it, never into the machine's
// kernel settings.

#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "integration/tuning_fixture.hpp"

namespace nsnet::testing {
namespace security_sysctl_test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string content_of(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class SecuritySysctlTest : public TuningFixture {
 protected:
  void SetUp() override {
    TuningFixture::SetUp();
    if (IsSkipped()) return;
    victim_ = temp_dir() / "victim";
    fs::create_directories(victim_ / "dir");
    std::ofstream(victim_ / "file") << "victim\n";
    std::ofstream(victim_ / "dir" / "x") << "victim\n";
  }

  // Runs the tuning plugin with `key` in a thread that first unshares its mount namespace and
  // mounts a tmpfs over /proc/sys/kernel (hostname, x: "victim") and, with `fake_net`, over
  // /proc/sys/net (links "escape" -> victim/file and "esc" -> victim/dir). The plugin, forked
  // from there, inherits that namespace; it ends with the thread.
  PluginRun add_with_key(const std::string& key, bool fake_net = false) {
    const json conf = config({{"sysctl", {{key, "1"}}}});
    std::packaged_task<PluginRun()> task([&] {
      if (::unshare(CLONE_NEWNS) != 0) throw std::runtime_error("unshare");
      if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
        throw std::runtime_error("make / private");
      if (::mount("tmpfs", "/proc/sys/kernel", "tmpfs", 0, "mode=0755") != 0)
        throw std::runtime_error(std::string("tmpfs on /proc/sys/kernel: ") + std::strerror(errno));
      std::ofstream("/proc/sys/kernel/hostname") << "victim\n";
      std::ofstream("/proc/sys/kernel/x") << "victim\n";
      if (fake_net) {
        if (::mount("tmpfs", "/proc/sys/net", "tmpfs", 0, "mode=0755") != 0)
          throw std::runtime_error(std::string("tmpfs on /proc/sys/net: ") + std::strerror(errno));
        fs::create_symlink(victim_ / "file", "/proc/sys/net/escape");
        fs::create_directory_symlink(victim_ / "dir", "/proc/sys/net/esc");
      }
      auto run = call("ADD", conf);
      kernel_after_ = content_of("/proc/sys/kernel/hostname") + content_of("/proc/sys/kernel/x");
      return run;
    });
    auto result = task.get_future();
    std::thread(std::move(task)).join();
    return result.get();
  }

  void expect_refused(const PluginRun& run, const std::string& named) {
    EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
    if (run.exit_code == 0) return;
    const auto error = run.json();
    EXPECT_EQ(error.value("code", 0), 7) << run.out;
    EXPECT_NE(error.value("msg", "").find(named), std::string::npos) << run.out;
    EXPECT_EQ(kernel_after_, "victim\nvictim\n") << "a key reached /proc/sys/kernel";
    EXPECT_EQ(content_of(victim_ / "file"), "victim\n");
    EXPECT_EQ(content_of(victim_ / "dir" / "x"), "victim\n");
    EXPECT_FALSE(fs::exists(backup_file())) << "a refused ADD left its backup";
    EXPECT_TRUE(netcore::net::find_link(ctr_nl(), kIfname)) << "the link is gone";
  }

  fs::path victim_;
  std::string kernel_after_;
};

TEST_F(SecuritySysctlTest, KeysOutsideNetAreRefused) {
  expect_refused(add_with_key("kernel.hostname"), "kernel/hostname");
  expect_refused(add_with_key("net/../kernel/hostname"), "kernel/hostname");
  expect_refused(add_with_key("net.ipv4.conf.eth0/../../../kernel/x"), "kernel/x");
  expect_refused(add_with_key(".."), "sysctl \"..\"");
  expect_refused(add_with_key("/proc/sys/kernel/hostname"), "kernel/hostname");
  expect_refused(add_with_key("/proc/sys/net/ipv4/ip_forward"), "ip_forward");
  using namespace std::string_literals;
  expect_refused(add_with_key("net.ipv4.ip_forward\0/../../kernel/x"s), "net.ipv4.ip_forward");
}

TEST_F(SecuritySysctlTest, KeyThroughASymlinkIsRefused) {
  expect_refused(add_with_key("net.escape", true), "net/escape");
  expect_refused(add_with_key("net.esc.x", true), "net/esc/x");
}

}  // namespace
}  // namespace security_sysctl_test
}  // namespace nsnet::testing
