// bandwidth through its real binary, chained on a veth pair made by the fixture: the qdiscs and
// ifb it installs (read through netcore and cross-checked through `tc -j`/`ip -j`), the measured
// rate of a bounded TCP transfer each way, CHECK, DEL, GC, bad configs and non-veth interfaces.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/pkt_sched.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <set>
#include <thread>
#include <vector>

#include "bandwidth_fixture.hpp"
#include "netcore/base/unique_fd.hpp"

namespace {

namespace net = netcore::net;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr std::uint16_t kPort = 5301;

const json kShaping = {{"ingressRate", 16'000'000},
                       {"ingressBurst", 160'000},
                       {"egressRate", 8'000'000},
                       {"egressBurst", 80'000}};

class BandwidthTest : public nsnet::testing::BandwidthFixture {
 protected:
  const net::QdiscInfo* find_qdisc(const std::vector<net::QdiscInfo>& qdiscs, int ifindex,
                                   std::uint32_t parent) {
    for (const auto& q : qdiscs)
      if (q.ifindex == ifindex && q.parent == parent) return &q;
    return nullptr;
  }

  // Sends TCP data for `seconds` from a socket made in `from` to a listener made in `to` on
  // `dst`, and returns the rate the receiver saw, in bits/s, after a 0.3 s warm-up (the tbf's
  // burst and TCP's slow start).
  double measure_rate(const net::Netns& from, const net::Netns& to, const char* dst,
                      double seconds) {
    netcore::UniqueFd listener = to.run([] {
      netcore::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
      const int one = 1;
      (void)::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(kPort);
      if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
          ::listen(fd.get(), 1) != 0)
        fd.reset();
      return fd;
    });
    EXPECT_TRUE(listener.valid()) << std::strerror(errno);
    netcore::UniqueFd sender = from.run(
        [] { return netcore::UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)); });
    if (!listener || !sender) return 0;
    const timeval timeout{.tv_sec = 0, .tv_usec = 200'000};
    (void)::setsockopt(sender.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);

    std::size_t counted = 0;
    Clock::time_point warm{}, last{};
    std::thread receiver([&] {
      netcore::UniqueFd conn(::accept(listener.get(), nullptr, nullptr));
      if (!conn) return;
      const timeval rcv{.tv_sec = 5, .tv_usec = 0};  // bounds the test if the sender stalls
      (void)::setsockopt(conn.get(), SOL_SOCKET, SO_RCVTIMEO, &rcv, sizeof rcv);
      std::vector<char> buffer(1 << 16);
      bool started = false;
      for (;;) {
        const ssize_t n = ::recv(conn.get(), buffer.data(), buffer.size(), 0);
        if (n <= 0) break;
        const auto now = Clock::now();
        if (!started) {
          started = true;
          warm = now + std::chrono::milliseconds(300);
        }
        if (now >= warm) {
          counted += static_cast<std::size_t>(n);
          last = now;
        }
      }
    });
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(kPort);
    ::inet_pton(AF_INET, dst, &addr.sin_addr);
    if (::connect(sender.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      std::vector<char> data(1 << 16, 'x');
      const auto end = Clock::now() + std::chrono::duration<double>(seconds);
      while (Clock::now() < end) (void)::send(sender.get(), data.data(), data.size(), MSG_NOSIGNAL);
      ::shutdown(sender.get(), SHUT_WR);
    } else {
      ADD_FAILURE() << "connect: " << std::strerror(errno);
      ::shutdown(listener.get(), SHUT_RDWR);  // wakes accept
    }
    receiver.join();
    const double elapsed = std::chrono::duration<double>(last - warm).count();
    if (elapsed <= 0) return 0;
    return static_cast<double>(counted) * 8 / elapsed;
  }
};

TEST_F(BandwidthTest, AddInstallsQdiscsAndIfb) {
  const auto conf = config(kShaping);
  const auto add = call("ADD", conf);
  ASSERT_EQ(add.exit_code, 0) << add.out;
  const auto result = add.json();
  // prevResult plus the ifb, like the reference.
  ASSERT_EQ(result.at("interfaces").size(), 3u) << result;
  EXPECT_EQ(result["interfaces"][0].at("name"), host_veth_);
  EXPECT_EQ(result["interfaces"][1].at("sandbox"), netns_path_);
  EXPECT_EQ(result.at("ips"), conf["prevResult"]["ips"]);
  const std::string ifb_name = result["interfaces"][2].at("name");
  EXPECT_EQ(ifb_name.size(), 15u);
  EXPECT_EQ(ifb_name.rfind("bwp", 0), 0u);

  const auto hnl = host_nl();
  const auto host = net::get_link(hnl, host_veth_);
  const auto ifb = net::get_link(hnl, ifb_name);
  EXPECT_EQ(ifb.kind, "ifb");
  EXPECT_TRUE(ifb.up);
  EXPECT_EQ(ifb.mtu, host.mtu);
  EXPECT_EQ(ifb.mac.to_string(), result["interfaces"][2].at("mac").get<std::string>());
  EXPECT_EQ(ifb.alias, "nsnet-bandwidth bwnet ctr1/eth0");

  // Kernel terms: rate/8 bytes/s, limit = rate/8 × 25 ms + burst/8, the bucket in ticks.
  const auto qdiscs = net::list_qdiscs(hnl);
  const auto* ingress_tbf = find_qdisc(qdiscs, host.index, TC_H_ROOT);
  ASSERT_NE(ingress_tbf, nullptr);
  ASSERT_TRUE(ingress_tbf->tbf);
  EXPECT_EQ(ingress_tbf->tbf->rate, 2'000'000u);
  EXPECT_EQ(ingress_tbf->tbf->limit, 50'000u + 20'000u);
  EXPECT_EQ(ingress_tbf->tbf->buffer, net::tbf_buffer_ticks(2'000'000, 20'000));
  const auto* egress_tbf = find_qdisc(qdiscs, ifb.index, TC_H_ROOT);
  ASSERT_NE(egress_tbf, nullptr);
  ASSERT_TRUE(egress_tbf->tbf);
  EXPECT_EQ(egress_tbf->tbf->rate, 1'000'000u);
  EXPECT_EQ(egress_tbf->tbf->limit, 25'000u + 10'000u);
  const auto* ingress = find_qdisc(qdiscs, host.index, TC_H_INGRESS);
  ASSERT_NE(ingress, nullptr);
  EXPECT_EQ(ingress->kind, "ingress");
  const auto filters = net::list_filters(hnl, host.index, 0xffff0000);
  ASSERT_EQ(filters.size(), 1u);
  EXPECT_EQ(filters[0].kind, "u32");
  EXPECT_EQ(filters[0].protocol, 3);  // ETH_P_ALL
  EXPECT_EQ(filters[0].redirect_ifindex, ifb.index);

  // The same through tc and ip: tc turns the bucket back into bytes (the configured burst/8).
  const auto tc = json::parse(nsnet::testing::run_in_netns(*host_, "tc -j qdisc show"));
  std::map<std::string, json> tbf_by_dev;
  bool has_ingress = false;
  for (const auto& q : tc) {
    if (q.at("kind") == "tbf") tbf_by_dev[q.at("dev")] = q.at("options");
    if (q.at("kind") == "ingress" && q.at("dev") == host_veth_) has_ingress = true;
  }
  EXPECT_TRUE(has_ingress);
  ASSERT_EQ(tbf_by_dev.count(host_veth_), 1u) << tc;
  EXPECT_EQ(tbf_by_dev[host_veth_].at("rate"), 2'000'000);
  EXPECT_EQ(tbf_by_dev[host_veth_].at("burst"), 20'000);
  EXPECT_EQ(tbf_by_dev[host_veth_].at("lat"), 25'000);  // µs, derived from the limit
  ASSERT_EQ(tbf_by_dev.count(ifb_name), 1u) << tc;
  EXPECT_EQ(tbf_by_dev[ifb_name].at("rate"), 1'000'000);
  EXPECT_EQ(tbf_by_dev[ifb_name].at("burst"), 10'000);
  EXPECT_EQ(tbf_by_dev[ifb_name].at("lat"), 25'000);
  const auto ip =
      json::parse(nsnet::testing::run_in_netns(*host_, "ip -j -d link show dev " + ifb_name));
  EXPECT_EQ(ip.at(0).at("linkinfo").at("info_kind"), "ifb");
  EXPECT_EQ(ip.at(0).at("ifalias"), "nsnet-bandwidth bwnet ctr1/eth0");

  auto check_conf = conf;
  check_conf["prevResult"] = result;
  const auto check = call("CHECK", check_conf);
  EXPECT_EQ(check.exit_code, 0) << check.out;

  // DEL takes the ifb and, since the veth is still there, the qdiscs on its host end.
  const auto del = call("DEL", check_conf);
  EXPECT_EQ(del.exit_code, 0) << del.out;
  EXPECT_TRUE(ifbs().empty());
  EXPECT_TRUE(configured_qdiscs().empty());
  const auto again = call("DEL", check_conf);
  EXPECT_EQ(again.exit_code, 0) << again.out;
}

TEST_F(BandwidthTest, ShapesTrafficToTheConfiguredRate) {
  const auto add = call("ADD", config(kShaping));
  ASSERT_EQ(add.exit_code, 0) << add.out;
  // Into the container: the tbf on the host end, 16 Mbit/s.
  const double in = measure_rate(*host_, *container_, "10.62.0.2", 2.5);
  EXPECT_NEAR(in, 16e6, 16e6 * 0.15) << "ingress measured " << in / 1e6 << " Mbit/s";
  // Out of the container: redirected through the ifb's tbf, 8 Mbit/s.
  const double out = measure_rate(*container_, *host_, "10.62.0.1", 2.5);
  std::printf("measured: into the container %.2f Mbit/s (16 configured), out %.2f Mbit/s (8)\n",
              in / 1e6, out / 1e6);
  EXPECT_NEAR(out, 8e6, 8e6 * 0.15) << "egress measured " << out / 1e6 << " Mbit/s";
}

TEST_F(BandwidthTest, OneDirectionOnly) {
  const auto add = call("ADD", config({{"ingressRate", 8'000'000}, {"ingressBurst", 80'000}}));
  ASSERT_EQ(add.exit_code, 0) << add.out;
  EXPECT_EQ(add.json().at("interfaces").size(), 2u);  // no ifb without egress shaping
  EXPECT_TRUE(ifbs().empty());
  const auto qdiscs = configured_qdiscs();
  ASSERT_EQ(qdiscs.size(), 1u);
  EXPECT_EQ(qdiscs[0].kind, "tbf");

  // The other direction can be added by another attachment of the same veth; the same one again
  // cannot, and that failure leaves what is there alone.
  const auto egress = call("ADD", config({{"egressRate", 8'000'000}, {"egressBurst", 80'000}}),
                           {{"CNI_CONTAINERID", "ctr2"}});
  ASSERT_EQ(egress.exit_code, 0) << egress.out;
  EXPECT_EQ(ifbs().size(), 1u);
  const auto twice = call("ADD", config({{"ingressRate", 8'000'000}, {"ingressBurst", 80'000}}),
                          {{"CNI_CONTAINERID", "ctr3"}});
  EXPECT_EQ(twice.exit_code, 1);
  EXPECT_EQ(configured_qdiscs().size(), 3u);  // both tbfs and the ingress qdisc
  EXPECT_EQ(ifbs().size(), 1u);
}

TEST_F(BandwidthTest, RuntimeConfigOnlyWithoutStaticValues) {
  const json runtime = {
      {"runtimeConfig", {{"bandwidth", {{"ingressRate", 24'000'000}, {"ingressBurst", 240'000}}}}}};
  auto conf = config(runtime);
  auto add = call("ADD", conf);
  ASSERT_EQ(add.exit_code, 0) << add.out;
  auto qdiscs = configured_qdiscs();
  ASSERT_EQ(qdiscs.size(), 1u);
  EXPECT_EQ(qdiscs[0].tbf->rate, 3'000'000u);
  ASSERT_EQ(call("DEL", conf).exit_code, 0);
  EXPECT_TRUE(configured_qdiscs().empty());

  conf.merge_patch({{"ingressRate", 8'000'000}, {"ingressBurst", 80'000}});
  add = call("ADD", conf);
  ASSERT_EQ(add.exit_code, 0) << add.out;
  qdiscs = configured_qdiscs();
  ASSERT_EQ(qdiscs.size(), 1u);
  EXPECT_EQ(qdiscs[0].tbf->rate, 1'000'000u);  // the static value wins
}

TEST_F(BandwidthTest, NoShapingPassesPrevResultThrough) {
  const auto conf = config(json::object());
  const auto add = call("ADD", conf);
  ASSERT_EQ(add.exit_code, 0) << add.out;
  EXPECT_EQ(add.json().at("interfaces"), conf["prevResult"]["interfaces"]);
  EXPECT_TRUE(configured_qdiscs().empty());
  EXPECT_TRUE(ifbs().empty());
}

TEST_F(BandwidthTest, CheckDetectsChangedQdiscs) {
  const auto conf = config(kShaping);
  const auto add = call("ADD", conf);
  ASSERT_EQ(add.exit_code, 0) << add.out;
  auto check_conf = conf;
  check_conf["prevResult"] = add.json();
  ASSERT_EQ(call("CHECK", check_conf).exit_code, 0);

  // Another rate on the host end's tbf.
  (void)nsnet::testing::run_in_netns(*host_,
                                     "tc qdisc replace dev " + host_veth_ +
                                         " root handle 1: tbf rate 4mbit burst 20000 latency 25ms");
  auto check = call("CHECK", check_conf);
  EXPECT_EQ(check.exit_code, 1);
  EXPECT_NE(check.json().at("msg").get<std::string>().find("tbf of " + host_veth_),
            std::string::npos)
      << check.out;

  // Back to the configured tbf: CHECK passes; then without the redirect it fails again.
  ASSERT_EQ(call("DEL", check_conf).exit_code, 0);
  ASSERT_EQ(call("ADD", conf).exit_code, 0);
  ASSERT_EQ(call("CHECK", check_conf).exit_code, 0);
  (void)nsnet::testing::run_in_netns(*host_, "tc qdisc del dev " + host_veth_ + " ingress");
  check = call("CHECK", check_conf);
  EXPECT_EQ(check.exit_code, 1);
  EXPECT_NE(check.json().at("msg").get<std::string>().find("redirects"), std::string::npos)
      << check.out;

  // Without its ifb.
  (void)nsnet::testing::run_in_netns(*host_, "ip link del " + ifbs().at(0).name);
  check = call("CHECK", check_conf);
  EXPECT_EQ(check.exit_code, 1);
  EXPECT_NE(check.json().at("msg").get<std::string>().find("not found"), std::string::npos)
      << check.out;

  // CHECK needs prevResult.
  auto no_prev = conf;
  no_prev.erase("prevResult");
  EXPECT_EQ(call("CHECK", no_prev).json().at("code"), 7);
}

TEST_F(BandwidthTest, BadConfigFailsWithItsCodeAndLeavesNothing) {
  struct Case {
    json patch;
    int code;
    std::string key;
  };
  const std::vector<Case> cases = {
      {{{"ingressRate", 8'000'000}}, 7, "ingressBurst"},
      {{{"egressBurst", 80'000}}, 7, "egressRate"},
      {{{"egressRate", 8'000'000}, {"egressBurst", 34'359'738'360ULL}}, 7, "egressBurst"},
      {{{"ingressRate", -5}, {"ingressBurst", 80'000}}, 6, "ingressRate"},
      {{{"ingressRate", "8mbit"}, {"ingressBurst", 80'000}}, 6, "ingressRate"},
      {{{"ingressRate", 4}, {"ingressBurst", 80'000}}, 7, "ingressRate"},
      {{{"ingressRate", 200'000'000'000ULL}, {"ingressBurst", 80'000}}, 7, "ingressRate"},
      {{{"ingressRate", 8}, {"ingressBurst", 80'000'000}}, 7, "ingressBurst"},
      {{{"shapedSubnets", {"10.0.0.0/8"}}, {"ingressRate", 8'000'000}, {"ingressBurst", 80'000}},
       2,
       "shapedSubnets"},
      {{{"runtimeConfig", {{"bandwidth", {{"unshapedSubnets", {"10.0.0.0/8"}}}}}}},
       2,
       "unshapedSubnets"},
      {{{"runtimeConfig", {{"bandwidth", {{"egressRate", 8'000'000}}}}}}, 7, "egressBurst"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.patch.dump());
    const auto run = call("ADD", config(c.patch));
    EXPECT_EQ(run.exit_code, 1);
    const auto error = run.json();
    EXPECT_EQ(error.at("code"), c.code) << run.out;
    EXPECT_NE(error.at("msg").get<std::string>().find(c.key), std::string::npos) << run.out;
    EXPECT_TRUE(configured_qdiscs().empty());
    EXPECT_TRUE(ifbs().empty());
  }
  auto no_prev = config(kShaping);
  no_prev.erase("prevResult");
  const auto run = call("ADD", no_prev);
  EXPECT_EQ(run.json().at("code"), 7) << run.out;
  EXPECT_TRUE(configured_qdiscs().empty());
}

TEST_F(BandwidthTest, FailedAddUndoesWhatItDid) {
  // The ifb's name is taken, so ADD fails after the ingress tbf is in place: it must go again.
  const auto conf = config(kShaping);
  const auto add = call("ADD", conf);
  ASSERT_EQ(add.exit_code, 0) << add.out;
  const std::string ifb_name = add.json()["interfaces"][2].at("name");
  ASSERT_EQ(call("DEL", conf).exit_code, 0);
  (void)nsnet::testing::run_in_netns(*host_, "ip link add " + ifb_name + " type ifb");
  const auto failed = call("ADD", conf);
  EXPECT_EQ(failed.exit_code, 1);
  EXPECT_NE(failed.out.find("already exists"), std::string::npos) << failed.out;
  EXPECT_TRUE(configured_qdiscs().empty());
  EXPECT_EQ(ifbs().size(), 1u);  // only the one the test made
}

TEST_F(BandwidthTest, NonVethInterfaceIsRejected) {
  // An ifb named eth1 in the container stands for any interface that is not a veth.
  const auto cnl = ctr_nl();
  (void)net::create_ifb(cnl, "eth1");
  auto conf = config(kShaping);
  conf["prevResult"] = prev_result(host_veth_, "eth1");
  const auto run = call("ADD", conf, {{"CNI_IFNAME", "eth1"}});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.json().at("code"), 7);
  EXPECT_NE(run.json().at("msg").get<std::string>().find("not a veth"), std::string::npos)
      << run.out;
  EXPECT_TRUE(configured_qdiscs().empty());
  EXPECT_TRUE(ifbs().empty());

  // A veth whose host end the prevResult does not list is refused too.
  auto unlisted = config(kShaping);
  unlisted["prevResult"]["interfaces"][0]["name"] = "other0";
  const auto refused = call("ADD", unlisted);
  EXPECT_EQ(refused.json().at("code"), 7) << refused.out;
  EXPECT_TRUE(configured_qdiscs().empty());
}

TEST_F(BandwidthTest, DelWithoutNetnsOrPrevResult) {
  const auto conf = config(kShaping);
  ASSERT_EQ(call("ADD", conf).exit_code, 0);
  auto bare = conf;
  bare.erase("prevResult");
  const auto del = call("DEL", bare, {{"CNI_NETNS", ""}});
  EXPECT_EQ(del.exit_code, 0) << del.out;
  EXPECT_TRUE(ifbs().empty());
  const auto gone = call("DEL", bare, {{"CNI_NETNS", "/run/netns/no-such-netns"}});
  EXPECT_EQ(gone.exit_code, 0) << gone.out;
}

TEST_F(BandwidthTest, GcDeletesIfbsOfAttachmentsNotKept) {
  const std::string second = add_veth("eth1", "10.63.0");
  auto conf1 = config(kShaping, "1.1.0");
  ASSERT_EQ(call("ADD", conf1).exit_code, 0);
  auto conf2 = config(kShaping, "1.1.0");
  conf2["prevResult"] = prev_result(second, "eth1");
  ASSERT_EQ(call("ADD", conf2, {{"CNI_CONTAINERID", "ctr2"}, {"CNI_IFNAME", "eth1"}}).exit_code, 0);
  // An ifb of another network, and one made by someone else, are never touched.
  const std::string third = add_veth("eth2", "10.64.0");
  auto other = conf1;
  other["name"] = "othernet";
  other["prevResult"] = prev_result(third, "eth2");
  auto other_add = call("ADD", other, {{"CNI_CONTAINERID", "ctr3"}, {"CNI_IFNAME", "eth2"}});
  ASSERT_EQ(other_add.exit_code, 0) << other_add.out;
  (void)nsnet::testing::run_in_netns(*host_, "ip link add foreign0 type ifb");
  ASSERT_EQ(ifbs().size(), 4u);

  json gc = {{"cniVersion", "1.1.0"},
             {"name", "bwnet"},
             {"type", "bandwidth"},
             {"cni.dev/valid-attachments", {{{"containerID", "ctr1"}, {"ifname", "eth0"}}}}};
  gc.merge_patch(kShaping);
  const auto run = call("GC", gc);
  EXPECT_EQ(run.exit_code, 0) << run.out;
  std::set<std::string> left;
  for (const auto& l : ifbs()) left.insert(l.alias.empty() ? l.name : l.alias);
  EXPECT_EQ(left, (std::set<std::string>{"nsnet-bandwidth bwnet ctr1/eth0",
                                         "nsnet-bandwidth othernet ctr3/eth2", "foreign0"}));
  EXPECT_EQ(call("GC", gc).exit_code, 0);  // idempotent
}

TEST_F(BandwidthTest, CheckNeedsSpecVersionWithCheck) {
  const auto run = call("CHECK", config(kShaping, "0.3.1"));
  EXPECT_EQ(run.exit_code, 1);
}

// As runtimes chain it: after ptp (with host-local), on the veth ptp made, from ptp's result.
TEST_F(BandwidthTest, ChainedAfterPtp) {
  const json ptp_conf = {{"cniVersion", "1.0.0"},
                         {"name", "bwnet"},
                         {"type", "ptp"},
                         {"ipam",
                          {{"type", "host-local"},
                           {"dataDir", (temp_dir() / "ipam").string()},
                           {"ranges", {{{{"subnet", "10.65.0.0/24"}}}}}}}};
  const std::map<std::string, std::string> env = {{"CNI_IFNAME", "eth5"}};
  const auto ptp = host_->run([&] {
    return nsnet::testing::exec_plugin(
        nsnet::testing::plugin_dir(), "ptp", "ADD",
        {{"CNI_CONTAINERID", "ctr1"}, {"CNI_NETNS", netns_path_}, {"CNI_IFNAME", "eth5"}},
        ptp_conf.dump());
  });
  ASSERT_EQ(ptp.exit_code, 0) << ptp.out;
  json conf = {{"cniVersion", "1.0.0"},
               {"name", "bwnet"},
               {"type", "bandwidth"},
               {"prevResult", ptp.json()}};
  conf.merge_patch(kShaping);
  const auto add = call("ADD", conf, env);
  ASSERT_EQ(add.exit_code, 0) << add.out;
  const auto result = add.json();
  ASSERT_EQ(result.at("interfaces").size(), 3u);
  EXPECT_EQ(result.at("ips"), ptp.json().at("ips"));
  const auto hnl = host_nl();
  const auto ptp_host = net::get_link(hnl, result["interfaces"][0].at("name").get<std::string>());
  bool shaped = false;
  for (const auto& q : net::list_qdiscs(hnl, ptp_host.index))
    shaped = shaped || (q.parent == TC_H_ROOT && q.tbf && q.tbf->rate == 2'000'000u);
  EXPECT_TRUE(shaped);
  auto check_conf = conf;
  check_conf["prevResult"] = result;
  EXPECT_EQ(call("CHECK", check_conf, env).exit_code, 0);

  // DEL in reverse order, as libcni runs a chain.
  EXPECT_EQ(call("DEL", check_conf, env).exit_code, 0);
  EXPECT_TRUE(ifbs().empty());
  const auto ptp_del = host_->run([&] {
    return nsnet::testing::exec_plugin(
        nsnet::testing::plugin_dir(), "ptp", "DEL",
        {{"CNI_CONTAINERID", "ctr1"}, {"CNI_NETNS", netns_path_}, {"CNI_IFNAME", "eth5"}},
        ptp_conf.dump());
  });
  EXPECT_EQ(ptp_del.exit_code, 0) << ptp_del.out;
  EXPECT_TRUE(configured_qdiscs().empty());
}

}  // namespace
