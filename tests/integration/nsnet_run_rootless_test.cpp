// nsnet run as an unprivileged user: the test makes the user for its nsnet process alone —
// modified copies of /etc/passwd, /etc/group, /etc/subuid and /etc/subgid bound over the real
// ones in a mount namespace made for that process (nothing on the machine changes) — and runs
// nsnet with its uid and gid and no capabilities.

#include <grp.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "integration/nsnet_run_fixture.hpp"

namespace nsnet::testing {
namespace {

constexpr uid_t kUid = 54321;
constexpr gid_t kGid = 54321;

// Whether the test's user may create a user namespace (some distributions forbid it to
// unprivileged users). Only syscalls between fork and _exit.
bool user_namespaces_allowed() {
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (::setgroups(0, nullptr) != 0 || ::setresgid(kGid, kGid, kGid) != 0 ||
        ::setresuid(kUid, kUid, kUid) != 0)
      ::_exit(2);
    ::_exit(::unshare(CLONE_NEWUSER) == 0 ? 0 : 1);
  }
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) != pid) return false;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

class NsnetRootlessTest : public NsnetRunTest {
 protected:
  void SetUp() override {
    NsnetRunTest::SetUp();
    if (IsSkipped()) return;
    for (const char* file : {"/etc/passwd", "/etc/group", "/etc/subuid", "/etc/subgid"})
      if (!std::filesystem::exists(file))
        GTEST_SKIP() << file << " is missing: nothing to bind over";
    if (::access("/usr/bin/newuidmap", X_OK) != 0) GTEST_SKIP() << "newuidmap (uidmap) is missing";
    if (!user_namespaces_allowed())
      GTEST_SKIP() << "unprivileged users may not create user namespaces here";
    const auto& dir = temp_dir();
    ASSERT_EQ(::chmod(dir.c_str(), 0755), 0);  // the user must reach its files below
    std::ofstream(dir / "passwd") << file_text("/etc/passwd")
                                  << "nsnettest:x:54321:54321::/nonexistent:/bin/sh\n";
    std::ofstream(dir / "group") << file_text("/etc/group") << "nsnettest:x:54321:\n";
    std::ofstream(dir / "subuid") << "nsnettest:200000:65536\n";
    std::ofstream(dir / "subgid") << "nsnettest:200000:65536\n";
    for (const char* owned : {"runtime", "shared"}) {
      ASSERT_EQ(::mkdir((dir / owned).c_str(), 0700), 0);
      ASSERT_EQ(::chown((dir / owned).c_str(), kUid, kGid), 0);
    }
  }

  void TearDown() override {
    // A failed test may leave a detached container of the user's running.
    std::vector<std::string> ids;
    std::error_code ec;
    for (const auto& entry :
         std::filesystem::directory_iterator(temp_dir() / "runtime" / "nsnet", ec))
      ids.push_back(entry.path().filename().string());
    for (const auto& id : ids) (void)nsnet_as_user({"stop", "-t", "1", id});
    NsnetRunTest::TearDown();
  }

  // nsnet as user nsnettest, in host_.
  CliResult nsnet_as_user(std::vector<std::string> args) {
    Invocation call = invocation(std::move(args));
    call.credentials = std::make_pair(kUid, kGid);
    for (const char* file : {"passwd", "group", "subuid", "subgid"})
      call.bind_mounts.emplace_back(temp_dir() / file, std::filesystem::path("/etc") / file);
    call.env["XDG_RUNTIME_DIR"] = (temp_dir() / "runtime").string();
    call.env["HOME"] = (temp_dir() / "shared").string();
    call.env["USER"] = call.env["LOGNAME"] = "nsnettest";
    return run_nsnet(*host_, call, scaled(30s));
  }
};

TEST_F(NsnetRootlessTest, DefaultRunMapsTheUserToRoot) {
  const auto r = nsnet_as_user({"run", "--", "sh", "-c", "id -u; cat /proc/self/uid_map"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(squeeze(r.out), "0\n0 54321 1");
  // The state lived under $XDG_RUNTIME_DIR/nsnet, and is gone.
  EXPECT_TRUE(std::filesystem::exists(temp_dir() / "runtime" / "nsnet"));
  EXPECT_TRUE(std::filesystem::is_empty(temp_dir() / "runtime" / "nsnet"));
}

TEST_F(NsnetRootlessTest, MapCurrentUserKeepsTheUid) {
  const auto r = nsnet_as_user({"run", "--map-current-user", "--", "id", "-u"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "54321\n");
}

TEST_F(NsnetRootlessTest, MapAutoMapsTheSubordinateRanges) {
  const auto r =
      nsnet_as_user({"run", "--map-auto", "--", "cat", "/proc/self/uid_map", "/proc/self/gid_map"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(squeeze(r.out), "0 200000 65536\n0 200000 65536");
}

TEST_F(NsnetRootlessTest, MapAutoWithMapRootUserPutsTheUserAtZero) {
  const auto r = nsnet_as_user({"run", "--map-auto", "--map-root-user", "--", "cat",
                                "/proc/self/uid_map", "/proc/self/gid_map"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(squeeze(r.out), "0 54321 1\n1 200000 65535\n0 54321 1\n1 200000 65535");
}

TEST_F(NsnetRootlessTest, FileCreatedAsRootInsideBelongsToTheUserOutside) {
  const auto file = temp_dir() / "shared" / "made-inside";
  const auto r = nsnet_as_user({"run", "--", "sh", "-c", "id -u; touch " + file.string()});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "0\n");
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0) << std::strerror(errno);
  EXPECT_EQ(st.st_uid, kUid);
  EXPECT_EQ(st.st_gid, kGid);
}

TEST_F(NsnetRootlessTest, CniNetworkAsUserIs125) {
  const auto r = nsnet_as_user({"run", "--network", "nsnet", "--", "true"});
  EXPECT_EQ(r.status, 125);
  ASSERT_EQ(lines_of(r.err).size(), 1U) << r.err;
  EXPECT_NE(r.err.find("root"), std::string::npos) << r.err;
}

TEST_F(NsnetRootlessTest, DetachedContainerCanBeListedJoinedAndStopped) {
  const std::string id = unique_name("rl");
  const auto run = nsnet_as_user({"run", "-d", "--name", id, "--", "sleep", "100"});
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_EQ(run.out, id + "\n");
  const auto state_dir = temp_dir() / "runtime" / "nsnet" / id;
  EXPECT_TRUE(std::filesystem::exists(state_dir / "state.json"));

  const auto ps = nsnet_as_user({"ps"});
  EXPECT_EQ(ps.status, 0) << ps.err;
  EXPECT_NE(ps.out.find(id + " "), std::string::npos) << ps.out;
  EXPECT_NE(ps.out.find(" running "), std::string::npos) << ps.out;

  const auto exec = nsnet_as_user({"exec", id, "--", "sh", "-c", "id -u; cat /proc/self/uid_map"});
  EXPECT_EQ(exec.status, 0) << exec.err;
  EXPECT_EQ(squeeze(exec.out), "0\n0 54321 1");

  const auto stop = nsnet_as_user({"stop", "-t", "5", id});
  EXPECT_EQ(stop.status, 0) << stop.err;
  EXPECT_FALSE(std::filesystem::exists(state_dir));
}

}  // namespace
}  // namespace nsnet::testing
