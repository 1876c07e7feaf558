#pragma once

// The fixture of the tests that run nsnet as an unprivileged user: the test makes the user for
// its nsnet process alone — modified copies of /etc/passwd, /etc/group, /etc/subuid and
// /etc/subgid bound over the real ones in a mount namespace made for that process (nothing on
// the machine changes) — and runs nsnet with its uid and gid and no capabilities.

#include <grp.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "integration/nsnet_run_fixture.hpp"

namespace nsnet::testing {

constexpr uid_t kUid = 54321;
constexpr gid_t kGid = 54321;

// Whether the test's user may create a user namespace (some distributions forbid it to
// unprivileged users). Only syscalls between fork and _exit.
inline bool user_namespaces_allowed() {
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
    const auto tun = dir / "tun";
    if (::mknod(tun.c_str(), S_IFCHR | 0666, ::makedev(10, 200)) == 0 &&
        ::chmod(tun.c_str(), 0666) == 0)
      tun_copy_ = tun;
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
    // A normal Debian has /dev/net/tun 0666; where it is 0600 the user gets a 0666 node of its
    // own, in its mount namespace only (slirp4netns opens it for the container's tap).
    if (!tun_copy_.empty()) call.bind_mounts.emplace_back(tun_copy_, "/dev/net/tun");
    return run_nsnet(*host_, call, scaled(30s));
  }

  std::filesystem::path tun_copy_;
};

}  // namespace nsnet::testing
