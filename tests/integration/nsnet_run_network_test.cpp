// nsnet run's networks: the default network's address, route and data path, none, several
// networks, the container's /etc files, published ports; and that teardown restores host_ on
// every way a run can end (normal exit, signals to nsnet, the command killed, nsnet killed + gc).

#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <future>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "integration/nsnet_run_fixture.hpp"
#include "support/socket_probe.hpp"

namespace nsnet::testing {
namespace {

using nlohmann::json;

class NsnetRunNetworkTest : public NsnetRunTest {
 protected:
  // Runs `script` in a container on the given extra options; fails the test unless it exits 0.
  std::string run_script(std::vector<std::string> options, const std::string& script) {
    std::vector<std::string> args{"run"};
    args.insert(args.end(), options.begin(), options.end());
    args.insert(args.end(), {"--", "sh", "-c", script});
    const auto r = nsnet(args);
    EXPECT_EQ(r.status, 0) << r.err;
    return r.out;
  }

  // Whether host_'s nftables ruleset mentions `text`.
  bool ruleset_mentions(const std::string& text) {
    return run_in_netns(*host_, "nft -j list ruleset").find(text) != std::string::npos;
  }
};

// The IPv4 addresses of `ifname` in an `ip -j -4 addr show` listing.
std::vector<std::string> ipv4_of(const json& links, const std::string& ifname) {
  std::vector<std::string> out;
  for (const auto& link : links)
    if (link.value("ifname", "") == ifname)
      for (const auto& a : link.value("addr_info", json::array()))
        out.push_back(a.value("local", "") + "/" + std::to_string(a.value("prefixlen", 0)));
  return out;
}

TEST_F(NsnetRunNetworkTest, DefaultNetworkGivesEth0AnAddressAndADefaultRoute) {
  const auto lines =
      lines_of(run_script({}, "ip -j -4 addr show; echo; ip -j -4 route show default"));
  ASSERT_EQ(lines.size(), 2U);
  const auto addresses = ipv4_of(json::parse(lines[0]), "eth0");
  ASSERT_EQ(addresses.size(), 1U) << lines[0];
  EXPECT_TRUE(addresses[0].starts_with("10.88.")) << addresses[0];
  EXPECT_TRUE(addresses[0].ends_with("/16")) << addresses[0];
  const auto routes = json::parse(lines[1]);
  ASSERT_EQ(routes.size(), 1U) << lines[1];
  EXPECT_EQ(routes[0].value("gateway", ""), "10.88.0.1");
  EXPECT_EQ(routes[0].value("dev", ""), "eth0");
}

TEST_F(NsnetRunNetworkTest, TcpRoundTripToAServerInTheHostNetns) {
  constexpr std::uint16_t kPort = 18123;
  const auto listener = bound_socket(*host_, AF_INET, SOCK_STREAM, kPort);
  ASSERT_GE(listener.get(), 0) << std::strerror(errno);
  // The server: one connection, one line in, "got LINE" back.
  auto server = std::async(std::launch::async, [&]() -> std::string {
    if (!wait_readable(listener.get(), static_cast<int>(scaled(20s).count())))
      return "no connection";
    const netcore::UniqueFd conn(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (conn.get() < 0) return "accept failed";
    std::string line;
    char c;
    while (line.size() < 100 && wait_readable(conn.get(), 5000) && ::read(conn.get(), &c, 1) == 1 &&
           c != '\n')
      line += c;
    const std::string reply = "got " + line + "\n";
    (void)!::write(conn.get(), reply.data(), reply.size());
    return line;
  });
  const auto r = nsnet({"run", "--", "bash", "-c",
                        "exec 3<>/dev/tcp/10.88.0.1/" + std::to_string(kPort) +
                            "; echo hi >&3; read x <&3; echo $x"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "got hi\n");
  EXPECT_EQ(server.get(), "hi");
}

TEST_F(NsnetRunNetworkTest, ConcurrentRunsGetDistinctAddressesAndAllTearDown) {
  // The first ADD creates the bridge and the masquerade table: the runs race for both.
  std::vector<NsnetProcess> runs;
  for (int i = 0; i < 4; ++i)
    runs.push_back(start({"run", "--name", unique_name("c" + std::to_string(i)), "--", "sh", "-c",
                          "ip -4 -o addr show dev eth0 | awk '{print $4}'; sleep 1"}));
  std::set<std::string> addresses;
  for (auto& run : runs) {
    const auto r = run.wait(scaled(30s));
    EXPECT_EQ(r.status, 0) << r.err;
    addresses.insert(r.out);
  }
  EXPECT_EQ(addresses.size(), runs.size());
  EXPECT_TRUE(no_state());
  const auto after = wait_for_snapshot("");
  EXPECT_EQ(after.find("link veth"), std::string::npos) << after;
  EXPECT_EQ(after.find("/run/cni/networks/nsnet/10.88."), std::string::npos) << after;
}

TEST_F(NsnetRunNetworkTest, NetworkNoneHasOnlyLoopbackUp) {
  const auto links = json::parse(run_script({"--network", "none"}, "ip -j link show"));
  ASSERT_EQ(links.size(), 1U) << links.dump();
  EXPECT_EQ(links[0].value("ifname", ""), "lo");
  const auto flags = links[0].value("flags", std::vector<std::string>{});
  EXPECT_NE(std::find(flags.begin(), flags.end(), "UP"), flags.end()) << links[0].dump();
}

TEST_F(NsnetRunNetworkTest, TwoNetworksGiveEth0AndEth1) {
  const auto conflist = temp_dir() / "ptp.conflist";
  std::ofstream(conflist) << R"({"cniVersion": "1.1.0", "name": "nsnetptp", "plugins": [
      {"type": "ptp", "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.99.0.0/24"}]],
                               "dataDir": ")"
                          << (temp_dir() / "ipam").string() << R"("}}]})";
  const auto links = json::parse(
      run_script({"--network", "nsnet", "--network", conflist.string()}, "ip -j -4 addr show"));
  const auto eth0 = ipv4_of(links, "eth0");
  const auto eth1 = ipv4_of(links, "eth1");
  ASSERT_EQ(eth0.size(), 1U) << links.dump();
  ASSERT_EQ(eth1.size(), 1U) << links.dump();
  EXPECT_TRUE(eth0[0].starts_with("10.88.")) << eth0[0];
  EXPECT_TRUE(eth1[0].starts_with("10.99.0.")) << eth1[0];
}

TEST_F(NsnetRunNetworkTest, DnsOptionGoesToTheContainersResolvConfOnly) {
  const std::string host_resolv = file_text("/etc/resolv.conf");
  const std::string host_hosts = file_text("/etc/hosts");
  const auto out = run_script({"--dns", "192.0.2.53"}, "cat /etc/resolv.conf");
  EXPECT_NE(out.find("nameserver 192.0.2.53\n"), std::string::npos) << out;
  EXPECT_EQ(file_text("/etc/resolv.conf"), host_resolv);
  EXPECT_EQ(file_text("/etc/hosts"), host_hosts);
}

TEST_F(NsnetRunNetworkTest, EtcHostsNamesTheHostnameAtTheContainersAddress) {
  const std::string host_hosts = file_text("/etc/hosts");
  const auto lines =
      lines_of(run_script({"--hostname", "web1"}, "ip -j -4 addr show dev eth0; cat /etc/hosts"));
  ASSERT_GE(lines.size(), 2U);
  const auto addresses = ipv4_of(json::parse(lines[0]), "eth0");
  ASSERT_EQ(addresses.size(), 1U) << lines[0];
  const std::string ip = addresses[0].substr(0, addresses[0].find('/'));
  EXPECT_NE(std::find(lines.begin(), lines.end(), ip + "\tweb1"), lines.end())
      << "no '" << ip << "\\tweb1' line";
  EXPECT_EQ(file_text("/etc/hosts"), host_hosts);
}

TEST_F(NsnetRunNetworkTest, PublishedPortIsInTheRulesetWhileItRuns) {
  ASSERT_FALSE(ruleset_mentions("18080"));
  auto process = start({"run", "--name", unique_name("pub"), "--publish", "18080:80", "--", "sh",
                        "-c", "echo ready; exec sleep 100"});
  ASSERT_TRUE(process.wait_for_output("ready", scaled(20s))) << process.err();
  EXPECT_TRUE(ruleset_mentions("18080"));
  process.signal(SIGTERM);
  const auto r = process.wait(scaled(20s));
  EXPECT_EQ(r.status, 143) << r.err;
  EXPECT_FALSE(ruleset_mentions("18080"));
}

TEST_F(NsnetRunNetworkTest, PublishWithoutACniNetworkIs125) {
  const auto r = nsnet({"run", "--network", "none", "--publish", "18080:80", "--", "true"});
  EXPECT_EQ(r.status, 125);
  EXPECT_EQ(lines_of(r.err).size(), 1U) << r.err;
}

// Teardown: after each way a run ends, host_ and the state on disk are as before it.

TEST_F(NsnetRunNetworkTest, NormalExitRestoresTheBaseline) {
  const auto before = baseline();
  const auto r = nsnet({"run", "--name", unique_name("a"), "--", "ip", "link", "show", "eth0"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(wait_for_snapshot(before), before);
}

class NsnetRunSignalTest : public NsnetRunNetworkTest, public ::testing::WithParamInterface<int> {};

TEST_P(NsnetRunSignalTest, SignalToNsnetEndsTheCommandAndRestoresTheBaseline) {
  const auto before = baseline();
  auto process =
      start({"run", "--name", unique_name("sig"), "--", "sh", "-c", "echo ready; exec sleep 100"});
  ASSERT_TRUE(process.wait_for_output("ready", scaled(20s))) << process.err();
  EXPECT_NE(snapshot(), before) << "the run attached nothing";
  process.signal(GetParam());
  const auto r = process.wait(scaled(20s));
  EXPECT_EQ(r.status, 128 + GetParam()) << r.err;
  EXPECT_EQ(wait_for_snapshot(before), before);
}

INSTANTIATE_TEST_SUITE_P(TermAndInt, NsnetRunSignalTest, ::testing::Values(SIGTERM, SIGINT),
                         [](const auto& info) { return std::string(::sigabbrev_np(info.param)); });

TEST_F(NsnetRunNetworkTest, CommandKilledFromOutsideRestoresTheBaseline) {
  const auto before = baseline();
  const std::string id = unique_name("kill");
  auto process = start({"run", "--name", id, "--", "sleep", "100"});
  const auto state = wait_for_state(id);
  ASSERT_TRUE(state) << process.err();
  ASSERT_EQ(::kill(state->at("pid").get<pid_t>(), SIGKILL), 0) << std::strerror(errno);
  const auto r = process.wait(scaled(20s));
  EXPECT_EQ(r.status, 128 + SIGKILL) << r.err;
  EXPECT_EQ(wait_for_snapshot(before), before);
}

TEST_F(NsnetRunNetworkTest, KilledNsnetIsCleanedUpByGc) {
  const auto before = baseline();
  const std::string id = unique_name("gc");
  auto process = start({"run", "--name", id, "--", "sh", "-c", "echo ready; exec sleep 100"});
  ASSERT_TRUE(process.wait_for_output("ready", scaled(20s))) << process.err();
  process.signal(SIGKILL);
  EXPECT_EQ(process.wait(scaled(20s)).status, 128 + SIGKILL);
  EXPECT_TRUE(std::filesystem::exists(state_dir(id))) << "a killed nsnet leaves its state";
  const auto ps = nsnet({"ps"});
  EXPECT_NE(ps.out.find(" abandoned "), std::string::npos) << ps.out;
  EXPECT_EQ(nsnet({"exec", id, "--", "true"}).status, 125);
  const auto gc = nsnet({"gc"});
  EXPECT_EQ(gc.status, 0) << gc.err;
  EXPECT_NE(gc.out.find("removed " + id), std::string::npos) << gc.out;
  EXPECT_FALSE(std::filesystem::exists(state_dir(id)));
  EXPECT_EQ(wait_for_snapshot(before), before);
}

TEST_F(NsnetRunNetworkTest, PublishedPortOfAKilledNsnetIsRemovedByGc) {
  auto process = start({"run", "--name", unique_name("pgc"), "--publish", "18081:80", "--", "sh",
                        "-c", "echo ready; exec sleep 100"});
  ASSERT_TRUE(process.wait_for_output("ready", scaled(20s))) << process.err();
  EXPECT_TRUE(ruleset_mentions("18081"));
  process.signal(SIGKILL);
  EXPECT_EQ(process.wait(scaled(20s)).status, 128 + SIGKILL);
  const auto gc = nsnet({"gc"});
  EXPECT_EQ(gc.status, 0) << gc.err;
  EXPECT_FALSE(ruleset_mentions("18081"));
}

TEST_F(NsnetRunNetworkTest, CommandNotFoundOnTheDefaultNetworkRestoresTheBaseline) {
  const auto before = baseline();
  const auto r = nsnet({"run", "--name", unique_name("nf"), "--", "/nonexistent/nsnet-command"});
  EXPECT_EQ(r.status, 127) << r.err;
  EXPECT_EQ(wait_for_snapshot(before), before);
}

TEST_F(NsnetRunNetworkTest, FailedAddOfASecondNetworkUndoesTheFirst) {
  const auto before = baseline();
  const auto conflist = temp_dir() / "broken.conflist";
  std::ofstream(conflist)
      << R"({"cniVersion": "1.1.0", "name": "nsnetbroken", "plugins": [{"type": "nsnet-no-such-plugin"}]})";
  const auto r = nsnet({"run", "--name", unique_name("bad"), "--network", "nsnet", "--network",
                        conflist.string(), "--", "true"});
  EXPECT_EQ(r.status, 125);
  // The first line says why; the DEL that a failed ADD is owed (and that fails the same way)
  // may be reported after it.
  const auto lines = lines_of(r.err);
  ASSERT_FALSE(lines.empty());
  EXPECT_NE(lines[0].find("network nsnetbroken"), std::string::npos) << r.err;
  EXPECT_NE(lines[0].find("nsnet-no-such-plugin"), std::string::npos) << r.err;
  EXPECT_EQ(wait_for_snapshot(before), before);
}

TEST_F(NsnetRunNetworkTest, StopKillsACommandThatIgnoresSigterm) {
  const auto before = baseline();
  const std::string id = unique_name("ign");
  detached_.push_back(id);
  const auto run = nsnet({"run", "-d", "--name", id, "--", "sh", "-c", "trap '' TERM; sleep 100"});
  ASSERT_EQ(run.status, 0) << run.err;
  ASSERT_TRUE(wait_for_state(id));
  const auto started = std::chrono::steady_clock::now();
  const auto stop = nsnet({"stop", "-t", "1", id});
  EXPECT_EQ(stop.status, 0) << stop.err;
  EXPECT_GE(std::chrono::steady_clock::now() - started, 900ms) << "SIGTERM was not ignored";
  EXPECT_FALSE(std::filesystem::exists(state_dir(id)));
  EXPECT_EQ(wait_for_snapshot(before), before);
}

TEST_F(NsnetRunNetworkTest, SigtermWithoutAPidNamespaceReachesTheCommand) {
  auto process = start({"run", "-m", "-n", "--", "sh", "-c", "echo ready; exec sleep 100"});
  ASSERT_TRUE(process.wait_for_output("ready", scaled(20s))) << process.err();
  process.signal(SIGTERM);
  const auto r = process.wait(scaled(20s));
  EXPECT_EQ(r.status, 128 + SIGTERM) << r.err;
  EXPECT_TRUE(no_state());
}

}  // namespace
}  // namespace nsnet::testing
