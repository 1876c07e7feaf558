// The shipped full chain (conf/40-chain.conflist: bridge + portmap + firewall + tuning +
// bandwidth) through netcore::cni's conflist runtime, as a runtime runs it: ADD -> CHECK -> DEL
// -> DEL. Afterwards the sandbox host's links, addresses, routes, nft ruleset, qdiscs, sysctls
// and state files, and the container's links and sysctls, equal a baseline taken once the
// network exists (after a first attachment came and went: the bridge and nsnet's tables stay, as
// the reference's bridge does). While attached, the published port answers through the chain.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "netcore/base/unique_fd.hpp"
#include "netcore/cni/conflist.hpp"
#include "netcore/net/netns.hpp"
#include "netcore/net/sysctl.hpp"
#include "support/plugin_runner.hpp"
#include "support/sandbox.hpp"

namespace {

namespace cni = netcore::cni;
namespace fs = std::filesystem;
namespace net = netcore::net;
using netcore::UniqueFd;
using nlohmann::json;
using nsnet::testing::run_in_netns;

constexpr std::uint16_t kHostPort = 18080;
// sed -E expressions that drop a bridge's carrier state from `ip` output.
const std::string kCarrierNoise =
    "-e 's/NO-CARRIER,//' -e 's/ state (UP|DOWN|UNKNOWN)//' -e 's/ linkdown//'";
constexpr std::uint16_t kContainerPort = 80;

class ChainTest : public nsnet::testing::SandboxTest {
 protected:
  void SetUp() override {
    SandboxTest::SetUp();
    if (IsSkipped()) return;
    bridge_ = unique_name("ch");
    std::ifstream file(std::string(NSNET_CONF_DIR) + "/40-chain.conflist");
    ASSERT_TRUE(file);
    json doc = json::parse(file);
    // The shipped list, with this test's bridge and state directories.
    doc["plugins"][0]["bridge"] = bridge_;
    doc["plugins"][0]["ipam"]["dataDir"] = (temp_dir() / "ipam").string();
    doc["plugins"][3]["dataDir"] = (temp_dir() / "tuning").string();
    list_ = cni::NetworkList::parse(doc.dump());
    runner_.path = {nsnet::testing::plugin_dir().string()};
    runner_.env = {{"PATH", "/usr/sbin:/usr/bin:/sbin:/bin"}};
    warm_ns_ = persist(*container_, "w");
    ctr_.emplace(net::Netns::create());
    ctr_ns_ = persist(*ctr_, "c");
  }
  void TearDown() override {
    for (const auto& name : persisted_) net::Netns::delete_persisted_if_exists(name);
    SandboxTest::TearDown();
  }

  std::string persist(const net::Netns& netns, const std::string& prefix) {
    const std::string name = unique_name(prefix);
    netns.persist(name);
    persisted_.push_back(name);
    return "/run/netns/" + name;
  }

  cni::RuntimeConf attachment(const std::string& id, const std::string& netns,
                             std::uint16_t host_port = kHostPort) const {
    cni::RuntimeConf rt{.container_id = id, .netns = netns, .ifname = "eth0"};
    rt.capability_args = {
        {"portMappings",
         json::array({{{"hostPort", host_port}, {"containerPort", kContainerPort},
                       {"protocol", "tcp"}}})},
        {"bandwidth",
         {{"ingressRate", 100'000'000}, {"ingressBurst", 1'000'000},
          {"egressRate", 100'000'000}, {"egressBurst", 1'000'000}}}};
    return rt;
  }

  // Everything a chain attachment may touch, as the kernel's own tools print it.
  // The bridge's IPv6 link-local address and its routes are the kernel's, and come and go with
  // duplicate address detection on their own schedule; its carrier goes down when its last port
  // leaves, also on the kernel's schedule. Both are left out.
  std::string host_state() {
    std::string state = run_in_netns(*host_,
                                     "{ ip -o link show | sed 's/^[0-9]*: //'; ip -o addr show;"
                                     "ip route show table all; ip -6 route show table all; }"
                                     " | grep -v fe80 | sed -E " + kCarrierNoise + ";"
                                     "nft list ruleset;"
                                     "tc qdisc show; sysctl net.ipv4.ip_forward;"
                                     "sysctl net.ipv4.conf." + bridge_ + ".route_localnet");
    state += run_in_netns(*host_, "find " + temp_dir().string() + " | sort");
    return state;
  }
  std::string container_state() {
    return run_in_netns(*ctr_, "ip -o link show; sysctl net.ipv4.conf.all.arp_notify");
  }

  template <class Fn>
  auto in_host(Fn&& fn) {
    return host_->run(std::forward<Fn>(fn));
  }

  std::string bridge_;
  cni::NetworkList list_;
  cni::PluginRunner runner_;
  std::string warm_ns_, ctr_ns_;
  std::optional<net::Netns> ctr_;
  std::vector<std::string> persisted_;
};

// Accepts one TCP connection on 0.0.0.0:`listen_port` in `server` after `client` connects to
// addr:port; true when it got through within 1.5 s.
bool tcp_reaches(const net::Netns& client, const net::Netns& server, std::uint16_t listen_port,
                 const std::string& addr, std::uint16_t port) {
  UniqueFd listener = server.run([&] {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(listen_port);
    const int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    EXPECT_EQ(::listen(fd.get(), 4), 0);
    return fd;
  });
  return client.run([&] {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    ::inet_pton(AF_INET, addr.c_str(), &sa.sin_addr);
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 &&
        errno != EINPROGRESS)
      return false;
    pollfd pfd{.fd = fd.get(), .events = POLLOUT, .revents = 0};
    int error = 0;
    socklen_t len = sizeof error;
    return ::poll(&pfd, 1, 1500) == 1 &&
           ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &len) == 0 && error == 0;
  });
}

TEST_F(ChainTest, AddCheckDelDelRestoresTheBaseline) {
  // A first attachment makes the network: the bridge and nsnet's tables, which stay.
  const auto warm = attachment("warm", warm_ns_);
  in_host([&] {
    const auto result = cni::add_network_list(list_, warm, runner_);
    cni::del_network_list(list_, warm, result, runner_);
  });
  const std::string host_before = host_state();
  const std::string ctr_before = container_state();

  const auto rt = attachment("chainctr", ctr_ns_);
  const cni::Result result = in_host([&] { return cni::add_network_list(list_, rt, runner_); });
  // bridge's three interfaces plus bandwidth's ifb; the container's address on eth0.
  ASSERT_EQ(result.interfaces.size(), 4u) << result.to_json("1.1.0").dump();
  EXPECT_EQ(result.interfaces[2].name, "eth0");
  EXPECT_EQ(result.interfaces[3].name.rfind("bwp", 0), 0u) << result.interfaces[3].name;
  ASSERT_EQ(result.ips.size(), 1u);
  const std::string gateway = result.ips[0].gateway->to_string();

  EXPECT_NE(host_state(), host_before);
  EXPECT_EQ(ctr_->run([] { return net::read_sysctl("net/ipv4/conf/eth0/arp_notify"); }), "1");
  // The published port answers from the host, through portmap's rules and firewall's accepts.
  EXPECT_TRUE(tcp_reaches(*host_, *ctr_, kContainerPort, gateway, kHostPort));
  in_host([&] { cni::check_network_list(list_, rt, result, runner_); });

  in_host([&] { cni::del_network_list(list_, rt, result, runner_); });
  in_host([&] { cni::del_network_list(list_, rt, result, runner_); });  // DEL is idempotent
  EXPECT_EQ(host_state(), host_before);
  EXPECT_EQ(container_state(), ctr_before);
}

TEST_F(ChainTest, DelWithoutCachedResultOrNetnsStillCleansUp) {
  const auto warm = attachment("warm", warm_ns_);
  in_host([&] {
    const auto result = cni::add_network_list(list_, warm, runner_);
    cni::del_network_list(list_, warm, result, runner_);
  });
  const std::string host_before = host_state();

  auto rt = attachment("lostctr", ctr_ns_);
  (void)in_host([&] { return cni::add_network_list(list_, rt, runner_); });
  // The runtime lost its cache and the namespace is gone; it passes no capability args either.
  net::Netns::delete_persisted_if_exists(persisted_.back());
  persisted_.pop_back();
  ctr_.reset();
  rt.netns.clear();
  rt.capability_args = json::object();
  in_host([&] { cni::del_network_list(list_, rt, std::nullopt, runner_); });
  // The container's links go with its namespace, asynchronously: wait for the host veth.
  for (int i = 0; i < 100 && host_state() != host_before; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(host_state(), host_before);
}

TEST_F(ChainTest, GcRemovesWhatAttachmentsOutsideTheValidSetLeft) {
  const auto warm = attachment("warm", warm_ns_);
  in_host([&] {
    const auto result = cni::add_network_list(list_, warm, runner_);
    cni::del_network_list(list_, warm, result, runner_);
  });
  const std::string host_before = host_state();
  const auto keep = attachment("keepctr", warm_ns_);
  const auto kept = in_host([&] { return cni::add_network_list(list_, keep, runner_); });
  const std::string host_with_kept = host_state();

  const auto gone = attachment("gonectr", ctr_ns_, kHostPort + 1);
  (void)in_host([&] { return cni::add_network_list(list_, gone, runner_); });
  // The runtime forgot `gone` (crashed before DEL); its namespace went away with the pod.
  net::Netns::delete_persisted_if_exists(persisted_.back());
  persisted_.pop_back();
  ctr_.reset();
  in_host([&] { cni::gc_network_list(list_, {{"keepctr", "eth0"}}, runner_); });
  for (int i = 0; i < 100 && host_state() != host_with_kept; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(host_state(), host_with_kept);

  in_host([&] { cni::del_network_list(list_, keep, kept, runner_); });
  EXPECT_EQ(host_state(), host_before);
}

TEST_F(ChainTest, StatusOfTheListIsReady) {
  in_host([&] { cni::status_network_list(list_, runner_); });
}

}  // namespace
