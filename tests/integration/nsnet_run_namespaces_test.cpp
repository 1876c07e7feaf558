// nsnet run: which namespaces it creates, the ids, clocks and cgroup root inside them, and the
// exit status it reports. Each run is the built nsnet, started inside the test's host netns.

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "integration/nsnet_run_fixture.hpp"

namespace nsnet::testing {
namespace {

using NsnetRunNamespacesTest = NsnetRunTest;

std::string hostname_now() {
  char name[256] = {};
  ::gethostname(name, sizeof name - 1);
  return name;
}

TEST_F(NsnetRunNamespacesTest, DefaultSetIsEveryNamespaceButUserAndTime) {
  const auto r = nsnet({"run", "--", "sh", "-c", kPrintNamespaces});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto inside = parse_namespaces(r.out);
  ASSERT_EQ(inside.size(), kNamespaceNames.size()) << r.out;
  EXPECT_EQ(differing(inside), (std::set<std::string>{"mnt", "uts", "ipc", "net", "pid", "cgroup"}))
      << r.out;
  // As root: no user namespace, so root stays the machine's root.
  EXPECT_EQ(inside.at("user"), caller_namespaces().at("user"));
}

TEST_F(NsnetRunNamespacesTest, DefaultSetRunsTheCommandAsPid1WithAFreshProc) {
  const auto r = nsnet({"run", "--network", "none", "--", "sh", "-c",
                        "echo $$; ls /proc | grep -c '^[0-9][0-9]*$'"});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 2U) << r.out;
  EXPECT_EQ(lines[0], "1");
  // sh, ls and grep: the machine's processes are not in this /proc.
  EXPECT_LE(std::stoi(lines[1]), 4) << r.out;
}

TEST_F(NsnetRunNamespacesTest, HostNetworkKeepsTheCallersNetns) {
  const auto r = nsnet({"run", "-u", "--network", "host", "--", "sh", "-c", kPrintNamespaces});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(differing(parse_namespaces(r.out)), (std::set<std::string>{"uts"})) << r.out;
}

TEST_F(NsnetRunNamespacesTest, NetworkNoneCreatesOnlyANetns) {
  const auto r = nsnet({"run", "-n", "--network", "none", "--", "sh", "-c", kPrintNamespaces});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(differing(parse_namespaces(r.out)), (std::set<std::string>{"net"})) << r.out;
}

TEST_F(NsnetRunNamespacesTest, EachFlagAloneCreatesOnlyItsNamespace) {
  const std::pair<const char*, const char*> flags[] = {
      {"-m", "mnt"}, {"-u", "uts"},  {"-i", "ipc"},    {"-n", "net"},
      {"-p", "pid"}, {"-U", "user"}, {"-C", "cgroup"}, {"-T", "time"},
  };
  for (const auto& [flag, name] : flags) {
    SCOPED_TRACE(flag);
    const auto r = nsnet({"run", flag, "--", "sh", "-c", kPrintNamespaces});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(differing(parse_namespaces(r.out)), (std::set<std::string>{name})) << r.out;
  }
}

TEST_F(NsnetRunNamespacesTest, NetFileHoldsTheNetnsWhileItRuns) {
  const auto file = temp_dir() / "netns";
  const auto r = nsnet({"run", "--net=" + file.string(), "--network", "none", "--", "sh", "-c",
                        "readlink /proc/self/ns/net; stat -c %i " + file.string() +
                            "; stat -f -c %T " + file.string()});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 3U) << r.out;
  EXPECT_EQ(lines[0], "net:[" + lines[1] + "]") << "the file is the container's netns";
  EXPECT_EQ(lines[2], "nsfs");
  EXPECT_NE(lines[0], caller_namespaces().at("net"));
  EXPECT_FALSE(std::filesystem::exists(file)) << "nsnet removes the file it created";
}

TEST_F(NsnetRunNamespacesTest, HostnameIsSetInsideOnly) {
  const std::string before = hostname_now();
  const auto r = nsnet({"run", "--hostname", "box", "--network", "none", "--", "hostname"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "box\n");
  EXPECT_EQ(hostname_now(), before);
}

TEST_F(NsnetRunNamespacesTest, HostnameImpliesAUtsNamespace) {
  const std::string before = hostname_now();
  const auto r = nsnet({"run", "-m", "--network", "none", "--hostname", "box2", "--", "sh", "-c",
                        "hostname; " + kPrintNamespaces});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(r.out.starts_with("box2\n")) << r.out;
  EXPECT_EQ(differing(parse_namespaces(r.out.substr(r.out.find('\n') + 1))),
            (std::set<std::string>{"mnt", "net", "uts"}))
      << r.out;
  EXPECT_EQ(hostname_now(), before);
}

TEST_F(NsnetRunNamespacesTest, MapRootUserMapsRootToRoot) {
  const auto r =
      nsnet({"run", "-U", "-r", "--", "cat", "/proc/self/uid_map", "/proc/self/gid_map"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(squeeze(r.out), "0 0 1\n0 0 1");
}

TEST_F(NsnetRunNamespacesTest, MapUsersAndGroupsWriteTheRanges) {
  const auto r = nsnet({"run", "--map-users=100000,0,65536", "--map-groups=100000,0,65536", "--",
                        "cat", "/proc/self/uid_map", "/proc/self/gid_map"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(squeeze(r.out), "0 100000 65536\n0 100000 65536");
}

TEST_F(NsnetRunNamespacesTest, SetgroupsDenyIsWritten) {
  const auto r =
      nsnet({"run", "-U", "-r", "--setgroups", "deny", "--", "cat", "/proc/self/setgroups"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "deny\n");
}

TEST_F(NsnetRunNamespacesTest, BoottimeOffsetShowsInUptime) {
  const auto r = nsnet({"run", "-T", "--boottime", "86400", "--", "cat", "/proc/uptime"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_GE(std::stod(r.out), 86400.0) << r.out;
}

TEST_F(NsnetRunNamespacesTest, ClockOffsetWithoutTimeNamespaceIsRejected) {
  const auto r = nsnet({"run", "--monotonic", "10", "--", "true"});
  EXPECT_EQ(r.status, 125);
  EXPECT_EQ(lines_of(r.err).size(), 1U) << r.err;
  EXPECT_NE(r.err.find("--time"), std::string::npos) << r.err;
}

TEST_F(NsnetRunNamespacesTest, CgroupNamespaceIsRootedAtTheCommandsCgroup) {
  const auto r = nsnet({"run", "-C", "--", "cat", "/proc/self/cgroup"});
  ASSERT_EQ(r.status, 0) << r.err;
  // Every hierarchy (cgroup v2's "0::", and v1's where a machine still mounts them) is rooted.
  const auto lines = lines_of(r.out);
  EXPECT_NE(std::find(lines.begin(), lines.end(), "0::/"), lines.end()) << r.out;
  for (const auto& line : lines) EXPECT_TRUE(line.ends_with(":/")) << line;
}

TEST_F(NsnetRunNamespacesTest, ExitCodeIsTheCommands) {
  const auto r = nsnet({"run", "--network", "none", "--", "sh", "-c", "exit 7"});
  EXPECT_EQ(r.status, 7) << r.err;
}

TEST_F(NsnetRunNamespacesTest, CommandKilledBySignalReports128PlusIt) {
  // No pid namespace: sh is not an init, so its own SIGTERM kills it.
  const auto r = nsnet({"run", "-m", "--network", "none", "--", "sh", "-c", "kill -TERM $$"});
  EXPECT_EQ(r.status, 143) << r.err;
}

TEST_F(NsnetRunNamespacesTest, SignalThePidNamespaceInitIgnoresIsNotEscalated) {
  // sh is pid 1 and ignores SIGTERM: nsnet passes it on and leaves it at that. SIGHUP it
  // neither handles nor ignores, so the kernel would drop it for an init: nsnet kills instead.
  auto process = start({"run", "--network", "none", "--", "sh", "-c",
                        "trap '' TERM; echo ready; sleep 100; echo not-killed"});
  ASSERT_TRUE(process.wait_for_output("ready", scaled(20s))) << process.err();
  process.signal(SIGTERM);
  std::this_thread::sleep_for(scaled(500ms));
  EXPECT_FALSE(process.finished()) << "an ignored SIGTERM ended the container";
  process.signal(SIGHUP);
  const auto r = process.wait(scaled(20s));
  EXPECT_EQ(r.status, 128 + SIGHUP) << r.err;
  EXPECT_EQ(r.out, "ready\n");
}

TEST_F(NsnetRunNamespacesTest, SignalIgnoredWithoutAPidNamespaceIsNotEscalated) {
  // A time namespace alone also makes the command a grandchild of nsnet, but not an init.
  auto process =
      start({"run", "-T", "--", "sh", "-c", "trap '' TERM; echo ready; sleep 1; echo done"});
  ASSERT_TRUE(process.wait_for_output("ready", scaled(20s))) << process.err();
  process.signal(SIGTERM);
  const auto r = process.wait(scaled(20s));
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "ready\ndone\n");
}

TEST_F(NsnetRunNamespacesTest, CommandNotFoundIs127) {
  const auto r = nsnet({"run", "--network", "none", "--", "/nonexistent/nsnet-no-such-command"});
  EXPECT_EQ(r.status, 127);
  EXPECT_NE(r.err.find("nsnet-no-such-command"), std::string::npos) << r.err;
  EXPECT_TRUE(no_state()) << "state removed";
}

TEST_F(NsnetRunNamespacesTest, BadOptionIs125WithOneLine) {
  const auto r = nsnet({"run", "--no-such-option", "--", "true"});
  EXPECT_EQ(r.status, 125);
  ASSERT_EQ(lines_of(r.err).size(), 1U) << r.err;
  EXPECT_NE(r.err.find("--no-such-option"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

}  // namespace
}  // namespace nsnet::testing
