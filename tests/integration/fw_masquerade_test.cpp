// netcore::fw against the kernel. Every fw call runs inside host_->run, so rules land in the
// test's own namespace; `nft -j` (the CLI) is the independent witness.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "netcore/base/error.hpp"
#include "netcore/base/unique_fd.hpp"
#include "netcore/fw/masquerade.hpp"
#include "netcore/fw/nftables.hpp"
#include "netcore/net/address.hpp"
#include "netcore/net/link.hpp"
#include "netcore/net/netlink.hpp"
#include "netcore/net/netns.hpp"
#include "netcore/net/route.hpp"
#include "netcore/net/sysctl.hpp"
#include "support/sandbox.hpp"

namespace netcore::fw {
namespace {

using net::IpAddress;
using net::parse_ip_address;
using net::Prefix;
using nlohmann::json;

// `nft -j CMD` in `ns`, through the CLI.
json nft_cli(const net::Netns& ns, const std::string& command) {
  return json::parse(nsnet::testing::run_in_netns(ns, "nft -j " + command));
}

// Every object of `kind` ("chain", "set", "map", "rule", "table") in a listing.
std::vector<json> objects(const json& listing, const std::string& kind) {
  std::vector<json> out;
  for (const auto& item : listing.at("nftables"))
    if (item.contains(kind)) out.push_back(item.at(kind));
  return out;
}

std::vector<std::string> names(const json& listing, const std::string& kind) {
  std::vector<std::string> out;
  for (const auto& object : objects(listing, kind)) out.push_back(object.value("name", ""));
  std::sort(out.begin(), out.end());
  return out;
}

class FwNftablesTest : public nsnet::testing::SandboxTest {};

TEST_F(FwNftablesTest, BatchIsOneTransactionAndCarriesNftsError) {
  host_->run([] {
    try {
      run_batch("add table ip fwtest\nadd chain ip fwtest c\nadd rule ip fwtest nosuch accept\n");
      ADD_FAILURE() << "batch succeeded";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInternal);
      EXPECT_TRUE(e.msg().starts_with("run nftables batch: ")) << e.msg();
      EXPECT_NE(e.msg().find("No such file or directory"), std::string::npos) << e.msg();
      EXPECT_TRUE(e.details().starts_with("Error: ")) << e.details();  // nft's whole report
    }
  });
  // Nothing of the failed batch took effect.
  EXPECT_TRUE(objects(nft_cli(*host_, "list tables"), "table").empty());

  host_->run([] { run_batch("add table ip fwtest\nadd chain ip fwtest c\n"); });
  const json listing = host_->run([] { return list_json("list table ip fwtest"); });
  EXPECT_EQ(names(listing, "chain"), std::vector<std::string>{"c"});
  EXPECT_EQ(listing, nft_cli(*host_, "list table ip fwtest"));
  EXPECT_THROW(host_->run([] { return list_json("list table ip nosuch"); }), Error);
}

TEST_F(FwNftablesTest, ActsOnlyOnTheCallingThreadsNamespace) {
  host_->run([] { run_batch("add table ip fwtest\n"); });
  EXPECT_TRUE(objects(nft_cli(*container_, "list tables"), "table").empty());
  EXPECT_EQ(objects(nft_cli(*host_, "list tables"), "table").size(), 1u);
}

class FwMasqueradeTest : public nsnet::testing::SandboxTest {
 protected:
  static Attachment att(const std::string& network, const std::string& id,
                        const std::string& ifname = "eth0") {
    return {.network = network, .container_id = id, .ifname = ifname};
  }
  void add(const Attachment& a, const std::vector<std::string>& addresses,
           const std::vector<std::string>& exclude = {}) {
    std::vector<Prefix> addrs, excl;
    for (const auto& text : addresses) addrs.push_back(Prefix::parse(text));
    for (const auto& text : exclude) excl.push_back(Prefix::parse(text));
    host_->run([&] { add_masquerade(a, addrs, excl); });
  }
  void remove(const Attachment& a) {
    host_->run([&] { remove_masquerade(a); });
  }
  std::vector<MasqueradeEntry> list(const std::optional<std::string>& network = std::nullopt) {
    return host_->run([&] { return list_masquerade(network); });
  }
  bool has(const Attachment& a, const std::vector<std::string>& addresses) {
    std::vector<Prefix> addrs;
    for (const auto& text : addresses) addrs.push_back(Prefix::parse(text));
    return host_->run([&] { return has_masquerade(a, addrs); });
  }
  static MasqueradeEntry entry(const std::string& network, const std::string& tag,
                               const std::string& address) {
    return {.network = network, .attachment = tag, .address = parse_ip_address(address)};
  }
  // Chains and sets of a family's nsnet table, through the CLI ({} when the table is absent).
  std::vector<std::string> chains(const std::string& family = "ip") {
    return names(cli_table(family), "chain");
  }
  std::vector<std::string> sets(const std::string& family = "ip") {
    return names(cli_table(family), "set");
  }
  json cli_table(const std::string& family) {
    const json tables = nft_cli(*host_, "list tables");
    for (const auto& t : objects(tables, "table"))
      if (t.value("family", "") == family && t.value("name", "") == "nsnet")
        return nft_cli(*host_, "list table " + family + " nsnet");
    return json{{"nftables", json::array()}};
  }
};

TEST_F(FwMasqueradeTest, AddCreatesTheLayoutTheCliSees) {
  const auto a = att("mynet", "c1");
  add(a, {"10.88.0.5/16"});
  const std::string h = network_hash("mynet");
  EXPECT_EQ(list(), std::vector{entry("mynet", "c1/eth0", "10.88.0.5")});
  EXPECT_TRUE(has(a, {"10.88.0.5/16"}));

  // The CLI's view of the whole ruleset: one table, the map element with its comment, the
  // base chain with its vmap rule, the network's chain and set.
  const json ruleset = nft_cli(*host_, "list ruleset");
  const auto tables = objects(ruleset, "table");
  ASSERT_EQ(tables.size(), 1u);
  EXPECT_EQ(tables[0].at("family"), "ip");
  EXPECT_EQ(tables[0].at("name"), "nsnet");
  const auto maps = objects(ruleset, "map");
  ASSERT_EQ(maps.size(), 1u);
  EXPECT_EQ(maps[0].at("elem"),
            json::parse(R"([[{"elem": {"val": "10.88.0.5", "comment": "c1/eth0"}},
                             {"jump": {"target": "masq_)" +
                        h + R"("}}]])"));
  EXPECT_EQ(names(ruleset, "chain"), (std::vector<std::string>{"masq_" + h, "masq_postrouting"}));
  for (const auto& chain : objects(ruleset, "chain")) {
    if (chain.at("name") != "masq_postrouting") continue;
    EXPECT_EQ(chain.at("type"), "nat");
    EXPECT_EQ(chain.at("hook"), "postrouting");
    EXPECT_EQ(chain.at("prio"), 100);  // srcnat
  }
  const auto sets = objects(ruleset, "set");
  ASSERT_EQ(sets.size(), 1u);
  EXPECT_EQ(sets[0].at("name"), "masq_excl_" + h);
  EXPECT_EQ(sets[0].at("comment"), "net: mynet");
  EXPECT_EQ(sets[0].at("elem"), json::parse(R"([{"prefix": {"addr": "10.88.0.0", "len": 16}},
                                                  {"prefix": {"addr": "224.0.0.0", "len": 4}}])"));
  const auto rules = objects(ruleset, "rule");
  ASSERT_EQ(rules.size(), 3u);
  EXPECT_EQ(std::count_if(rules.begin(), rules.end(),
                          [](const json& r) {
                            return r.at("expr").dump().find("\"vmap\"") != std::string::npos;
                          }),
            1);
  EXPECT_TRUE(objects(nft_cli(*host_, "list tables ip6"), "table").empty());
}

TEST_F(FwMasqueradeTest, AddIsIdempotent) {
  const auto a = att("mynet", "c1");
  add(a, {"10.88.0.5/16"}, {"192.168.0.0/16"});
  const json before = nft_cli(*host_, "list table ip nsnet");
  add(a, {"10.88.0.5/16"}, {"192.168.0.0/16"});
  add(a, {"10.88.0.5/16"}, {"192.168.0.0/16"});
  const json after = nft_cli(*host_, "list table ip nsnet");
  EXPECT_EQ(list().size(), 1u);
  EXPECT_EQ(objects(after, "rule").size(), objects(before, "rule").size());
  EXPECT_EQ(objects(after, "map"), objects(before, "map"));
  EXPECT_EQ(objects(after, "set"), objects(before, "set"));
}

TEST_F(FwMasqueradeTest, TwoAttachmentsShareTheChainAndDifferInTheMap) {
  add(att("mynet", "c1"), {"10.88.0.5/16"});
  add(att("mynet", "c2"), {"10.88.0.6/16"});
  add(att("other", "c1"), {"10.99.0.5/24"});
  EXPECT_EQ(list(), (std::vector{entry("mynet", "c1/eth0", "10.88.0.5"),
                                 entry("mynet", "c2/eth0", "10.88.0.6"),
                                 entry("other", "c1/eth0", "10.99.0.5")}));
  EXPECT_EQ(list("mynet").size(), 2u);
  EXPECT_EQ(list("nosuch").size(), 0u);
  // One chain per network plus the base chain; two rules per network chain, one in the base.
  std::vector<std::string> expected{"masq_" + network_hash("mynet"),
                                    "masq_" + network_hash("other"), "masq_postrouting"};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(chains(), expected);
  EXPECT_EQ(objects(cli_table("ip"), "rule").size(), 5u);
}

TEST_F(FwMasqueradeTest, Ipv4AndIpv6GoToTheirOwnTables) {
  const auto a = att("dual", "c1");
  add(a, {"10.88.0.5/16", "fd00:88::5/64"});
  EXPECT_EQ(list(), (std::vector{entry("dual", "c1/eth0", "10.88.0.5"),
                                 entry("dual", "c1/eth0", "fd00:88::5")}));
  EXPECT_TRUE(has(a, {"10.88.0.5/16", "fd00:88::5/64"}));
  const json v6 = cli_table("ip6");
  const auto v6sets = objects(v6, "set");
  ASSERT_EQ(v6sets.size(), 1u);
  EXPECT_EQ(v6sets[0].at("type"), "ipv6_addr");
  EXPECT_EQ(v6sets[0].at("elem"), json::parse(R"([{"prefix": {"addr": "fd00:88::", "len": 64}},
                                                   {"prefix": {"addr": "ff00::", "len": 8}}])"));
  const auto v6rules = objects(v6, "rule");
  EXPECT_EQ(v6rules.size(), 3u);

  remove(a);
  EXPECT_TRUE(list().empty());
  EXPECT_EQ(chains("ip6"), std::vector<std::string>{"masq_postrouting"});
  EXPECT_EQ(chains("ip"), std::vector<std::string>{"masq_postrouting"});
}

TEST_F(FwMasqueradeTest, ExclusionsJoinTheNetworksSet) {
  add(att("mynet", "c1"), {"10.88.0.5/24"}, {"10.0.0.0/8", "192.168.1.7/16", "fd00::/8"});
  add(att("mynet", "c2"), {"172.16.0.5/24"});
  const auto set = objects(cli_table("ip"), "set");
  ASSERT_EQ(set.size(), 1u);
  // 10.88.0.0/24 lies inside 10.0.0.0/8 (merged); host bits are cleared; the v6 exclusion is not
  // in the v4 set; the second attachment's subnet joins.
  EXPECT_EQ(set[0].at("elem"), json::parse(R"([{"prefix": {"addr": "10.0.0.0", "len": 8}},
                                                {"prefix": {"addr": "172.16.0.0", "len": 24}},
                                                {"prefix": {"addr": "192.168.0.0", "len": 16}},
                                                {"prefix": {"addr": "224.0.0.0", "len": 4}}])"))
      << set[0].dump();
  EXPECT_TRUE(objects(nft_cli(*host_, "list tables ip6"), "table").empty());
}

TEST_F(FwMasqueradeTest, RemoveTakesOnlyItsAttachmentAndTheLastTakesTheNetwork) {
  add(att("mynet", "c1"), {"10.88.0.5/16"});
  add(att("mynet", "c1", "net1"), {"10.88.0.7/16"});
  add(att("mynet", "c2"), {"10.88.0.6/16"});
  add(att("other", "c3"), {"10.99.0.5/24"});
  const std::string h = network_hash("mynet");

  remove(att("mynet", "c1"));
  EXPECT_EQ(list("mynet"), (std::vector{entry("mynet", "c1/net1", "10.88.0.7"),
                                        entry("mynet", "c2/eth0", "10.88.0.6")}));
  remove(att("mynet", "c1", "net1"));
  const auto still = chains();
  EXPECT_TRUE(std::find(still.begin(), still.end(), "masq_" + h) != still.end());
  remove(att("mynet", "c2"));
  EXPECT_TRUE(list("mynet").empty());
  EXPECT_EQ(chains(),
            (std::vector<std::string>{"masq_" + network_hash("other"), "masq_postrouting"}));
  EXPECT_EQ(sets(), std::vector<std::string>{"masq_excl_" + network_hash("other")});
  EXPECT_EQ(list(), std::vector{entry("other", "c3/eth0", "10.99.0.5")});
  // The table stays.
  EXPECT_EQ(objects(nft_cli(*host_, "list tables"), "table").size(), 1u);
}

TEST_F(FwMasqueradeTest, RemoveWhenAbsentIsNotAnError) {
  EXPECT_NO_THROW(remove(att("mynet", "c1")));
  // ...and creates nothing.
  EXPECT_TRUE(objects(nft_cli(*host_, "list tables"), "table").empty());
  add(att("mynet", "c1"), {"10.88.0.5/16"});
  EXPECT_NO_THROW(remove(att("mynet", "c2")));
  EXPECT_NO_THROW(remove(att("nosuch", "c1")));
  EXPECT_EQ(list().size(), 1u);
  remove(att("mynet", "c1"));
  EXPECT_NO_THROW(remove(att("mynet", "c1")));
  EXPECT_TRUE(list().empty());
}

TEST_F(FwMasqueradeTest, GcKeepsExactlyTheValidAttachments) {
  add(att("mynet", "c1"), {"10.88.0.1/16"});
  add(att("mynet", "c2"), {"10.88.0.2/16", "fd00:88::2/64"});
  add(att("mynet", "c3"), {"10.88.0.3/16"});
  add(att("other", "c2"), {"10.99.0.2/24"});

  host_->run([] {
    gc_masquerade("mynet", {att("mynet", "c2"), att("other", "c1"), att("mynet", "gone")});
  });
  EXPECT_EQ(list(), (std::vector{entry("mynet", "c2/eth0", "10.88.0.2"),
                                 entry("mynet", "c2/eth0", "fd00:88::2"),
                                 entry("other", "c2/eth0", "10.99.0.2")}));
  // Idempotent.
  host_->run([] { gc_masquerade("mynet", {att("mynet", "c2")}); });
  EXPECT_EQ(list().size(), 3u);
  // An empty valid list removes the whole network, in both families.
  host_->run([] { gc_masquerade("mynet", {}); });
  EXPECT_EQ(list(), std::vector{entry("other", "c2/eth0", "10.99.0.2")});
  EXPECT_EQ(chains("ip6"), std::vector<std::string>{"masq_postrouting"});
  EXPECT_TRUE(sets("ip6").empty());
  EXPECT_EQ(chains("ip"),
            (std::vector<std::string>{"masq_" + network_hash("other"), "masq_postrouting"}));
}

TEST_F(FwMasqueradeTest, BadInputIsAConfigError) {
  EXPECT_THROW((void)Prefix::parse("10.88.0.0/33"), Error);  // what a bad ipMasqExclude gives
  const auto expect_config_error = [&](const Attachment& a, const std::vector<std::string>& addrs) {
    try {
      add(a, addrs);
      ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidNetworkConfig) << e.what();
      EXPECT_TRUE(e.msg().starts_with("add masquerade ")) << e.msg();
    }
  };
  expect_config_error(att("mynet", "c1"), {"224.0.0.5/4"});
  expect_config_error(att("mynet", "c1"), {"0.0.0.0/8"});
  expect_config_error(att("mynet", "c1"), {"::1/128"});
  expect_config_error(att("mynet", "c1"), {});
  expect_config_error(att("", "c1"), {"10.88.0.5/16"});
  // Nothing was created.
  EXPECT_TRUE(objects(nft_cli(*host_, "list tables"), "table").empty());
}

TEST_F(FwMasqueradeTest, AnAddressLeakedByAnotherNetworkIsTakenOver) {
  add(att("old", "c1"), {"10.88.0.5/16"});
  add(att("new", "c2"), {"10.88.0.5/16"});
  EXPECT_EQ(list(), std::vector{entry("new", "c2/eth0", "10.88.0.5")});
  // The old network lost its last entry; its objects stay until it is removed or collected.
  remove(att("old", "c1"));
  EXPECT_EQ(chains(),
            (std::vector<std::string>{"masq_" + network_hash("new"), "masq_postrouting"}));
  // Re-adding under another attachment of the same network retags the element.
  add(att("new", "c3"), {"10.88.0.5/16"});
  EXPECT_EQ(list(), std::vector{entry("new", "c3/eth0", "10.88.0.5")});
}

TEST_F(FwMasqueradeTest, CheckNoticesTampering) {
  const auto a = att("mynet", "c1");
  add(a, {"10.88.0.5/16"});
  EXPECT_TRUE(has(a, {"10.88.0.5/16"}));
  EXPECT_FALSE(has(a, {"10.88.0.5/16", "10.88.0.9/16"}));
  EXPECT_FALSE(has(att("mynet", "c2"), {"10.88.0.5/16"}));
  EXPECT_FALSE(has(att("other", "c1"), {"10.88.0.5/16"}));
  (void)nsnet::testing::run_in_netns(*host_, "nft flush chain ip nsnet masq_postrouting");
  EXPECT_FALSE(has(a, {"10.88.0.5/16"}));
  add(a, {"10.88.0.5/16"});  // ADD repairs
  EXPECT_TRUE(has(a, {"10.88.0.5/16"}));
  (void)nsnet::testing::run_in_netns(*host_,
                                     "nft flush chain ip nsnet masq_" + network_hash("mynet"));
  EXPECT_FALSE(has(a, {"10.88.0.5/16"}));
}

TEST_F(FwMasqueradeTest, ManyAttachmentsStayOneLookup) {
  constexpr int kCount = 150;
  host_->run([&] {
    for (int i = 0; i < kCount; ++i)
      add_masquerade(att("big", "c" + std::to_string(i)),
                     {Prefix::parse("10.90." + std::to_string(i / 250) + "." +
                                    std::to_string(i % 250 + 1) + "/16")});
  });
  EXPECT_EQ(list("big").size(), static_cast<std::size_t>(kCount));
  EXPECT_EQ(objects(cli_table("ip"), "rule").size(), 3u);  // rules do not grow with attachments
  host_->run([] { gc_masquerade("big", {}); });
  EXPECT_TRUE(list().empty());
}

TEST_F(FwMasqueradeTest, TheKernelKeepsAChainWhileAnElementJumpsToIt) {
  // What makes remove's clean-up safe against a concurrent add without a lock.
  add(att("mynet", "c1"), {"10.88.0.5/16"});
  const std::string chain = "masq_" + network_hash("mynet");
  EXPECT_THROW(host_->run([&] { run_batch("delete chain ip nsnet " + chain + "\n"); }), Error);
  EXPECT_TRUE(has(att("mynet", "c1"), {"10.88.0.5/16"}));
}

TEST_F(FwMasqueradeTest, ConcurrentProcessesNeverLoseAnAttachment) {
  // Several processes add, check and remove their own attachment on one network, so that the
  // network's last attachment keeps going while another one arrives. Each must find its entry
  // in place between its add and its remove.
  constexpr int kProcesses = 4;
  constexpr int kRounds = 15;
  std::vector<pid_t> children;
  for (int p = 0; p < kProcesses; ++p) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int status = 0;
      try {
        host_->run([&] {
          const auto a = att("race", "c" + std::to_string(p));
          const std::vector<Prefix> addrs{
              Prefix::parse("10.66.0." + std::to_string(p + 1) + "/24")};
          for (int round = 0; round < kRounds && status == 0; ++round) {
            add_masquerade(a, addrs);
            if (!has_masquerade(a, addrs)) status = 2;
            remove_masquerade(a);
          }
        });
      } catch (const std::exception& e) {
        std::fprintf(stderr, "child %d: %s\n", p, e.what());
        status = 3;
      }
      ::_exit(status);
    }
    children.push_back(pid);
  }
  for (const pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  }
  EXPECT_TRUE(list().empty());
  EXPECT_EQ(chains(), std::vector<std::string>{"masq_postrouting"});
}

// Data path: container_ (10.77.0.2) -> host_ (forwarding, masquerading) -> outside (198.18.0.2).
// The outside namespace has no route back to 10.77.0.0/24, and sees who sent each datagram.
class FwMasqueradeTrafficTest : public nsnet::testing::SandboxTest {
 protected:
  static constexpr std::uint16_t kPort = 5555;

  void SetUp() override {
    SandboxTest::SetUp();
    if (IsSkipped()) return;
    outside_.emplace(net::Netns::create());
    const auto nl = host_->run([] { return net::Netlink::connect(); });
    const auto ctr_nl = container_->run([] { return net::Netlink::connect(); });
    const auto out_nl = outside_->run([] { return net::Netlink::connect(); });

    const auto to_ctr = net::create_veth(
        nl, {.name = unique_name("fwc"), .peer_name = "eth0", .peer_netns = &*container_});
    const auto to_out = net::create_veth(
        nl, {.name = unique_name("fwo"), .peer_name = "eth0", .peer_netns = &*outside_});
    net::add_address(nl, to_ctr.index, Prefix::parse("10.77.0.1/24"));
    net::add_address(nl, to_out.index, Prefix::parse("198.18.0.1/24"));
    net::set_up(nl, to_ctr.index);
    net::set_up(nl, to_out.index);

    const auto ctr_eth0 = net::get_link(ctr_nl, "eth0");
    net::add_address(ctr_nl, ctr_eth0.index, Prefix::parse("10.77.0.2/24"));
    net::set_up(ctr_nl, ctr_eth0.index);
    net::add_route(ctr_nl,
                   {.dst = Prefix::parse("0.0.0.0/0"), .gateway = parse_ip_address("10.77.0.1")});

    const auto out_eth0 = net::get_link(out_nl, "eth0");
    net::add_address(out_nl, out_eth0.index, Prefix::parse("198.18.0.2/24"));
    net::set_up(out_nl, out_eth0.index);

    host_->run([] { net::write_sysctl("net/ipv4/ip_forward", "1"); });
    listener_ = outside_->run([] {
      UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
      if (!fd) throw_errno("socket");
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(kPort);
      ::inet_pton(AF_INET, "198.18.0.2", &addr.sin_addr);
      if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
        throw_errno("bind");
      return fd;
    });
  }
  void TearDown() override {
    listener_.reset();
    outside_.reset();
    SandboxTest::TearDown();
  }

  // Sends one datagram from the container (a fresh socket, so a fresh source port and conntrack
  // entry) and returns the source address the outside listener saw.
  std::string send_and_see_source() {
    container_->run([] {
      UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
      if (!fd) throw_errno("socket");
      sockaddr_in to{};
      to.sin_family = AF_INET;
      to.sin_port = htons(kPort);
      ::inet_pton(AF_INET, "198.18.0.2", &to.sin_addr);
      if (::sendto(fd.get(), "x", 1, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) != 1)
        throw_errno("sendto");
    });
    pollfd pfd{.fd = listener_.get(), .events = POLLIN, .revents = 0};
    if (::poll(&pfd, 1, 3000) != 1) return "timeout";
    sockaddr_in from{};
    socklen_t len = sizeof from;
    char byte;
    if (::recvfrom(listener_.get(), &byte, 1, 0, reinterpret_cast<sockaddr*>(&from), &len) != 1)
      return "recvfrom failed";
    char text[INET_ADDRSTRLEN];
    return ::inet_ntop(AF_INET, &from.sin_addr, text, sizeof text);
  }

  std::optional<net::Netns> outside_;
  UniqueFd listener_;
};

TEST_F(FwMasqueradeTrafficTest, ContainerTrafficLeavesWithTheHostsAddress) {
  EXPECT_EQ(send_and_see_source(), "10.77.0.2");  // routed, not translated

  const Attachment a{.network = "trafficnet", .container_id = "c1", .ifname = "eth0"};
  host_->run([&] { add_masquerade(a, {Prefix::parse("10.77.0.2/24")}); });
  EXPECT_EQ(send_and_see_source(), "198.18.0.1");

  host_->run([&] { remove_masquerade(a); });
  EXPECT_EQ(send_and_see_source(), "10.77.0.2");

  // An excluded destination is not translated.
  host_->run([&] {
    add_masquerade(a, {Prefix::parse("10.77.0.2/24")}, {Prefix::parse("198.18.0.0/24")});
  });
  EXPECT_EQ(send_and_see_source(), "10.77.0.2");
}

}  // namespace
}  // namespace netcore::fw
