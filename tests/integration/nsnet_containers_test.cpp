// nsnet run --detach and the verbs around a running container: ps, exec, stop; one name, one
// container.

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "integration/nsnet_run_fixture.hpp"

namespace nsnet::testing {
namespace {

using nlohmann::json;
using NsnetContainersTest = NsnetRunTest;

std::string namespace_of(pid_t pid, const std::string& name) {
  std::error_code ec;
  return std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/ns/" + name, ec).string();
}

TEST_F(NsnetContainersTest, DetachedContainerIsListedJoinedAndStopped) {
  const auto before = baseline();
  const std::string id = unique_name("det");
  detached_.push_back(id);
  const auto run = nsnet({"run", "-d", "--name", id, "--", "sleep", "100"});
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_EQ(run.out, id + "\n");
  const auto state = wait_for_state(id);
  ASSERT_TRUE(state);
  const auto pid = state->at("pid").get<pid_t>();

  const auto ps = nsnet({"ps"});
  ASSERT_EQ(ps.status, 0) << ps.err;
  const auto rows = lines_of(ps.out);
  const auto row = std::find_if(rows.begin(), rows.end(), [&](const std::string& line) {
    return line.starts_with(id + " ");
  });
  ASSERT_NE(row, rows.end()) << ps.out;
  EXPECT_NE(row->find(" running "), std::string::npos) << *row;

  const auto ps_json = nsnet({"ps", "--json"});
  ASSERT_EQ(ps_json.status, 0) << ps_json.err;
  const auto all = json::parse(ps_json.out, nullptr, false);
  ASSERT_TRUE(all.is_array()) << ps_json.out;
  const auto entry =
      std::find_if(all.begin(), all.end(), [&](const json& j) { return j.value("id", "") == id; });
  ASSERT_NE(entry, all.end()) << ps_json.out;
  EXPECT_EQ(entry->value("status", ""), "running");
  EXPECT_EQ(entry->value("pid", 0), pid);

  const auto net = nsnet({"exec", id, "--", "readlink", "/proc/self/ns/net"});
  ASSERT_EQ(net.status, 0) << net.err;
  EXPECT_EQ(net.out, namespace_of(pid, "net") + "\n");
  EXPECT_NE(net.out, caller_namespaces().at("net") + "\n");

  // In the container's pid namespace, as a process of its own (sleep is its pid 1).
  const auto sh = nsnet({"exec", id, "--", "sh", "-c", "echo $$; readlink /proc/self/ns/pid"});
  ASSERT_EQ(sh.status, 0) << sh.err;
  const auto lines = lines_of(sh.out);
  ASSERT_EQ(lines.size(), 2U) << sh.out;
  EXPECT_NE(lines[0], "1");
  EXPECT_EQ(lines[1], namespace_of(pid, "pid"));

  const auto again = nsnet({"run", "--name", id, "--", "true"});
  EXPECT_EQ(again.status, 125);
  EXPECT_NE(again.err.find("exists"), std::string::npos) << again.err;
  EXPECT_EQ(lines_of(again.err).size(), 1U) << again.err;

  const auto stop = nsnet({"stop", id});
  EXPECT_EQ(stop.status, 0) << stop.err;
  EXPECT_FALSE(std::filesystem::exists(state_dir(id)));
  EXPECT_EQ(wait_for_snapshot(before), before);
}

TEST_F(NsnetContainersTest, GcLeavesARunningContainerAlone) {
  const std::string id = unique_name("live");
  detached_.push_back(id);
  const auto run =
      nsnet({"run", "-d", "--name", id, "--publish", "18082:80", "--", "sleep", "100"});
  ASSERT_EQ(run.status, 0) << run.err;
  ASSERT_TRUE(wait_for_state(id));
  const auto before = snapshot();
  const auto gc = nsnet({"gc"});
  EXPECT_EQ(gc.status, 0) << gc.err;
  EXPECT_EQ(gc.out, "");
  EXPECT_EQ(snapshot(), before);
  const auto inside = nsnet({"exec", id, "--", "ip", "-4", "-o", "addr", "show", "dev", "eth0"});
  EXPECT_EQ(inside.status, 0) << inside.err;
  EXPECT_NE(inside.out.find("10.88."), std::string::npos) << inside.out;
  // The command's own exit status comes back through exec.
  EXPECT_EQ(nsnet({"exec", id, "--", "sh", "-c", "exit 3"}).status, 3);
  EXPECT_EQ(nsnet({"stop", id}).status, 0);
}

TEST_F(NsnetContainersTest, GcDeletesACachedAttachmentWhoseProcessHasEnded) {
  // What a reboot leaves (/run emptied, the result cache kept), made by killing a detached
  // container's supervisor and removing its state.
  const auto before = baseline();
  const std::string id = unique_name("orph");
  const auto run = nsnet({"run", "-d", "--name", id, "--", "sleep", "100"});
  ASSERT_EQ(run.status, 0) << run.err;
  const auto state = wait_for_state(id);
  ASSERT_TRUE(state);
  const auto netns = state->at("netns").get<std::string>();
  ASSERT_EQ(::kill(state->at("supervisorPid").get<pid_t>(), SIGKILL), 0);
  // The container follows its supervisor (PDEATHSIG); its processes may stay zombies, but
  // their namespaces are released.
  const auto deadline = std::chrono::steady_clock::now() + scaled(5s);
  while (std::filesystem::exists(netns) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  ASSERT_FALSE(std::filesystem::exists(netns));
  std::filesystem::remove_all(state_dir(id));
  ASSERT_TRUE(std::filesystem::exists("/var/lib/cni/results/nsnet-" + id + "-eth0"));

  const auto gc = nsnet({"gc"});
  EXPECT_EQ(gc.status, 0) << gc.err;
  EXPECT_NE(gc.out.find("removed " + id + " (nsnet, eth0)"), std::string::npos)
      << gc.out << gc.err;
  EXPECT_EQ(wait_for_snapshot(before), before);
}

TEST_F(NsnetContainersTest, ExecIntoAMissingContainerIs125) {
  const auto r = nsnet({"exec", unique_name("none"), "--", "true"});
  EXPECT_EQ(r.status, 125);
  EXPECT_EQ(lines_of(r.err).size(), 1U) << r.err;
}

}  // namespace
}  // namespace nsnet::testing
