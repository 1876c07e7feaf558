#include <gtest/gtest.h>
#include <sys/socket.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "lab/probe.hpp"
#include "netcore/base/error.hpp"
#include "netcore/net/address.hpp"
#include "netcore/net/link.hpp"
#include "netcore/net/netlink.hpp"
#include "netcore/net/route.hpp"
#include "netcore/net/sysctl.hpp"
#include "support/sandbox.hpp"
#include "support/socket_probe.hpp"

// Every probe goes to an address inside a namespace the test made: nothing leaves the sandbox.
namespace nsnet::lab {
namespace {

using netcore::net::Netlink;
using netcore::net::Netns;
using netcore::net::parse_ip_address;
using netcore::net::Prefix;

std::size_t probe_test_count_entries(const char* dir) {
  std::size_t count = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir)) ++count;
  return count;
}

void probe_test_ignore_echo(const Netns& netns) {
  netns.run([] {
    netcore::net::write_sysctl("net/ipv4/icmp_echo_ignore_all", "1");
    netcore::net::write_sysctl("net/ipv6/icmp/echo_ignore_all", "1");
  });
}

// host_ and container_ joined by a veth: 10.77.0.1/24 + fd77::1/64 in host_, .2 and ::2 in
// container_ (nodad, so usable at once). A third namespace, `island_`, holds 10.78.0.1/24 and
// fd78::1/64 on a veth of its own: nothing routes there.
class LabProbeTest : public nsnet::testing::SandboxTest {
 protected:
  void SetUp() override {
    SandboxTest::SetUp();
    if (IsSkipped()) return;
    const Netlink host_nl = host_->run([] { return Netlink::connect(); });
    const Netlink container_nl = container_->run([] { return Netlink::connect(); });
    const auto peer_name = unique_name("pc");
    const auto link = netcore::net::create_veth(
        host_nl, {.name = unique_name("ph"), .peer_name = peer_name, .peer_netns = &*container_});
    const auto peer = netcore::net::get_link(container_nl, peer_name);
    configure(host_nl, link.index, "10.77.0.1/24", "fd77::1/64");
    configure(container_nl, peer.index, "10.77.0.2/24", "fd77::2/64");

    island_.emplace(Netns::create());
    const Netlink island_nl = island_->run([] { return Netlink::connect(); });
    const auto island_link = netcore::net::create_veth(
        island_nl, {.name = unique_name("pi"), .peer_name = unique_name("pj")});
    configure(island_nl, island_link.index, "10.78.0.1/24", "fd78::1/64");

    // For a few hundred ms after a veth comes up, IPv6 neighbour discovery loses the first
    // packet (seen with plain sockets too); TCP would only retransmit its SYN after 1 s. The
    // echo probes resend, and resolve the neighbours both ways for the tests' short timeouts.
    const auto ready =
        run_probes({icmp(*host_, "10.77.0.2"), icmp(*host_, "fd77::2"),
                    icmp(*container_, "10.77.0.1"), icmp(*container_, "fd77::1")},
                   {.timeout = std::chrono::seconds(3), .resend = std::chrono::milliseconds(50)});
    for (const auto& outcome : ready) ASSERT_TRUE(outcome.reached) << outcome.detail;
  }
  void TearDown() override {
    island_.reset();
    SandboxTest::TearDown();
  }

  static void configure(const Netlink& nl, int index, const std::string& v4,
                        const std::string& v6) {
    netcore::net::add_address(nl, index, Prefix::parse(v4));
    netcore::net::add_address(nl, index, Prefix::parse(v6), {.nodad = true});
    netcore::net::set_up(nl, index);
  }

  static Probe icmp(const Netns& from, const std::string& to) {
    return {.from = &from, .to = parse_ip_address(to)};
  }
  static Probe stream(Proto proto, const Netns& from, const std::string& to, std::uint16_t port,
                      const Netns* target) {
    return {
        .from = &from, .to = parse_ip_address(to), .target = target, .proto = proto, .port = port};
  }

  static constexpr ProbeOptions kShort{.timeout = std::chrono::milliseconds(500),
                                       .resend = std::chrono::milliseconds(100)};

  std::optional<Netns> island_;
};

TEST_F(LabProbeTest, IcmpReachesBothFamiliesAcrossAVeth) {
  const auto outcomes = run_probes({icmp(*host_, "10.77.0.2"), icmp(*host_, "fd77::2"),
                                    icmp(*container_, "10.77.0.1"), icmp(*container_, "fd77::1")});
  ASSERT_EQ(outcomes.size(), 4u);
  for (const auto& outcome : outcomes) {
    EXPECT_TRUE(outcome.reached) << outcome.detail;
    EXPECT_EQ(outcome.detail, "");
    EXPECT_GT(outcome.rtt.count(), 0);
  }
}

TEST_F(LabProbeTest, IcmpWithoutARouteIsNetworkUnreachable) {
  // The island's addresses exist, but host_ has no route to them: nothing is sent.
  const auto outcomes = run_probes({icmp(*host_, "10.78.0.1"), icmp(*host_, "fd78::1")}, kShort);
  ASSERT_EQ(outcomes.size(), 2u);
  for (const auto& outcome : outcomes) {
    EXPECT_FALSE(outcome.reached);
    EXPECT_EQ(outcome.detail, "network unreachable");
    EXPECT_EQ(outcome.rtt.count(), 0);
  }
}

TEST_F(LabProbeTest, IcmpErrorFromARouterEndsTheProbe) {
  // host_ routes the island's prefixes through container_, which forwards but has no route
  // there: it answers with destination unreachable (no route), quoting our echo request.
  container_->run([] {
    netcore::net::write_sysctl("net/ipv4/ip_forward", "1");
    netcore::net::write_sysctl("net/ipv6/conf/all/forwarding", "1");
  });
  const Netlink host_nl = host_->run([] { return Netlink::connect(); });
  netcore::net::add_route(
      host_nl, {.dst = Prefix::parse("10.78.0.0/24"), .gateway = parse_ip_address("10.77.0.2")});
  netcore::net::add_route(
      host_nl, {.dst = Prefix::parse("fd78::/64"), .gateway = parse_ip_address("fd77::2")});
  const auto outcomes = run_probes({icmp(*host_, "10.78.0.1"), icmp(*host_, "fd78::1")});
  ASSERT_EQ(outcomes.size(), 2u);
  for (const auto& outcome : outcomes) {
    EXPECT_FALSE(outcome.reached);
    EXPECT_EQ(outcome.detail, "network unreachable");
  }
}

TEST_F(LabProbeTest, IcmpDroppedTimesOutWhileOthersInTheBatchAreReached) {
  probe_test_ignore_echo(*container_);
  const auto outcomes = run_probes({icmp(*host_, "10.77.0.2"), icmp(*host_, "fd77::2"),
                                    icmp(*container_, "10.77.0.1"), icmp(*container_, "fd77::1")},
                                   kShort);
  ASSERT_EQ(outcomes.size(), 4u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_FALSE(outcomes[i].reached) << i;
    EXPECT_EQ(outcomes[i].detail, "timeout") << i;
  }
  for (std::size_t i = 2; i < 4; ++i) EXPECT_TRUE(outcomes[i].reached) << outcomes[i].detail;
}

TEST_F(LabProbeTest, TcpReachesAListenerMadeOnTheTarget) {
  const auto outcomes = run_probes({stream(Proto::kTcp, *host_, "10.77.0.2", 8080, &*container_),
                                    stream(Proto::kTcp, *host_, "fd77::2", 8080, &*container_),
                                    // two probes to one listener share it
                                    stream(Proto::kTcp, *host_, "10.77.0.2", 8080, &*container_),
                                    stream(Proto::kTcp, *container_, "10.77.0.1", 80, &*host_)});
  ASSERT_EQ(outcomes.size(), 4u);
  for (const auto& outcome : outcomes) {
    EXPECT_TRUE(outcome.reached) << outcome.detail;
    EXPECT_GT(outcome.rtt.count(), 0);
  }
}

TEST_F(LabProbeTest, TcpToAnExistingListenerConnectsToIt) {
  // Something already listens on the port (wildcard address): the engine's own bind gets
  // EADDRINUSE and the probe connects to that listener.
  const auto listener = nsnet::testing::bound_socket(*container_, AF_INET, SOCK_STREAM, 8081);
  ASSERT_TRUE(listener.valid());
  const auto outcomes =
      run_probes({stream(Proto::kTcp, *host_, "10.77.0.2", 8081, &*container_)}, kShort);
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_TRUE(outcomes[0].reached) << outcomes[0].detail;
  EXPECT_TRUE(nsnet::testing::wait_readable(listener.get(), 0));  // the connection came here
}

TEST_F(LabProbeTest, TcpWithoutListenerIsRefused) {
  const auto outcomes = run_probes({stream(Proto::kTcp, *host_, "10.77.0.2", 8082, nullptr),
                                    stream(Proto::kTcp, *host_, "fd77::2", 8082, nullptr)},
                                   kShort);
  ASSERT_EQ(outcomes.size(), 2u);
  for (const auto& outcome : outcomes) {
    EXPECT_FALSE(outcome.reached);
    EXPECT_EQ(outcome.detail, "connection refused");
  }
}

TEST_F(LabProbeTest, TcpWithoutARouteIsNetworkUnreachable) {
  const auto outcomes =
      run_probes({stream(Proto::kTcp, *host_, "10.78.0.1", 8083, &*island_)}, kShort);
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_FALSE(outcomes[0].reached);
  EXPECT_EQ(outcomes[0].detail, "network unreachable");
}

TEST_F(LabProbeTest, UdpReachesAnEchoListenerMadeOnTheTarget) {
  const auto outcomes = run_probes({stream(Proto::kUdp, *host_, "10.77.0.2", 5353, &*container_),
                                    stream(Proto::kUdp, *host_, "fd77::2", 5353, &*container_),
                                    stream(Proto::kUdp, *container_, "fd77::1", 53, &*host_)});
  ASSERT_EQ(outcomes.size(), 3u);
  for (const auto& outcome : outcomes) {
    EXPECT_TRUE(outcome.reached) << outcome.detail;
    EXPECT_GT(outcome.rtt.count(), 0);
  }
}

TEST_F(LabProbeTest, UdpWithoutListenerIsRefused) {
  const auto outcomes = run_probes({stream(Proto::kUdp, *host_, "10.77.0.2", 5354, nullptr),
                                    stream(Proto::kUdp, *host_, "fd77::2", 5354, nullptr)},
                                   kShort);
  ASSERT_EQ(outcomes.size(), 2u);
  for (const auto& outcome : outcomes) {
    EXPECT_FALSE(outcome.reached);
    EXPECT_EQ(outcome.detail, "connection refused");
  }
}

TEST_F(LabProbeTest, UdpToASilentPortTimesOut) {
  // Something holds the port but never answers: the engine cannot bind its echo listener.
  const auto silent = nsnet::testing::bound_socket(*container_, AF_INET6, SOCK_DGRAM, 5355);
  ASSERT_TRUE(silent.valid());
  const auto outcomes =
      run_probes({stream(Proto::kUdp, *host_, "fd77::2", 5355, &*container_)}, kShort);
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_FALSE(outcomes[0].reached);
  EXPECT_EQ(outcomes[0].detail, "timeout");
}

TEST_F(LabProbeTest, MoreStreamProbesThanSlotsAllRun) {
  std::vector<Probe> probes;
  for (std::uint16_t port = 9000; port < 9040; ++port) {
    probes.push_back(stream(Proto::kTcp, *host_, "10.77.0.2", port, &*container_));
    probes.push_back(stream(Proto::kUdp, *container_, "fd77::1", port, &*host_));
  }
  probes.push_back(stream(Proto::kTcp, *host_, "10.77.0.2", 9100, nullptr));  // refused
  auto options = kShort;
  options.max_in_flight = 8;
  const auto outcomes = run_probes(probes, options);
  ASSERT_EQ(outcomes.size(), probes.size());
  for (std::size_t i = 0; i + 1 < probes.size(); ++i)
    EXPECT_TRUE(outcomes[i].reached) << i << ": " << outcomes[i].detail;
  EXPECT_EQ(outcomes.back().detail, "connection refused");
}

TEST_F(LabProbeTest, LeavesNoFdOrThreadBehind) {
  const std::size_t fds = probe_test_count_entries("/proc/self/fd");
  const std::size_t threads = probe_test_count_entries("/proc/self/task");
  const auto outcomes = run_probes({icmp(*host_, "10.77.0.2"), icmp(*host_, "fd78::1"),
                                    stream(Proto::kTcp, *host_, "10.77.0.2", 8084, &*container_),
                                    stream(Proto::kTcp, *host_, "10.77.0.2", 8085, nullptr),
                                    stream(Proto::kUdp, *host_, "fd77::2", 8086, &*container_)},
                                   kShort);
  ASSERT_EQ(outcomes.size(), 5u);
  EXPECT_TRUE(outcomes[0].reached);
  EXPECT_FALSE(outcomes[1].reached);
  EXPECT_TRUE(outcomes[2].reached);
  EXPECT_FALSE(outcomes[3].reached);
  EXPECT_TRUE(outcomes[4].reached);
  EXPECT_EQ(probe_test_count_entries("/proc/self/fd"), fds);
  EXPECT_EQ(probe_test_count_entries("/proc/self/task"), threads);
}

TEST_F(LabProbeTest, RejectsAnIncompleteProbeBeforeOpeningAnything) {
  const std::size_t fds = probe_test_count_entries("/proc/self/fd");
  try {
    (void)run_probes({icmp(*host_, "10.77.0.2"), Probe{.to = parse_ip_address("10.77.0.2")}});
    ADD_FAILURE() << "no exception";
  } catch (const netcore::Error& e) {
    EXPECT_EQ(e.code(), netcore::ErrorCode::kInvalidNetworkConfig);
    EXPECT_EQ(e.msg(), "probe 1: no source namespace");
  }
  try {
    (void)run_probes({stream(Proto::kUdp, *host_, "10.77.0.2", 0, &*container_)});
    ADD_FAILURE() << "no exception";
  } catch (const netcore::Error& e) {
    EXPECT_EQ(e.msg(), "probe 0: udp needs a port");
  }
  try {
    (void)run_probes({Probe{.from = &*host_}});
    ADD_FAILURE() << "no exception";
  } catch (const netcore::Error& e) {
    EXPECT_EQ(e.msg(), "probe 0: no destination address");
  }
  EXPECT_THROW(
      (void)run_probes({icmp(*host_, "10.77.0.2")}, {.resend = std::chrono::milliseconds(0)}),
      netcore::Error);
  EXPECT_EQ(probe_test_count_entries("/proc/self/fd"), fds);
  EXPECT_TRUE(run_probes({}).empty());
}

// Ten namespaces behind one router (host_), ten IPv4 and ten IPv6 addresses each; every
// namespace pings every address of the nine others: 1800 probes, all at once. Routed rather
// than bridged: the kernel's neighbour tables are shared by every namespace on the machine
// (gc_thresh3, 1024 by default), so a flat network of 1800 neighbours would overflow them; here
// each namespace has one neighbour per family and the router ten.
TEST_F(LabProbeTest, FullMeshOfTenNamespacesInOneBatch) {
  constexpr int kNamespaces = 10;
  constexpr int kAddresses = 10;
  const Netns& router = *host_;
  // A router sends neighbour solicitations for forwarded packets only from a link-local
  // address that passed DAD (a second or two): without DAD, IPv6 is routed at once.
  const auto no_dad = [] { netcore::net::write_sysctl("net/ipv6/conf/default/accept_dad", "0"); };
  router.run([&] {
    no_dad();
    netcore::net::write_sysctl("net/ipv4/ip_forward", "1");
    netcore::net::write_sysctl("net/ipv6/conf/all/forwarding", "1");
  });
  const Netlink router_nl = router.run([] { return Netlink::connect(); });
  std::vector<Netns> nodes;
  std::vector<std::vector<std::string>> addresses(kNamespaces);
  for (int k = 0; k < kNamespaces; ++k) {
    const std::string n = std::to_string(k);
    nodes.push_back(Netns::create());
    nodes[k].run(no_dad);
    const auto port = netcore::net::create_veth(
        router_nl, {.name = unique_name("pr" + n), .peer_name = "eth0", .peer_netns = &nodes[k]});
    configure(router_nl, port.index, "10.80." + n + ".1/24", "fd80:" + n + "::1/64");
    netcore::net::add_route(router_nl, {.dst = Prefix::parse("10.79." + n + ".0/24"),
                                        .gateway = parse_ip_address("10.80." + n + ".2")});
    netcore::net::add_route(router_nl, {.dst = Prefix::parse("fd79:" + n + "::/64"),
                                        .gateway = parse_ip_address("fd80:" + n + "::2")});
    const Netlink nl = nodes[k].run([] { return Netlink::connect(); });
    const auto eth0 = netcore::net::get_link(nl, "eth0");
    configure(nl, eth0.index, "10.80." + n + ".2/24", "fd80:" + n + "::2/64");
    netcore::net::add_route(
        nl, {.dst = Prefix::parse("0.0.0.0/0"), .gateway = parse_ip_address("10.80." + n + ".1")});
    netcore::net::add_route(
        nl, {.dst = Prefix::parse("::/0"), .gateway = parse_ip_address("fd80:" + n + "::1")});
    for (int j = 1; j <= kAddresses; ++j) {
      const std::string v4 = "10.79." + n + "." + std::to_string(j);
      const std::string v6 = "fd79:" + n + "::" + std::to_string(j);
      netcore::net::add_address(nl, eth0.index, Prefix::parse(v4 + "/32"));
      netcore::net::add_address(nl, eth0.index, Prefix::parse(v6 + "/128"), {.nodad = true});
      addresses[k].push_back(v4);
      addresses[k].push_back(v6);
    }
  }
  std::vector<Probe> probes;
  for (int from = 0; from < kNamespaces; ++from)
    for (int to = 0; to < kNamespaces; ++to)
      if (from != to)
        for (const auto& address : addresses[to]) probes.push_back(icmp(nodes[from], address));
  ASSERT_EQ(probes.size(), 1800u);

  const auto start = std::chrono::steady_clock::now();
  const auto outcomes = run_probes(probes);
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  std::cout << probes.size() << " probes in " << elapsed.count() << " ms\n";  // informational

  ASSERT_EQ(outcomes.size(), probes.size());
  std::size_t reached = 0;
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    if (outcomes[i].reached)
      ++reached;
    else
      ADD_FAILURE() << probes[i].to.to_string() << ": " << outcomes[i].detail;
  }
  EXPECT_EQ(reached, probes.size());
}

}  // namespace
}  // namespace nsnet::lab
