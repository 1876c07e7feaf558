#include "netcore/proc/process.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "netcore/base/error.hpp"
#include "netcore/base/unique_fd.hpp"

namespace netcore::proc {
namespace {

using namespace std::chrono_literals;

RunRequest shell(const std::string& script, Environment env = {}) {
  return {.program = "/bin/sh", .args = {"-c", script}, .env = std::move(env)};
}

TEST(ProcessTest, PassesStdinEnvAndCollectsOutput) {
  auto request = shell("read line; echo \"out:$line:$GREETING\"; echo err >&2; exit 3",
                       {{"GREETING", "hello"}});
  request.input = "from-stdin\n";
  const auto result = run(request);
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_EQ(result.signal, 0);
  EXPECT_FALSE(result.succeeded());
  EXPECT_EQ(result.out, "out:from-stdin:hello\n");
  EXPECT_EQ(result.err, "err\n");
  EXPECT_EQ(result.describe(), "exit status 3");
}

TEST(ProcessTest, EnvironmentIsExactlyTheGivenOne) {
  ::setenv("NSNET_SHOULD_NOT_LEAK", "1", 1);
  const auto result = run(shell("env"));
  ::unsetenv("NSNET_SHOULD_NOT_LEAK");
  EXPECT_EQ(result.out.find("NSNET_SHOULD_NOT_LEAK"), std::string::npos) << result.out;
}

TEST(ProcessTest, LargeInputAndOutputDoNotDeadlock) {
  auto request = shell("cat");
  request.input.assign(4 << 20, 'x');
  const auto result = run(request);
  EXPECT_TRUE(result.succeeded());
  EXPECT_EQ(result.out.size(), request.input.size());
}

TEST(ProcessTest, TimeoutKillsTheChild) {
  auto request = shell("exec sleep 30");
  request.timeout = 100ms;
  const auto start = std::chrono::steady_clock::now();
  const auto result = run(request);
  EXPECT_TRUE(result.timed_out);
  EXPECT_EQ(result.signal, SIGKILL);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  EXPECT_EQ(result.describe(), "timed out");
}

TEST(ProcessTest, ChildInheritsOnlyStandardDescriptors) {
  // Even a descriptor opened without O_CLOEXEC (a netns fd, a lock) stays here.
  UniqueFd leaky(::open("/dev/null", O_RDONLY));
  ASSERT_TRUE(leaky.valid());
  UniqueFd high(::dup2(leaky.get(), 100));
  ASSERT_TRUE(high.valid());
  const auto result = run(shell("ls /proc/$$/fd"));  // the shell's own descriptors
  ASSERT_TRUE(result.succeeded()) << result.err;
  EXPECT_EQ(result.out, "0\n1\n2\n");
}

TEST(ProcessTest, MissingProgramIsAnErrorNamingIt) {
  try {
    (void)run({.program = "/nonexistent/plugin"});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(e.msg().find("/nonexistent/plugin"), std::string::npos) << e.msg();
  }
}

TEST(ProcessTest, CurrentEnvironmentReadsEnviron) {
  ::setenv("NSNET_UNIT_ENV", "v=1", 1);
  EXPECT_EQ(current_environment().at("NSNET_UNIT_ENV"), "v=1");
  ::unsetenv("NSNET_UNIT_ENV");
}

}  // namespace
}  // namespace netcore::proc
