// Security defaults of a rootless `nsnet run` (issue 9, item 5), as the unprivileged user of
// nsnet_rootless_fixture.hpp: no id map reaches host uid/gid 0 (read from outside, in
// /proc/PID/{uid,gid}_map), "root" inside cannot write or chown a host-root-owned file, and
// slirp4netns runs sandboxed, with seccomp and without host loopback unless asked. What the maps
// look like from inside is in nsnet_run_rootless_test.cpp; reaching the host's loopback in
// nsnet_run_usermode_test.cpp (NsnetUserModeTest.HostLoopbackIsReachableOnlyWhenAllowed).

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <fstream>
#include <netcore/proc/daemon.hpp>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "integration/nsnet_rootless_fixture.hpp"

namespace nsnet::testing {
namespace security_rootless_test {
namespace {

struct IdRange {
  std::uint64_t inside = 0, outside = 0, count = 0;
};

// The ranges of /proc/PID/{uid,gid}_map as the test (in the initial user namespace) reads them:
// "outside" is a host id.
std::vector<IdRange> id_map_of(pid_t pid, const char* which) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/" + which);
  std::vector<IdRange> ranges;
  IdRange r;
  while (in >> r.inside >> r.outside >> r.count) ranges.push_back(r);
  return ranges;
}

bool covers_host_root(const std::vector<IdRange>& ranges) {
  for (const auto& r : ranges)
    if (r.outside == 0) return true;  // ids are unsigned: a range covers 0 only from 0
  return false;
}

std::vector<std::string> cmdline_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
  std::vector<std::string> args;
  std::string arg;
  while (std::getline(in, arg, '\0')) args.push_back(arg);
  return args;
}

bool has_arg(const std::vector<std::string>& args, const std::string& arg) {
  return std::find(args.begin(), args.end(), arg) != args.end();
}

class SecurityRootlessTest : public NsnetRootlessTest,
                             public ::testing::WithParamInterface<std::vector<std::string>> {
 protected:
  // `nsnet run` with this test's mapping options, then `tail` (none for the detached run).
  std::vector<std::string> run_args(std::vector<std::string> tail) const {
    std::vector<std::string> args = {"run", "--network", "none"};
    args.insert(args.end(), GetParam().begin(), GetParam().end());
    args.insert(args.end(), tail.begin(), tail.end());
    return args;
  }
};

TEST_P(SecurityRootlessTest, NoIdMapCoversHostRoot) {
  const std::string id = unique_name("map");
  const auto run = nsnet_as_user(run_args({"-d", "--name", id, "--", "sleep", "100"}));
  ASSERT_EQ(run.status, 0) << run.err;
  const auto state =
      nlohmann::json::parse(file_text(temp_dir() / "runtime" / "nsnet" / id / "state.json"));
  const pid_t pid = state.at("pid").get<pid_t>();
  ASSERT_GT(pid, 0);
  const auto uids = id_map_of(pid, "uid_map");
  const auto gids = id_map_of(pid, "gid_map");
  EXPECT_FALSE(uids.empty());
  EXPECT_FALSE(gids.empty());
  EXPECT_FALSE(covers_host_root(uids)) << file_text("/proc/" + std::to_string(pid) + "/uid_map");
  EXPECT_FALSE(covers_host_root(gids)) << file_text("/proc/" + std::to_string(pid) + "/gid_map");
  EXPECT_EQ(nsnet_as_user({"stop", "-t", "1", id}).status, 0);
}

TEST_P(SecurityRootlessTest, CannotWriteOrChownAHostRootFile) {
  // A directory the test made (root's, 0755) holding a root-owned 0644 file.
  const auto dir = temp_dir() / "root-owned";
  ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
  const auto file = dir / "file";
  std::ofstream(file) << "root's\n";
  ASSERT_EQ(::chmod(file.c_str(), 0644), 0);
  const std::string f = file.string();
  const auto r = nsnet_as_user(run_args(
      {"--", "sh", "-c",
       "id -u; echo x >> " + f + " && echo WROTE; echo y > " + f + " && echo TRUNCATED; chown " +
           "0:0 " + f + " && echo CHOWNED; chown 1:1 " + f + " && echo CHOWNED; chmod 0666 " + f +
           " && echo CHMODDED; rm -f " + f + " && echo REMOVED; true"}));
  ASSERT_EQ(r.status, 0) << r.err;
  for (const char* done : {"WROTE", "TRUNCATED", "CHOWNED", "CHMODDED", "REMOVED"})
    EXPECT_EQ(r.out.find(done), std::string::npos) << r.out;
  // Each attempt failed with EACCES or EPERM (sh and coreutils print strerror).
  EXPECT_NE(r.err.find("Permission denied"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Operation not permitted"), std::string::npos) << r.err;
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0U);
  EXPECT_EQ(st.st_gid, 0U);
  EXPECT_EQ(st.st_mode & 07777, 0644U);
  EXPECT_EQ(file_text(file), "root's\n");
}

INSTANTIATE_TEST_SUITE_P(
    SecurityIdMaps, SecurityRootlessTest,
    ::testing::Values(std::vector<std::string>{}, std::vector<std::string>{"--map-current-user"},
                      std::vector<std::string>{"--map-auto"},
                      std::vector<std::string>{"--map-auto", "--map-root-user"},
                      std::vector<std::string>{"--map-root-user"}),
    [](const auto& info) {
      std::string name;
      for (const auto& arg : info.param)
        for (const char c : arg)
          if (std::isalnum(static_cast<unsigned char>(c))) name += c;
      return name.empty() ? std::string("default") : name;
    });

class SecuritySlirpTest : public NsnetRootlessTest {
 protected:
  void SetUp() override {
    NsnetRootlessTest::SetUp();
    if (IsSkipped()) return;
    if (!netcore::proc::find_program("slirp4netns")) GTEST_SKIP() << "slirp4netns is not installed";
  }

  // The command line of the slirp4netns helper of a detached `nsnet run ARGS -- sleep 100`.
  std::vector<std::string> helper_cmdline(std::vector<std::string> args) {
    const std::string id = unique_name("sl" + std::to_string(runs_++));
    std::vector<std::string> call = {"run", "-d", "--name", id};
    call.insert(call.end(), args.begin(), args.end());
    call.insert(call.end(), {"--", "sleep", "100"});
    const auto run = nsnet_as_user(call);
    EXPECT_EQ(run.status, 0) << run.err;
    if (run.status != 0) return {};
    const auto state =
        nlohmann::json::parse(file_text(temp_dir() / "runtime" / "nsnet" / id / "state.json"));
    const auto& helper = state.at("helper");
    EXPECT_EQ(helper.at("program"), "slirp4netns");
    auto cmdline = cmdline_of(helper.at("pid").get<pid_t>());
    EXPECT_EQ(nsnet_as_user({"stop", "-t", "1", id}).status, 0);
    return cmdline;
  }
  int runs_ = 0;
};

TEST_F(SecuritySlirpTest, SandboxSeccompAndNoHostLoopbackByDefault) {
  const auto args = helper_cmdline({});
  ASSERT_FALSE(args.empty());
  std::string text;
  for (const auto& a : args) text += a + " ";
  EXPECT_TRUE(has_arg(args, "--enable-sandbox")) << text;
  EXPECT_TRUE(has_arg(args, "--enable-seccomp")) << text;
  EXPECT_TRUE(has_arg(args, "--disable-host-loopback")) << text;
}

// Asking for the host's loopback drops only that flag (reachability itself:
// NsnetUserModeTest.HostLoopbackIsReachableOnlyWhenAllowed).
TEST_F(SecuritySlirpTest, AllowHostLoopbackKeepsSandboxAndSeccomp) {
  const auto args = helper_cmdline({"--network", "slirp4netns:allow_host_loopback=true"});
  ASSERT_FALSE(args.empty());
  std::string text;
  for (const auto& a : args) text += a + " ";
  EXPECT_TRUE(has_arg(args, "--enable-sandbox")) << text;
  EXPECT_TRUE(has_arg(args, "--enable-seccomp")) << text;
  EXPECT_FALSE(has_arg(args, "--disable-host-loopback")) << text;
}

// The one exception to the sandbox: slirp4netns's --enable-sandbox needs uid/gid 0 in the user
// namespace it joins, so with --map-current-user nsnet leaves it out unless it was asked for
// (then the run fails: UserModeNetwork::start). Seccomp and the loopback stay as by default.
TEST_F(SecuritySlirpTest, MapCurrentUserKeepsSeccompAndNoHostLoopback) {
  const auto args = helper_cmdline({"--map-current-user"});
  ASSERT_FALSE(args.empty());
  std::string text;
  for (const auto& a : args) text += a + " ";
  EXPECT_TRUE(has_arg(args, "--enable-seccomp")) << text;
  EXPECT_TRUE(has_arg(args, "--disable-host-loopback")) << text;
  EXPECT_FALSE(has_arg(args, "--enable-sandbox")) << text;
}

}  // namespace
}  // namespace security_rootless_test
}  // namespace nsnet::testing
