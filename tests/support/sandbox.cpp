#include "support/sandbox.hpp"

#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>

#include "netcore/base/log.hpp"

namespace nsnet::testing {
namespace {

// Moves the whole test binary out of the machine's namespaces, while it is still
// single-threaded: a private mount namespace (so /run and /var/lib/cni below are ours alone), a
// fresh network namespace (so even a test that forgets its own netns touches nothing real) and
// a uts namespace (so no hostname the tests set is the machine's).
class SandboxEnvironment final : public ::testing::Environment {
 public:
  void SetUp() override {
    if (::geteuid() != 0) return;
    // A uts namespace too: a test of nsnet's --hostname must not rename the machine, even
    // when the launcher is wrong.
    ASSERT_EQ(::unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWUTS), 0) << std::strerror(errno);
    ASSERT_EQ(::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr), 0)
        << std::strerror(errno);
    // A tmpfs over /run rather than mkdir below it: creating anything there would touch the
    // machine's file system. Temporary files go to /run/tmp, so they vanish with the namespace
    // even if a test crashes. (Not over /tmp: the build tree may live there.)
    ASSERT_EQ(::mount("tmpfs", "/run", "tmpfs", 0, "mode=0755"), 0) << std::strerror(errno);
    ASSERT_EQ(::mkdir("/run/tmp", 01777), 0) << std::strerror(errno);
    ASSERT_EQ(::setenv("TMPDIR", "/run/tmp", 1), 0);
    // The CNI result cache (/var/lib/cni/results) and IPAM's default dataDir live here: ours
    // alone too. A tmpfs over /var/lib (with an empty cni inside) only when the machine has no
    // /var/lib/cni, for the same reason as /run.
    struct stat cni_dir {};
    if (::stat("/var/lib/cni", &cni_dir) == 0) {
      ASSERT_EQ(::mount("tmpfs", "/var/lib/cni", "tmpfs", 0, "mode=0755"), 0)
          << std::strerror(errno);
    } else {
      ASSERT_EQ(::mount("tmpfs", "/var/lib", "tmpfs", 0, "mode=0755"), 0) << std::strerror(errno);
      ASSERT_EQ(::mkdir("/var/lib/cni", 0755), 0) << std::strerror(errno);
    }
  }
};

}  // namespace

void SandboxTest::SetUp() {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  host_.emplace(netcore::net::Netns::create());
  container_.emplace(netcore::net::Netns::create());
}

void SandboxTest::TearDown() {
  container_.reset();
  host_.reset();
  if (!temp_dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(temp_dir_, ignored);
  }
}

std::string SandboxTest::unique_name(const std::string& prefix) const {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string full = std::string(info->test_suite_name()) + "." + info->name() + "." +
                           std::to_string(::getpid());
  char hash[16];
  std::snprintf(hash, sizeof hash, "%08zx", std::hash<std::string>{}(full) & 0xffffffffu);
  return (prefix + hash).substr(0, 15);
}

const std::filesystem::path& SandboxTest::temp_dir() {
  if (temp_dir_.empty()) {
    std::string templ = (std::filesystem::temp_directory_path() / "nsnet-test-XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr) ADD_FAILURE() << "mkdtemp: " << std::strerror(errno);
    temp_dir_ = templ;
  }
  return temp_dir_;
}

std::string run_in_netns(const netcore::net::Netns& netns, const std::string& command) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe: " << std::strerror(errno);
    return {};
  }
  const pid_t pid = ::fork();
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec.
    ::dup2(pipe_fds[1], STDOUT_FILENO);
    if (::setns(netns.fd(), CLONE_NEWNET) != 0) ::_exit(126);
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(pipe_fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "command failed: " << command;
  return out;
}

}  // namespace nsnet::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  netcore::setup_logging("test", "warn");
  ::testing::AddGlobalTestEnvironment(new nsnet::testing::SandboxEnvironment);
  return RUN_ALL_TESTS();
}
