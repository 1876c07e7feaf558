// netcore::fw firewall against the kernel, below the plugin: both address families, CHECK,
// leaked elements taken over, and concurrent ADD/DEL on one bridge's isolation. Every call runs
// inside host_->run, so rules land in the test's own "host" namespace.

#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "netcore/fw/firewall.hpp"
#include "support/sandbox.hpp"

namespace {

namespace fw = netcore::fw;
namespace net = netcore::net;
using nsnet::testing::run_in_netns;

class FwFirewallTest : public nsnet::testing::SandboxTest {
 protected:
  fw::FirewallRules rules(fw::IngressPolicy policy, const std::vector<std::string>& addresses,
                          const std::string& port = "vethx") {
    fw::FirewallRules r;
    for (const auto& a : addresses) r.addresses.push_back(net::parse_ip_address(a));
    r.policy = policy;
    r.bridge = "brx";
    r.ports = {port};
    return r;
  }
};

TEST_F(FwFirewallTest, BothFamiliesAreAddedCheckedAndRemoved) {
  const fw::Attachment a{"net1", "c1", "eth0"};
  const auto r = rules(fw::IngressPolicy::kIsolated, {"10.80.0.2", "fd80::2"});
  host_->run([&] {
    fw::add_firewall(a, r);
    fw::add_firewall(a, r);  // idempotent
    EXPECT_TRUE(fw::has_firewall(a, r));
    const auto entries = fw::list_firewall();
    EXPECT_EQ(entries.size(), 5u);  // 2 addresses, 2 members, 1 port
    for (const auto& e : entries) {
      EXPECT_EQ(e.tag, fw::firewall_tag(a));
      if (e.kind == "member") {
        EXPECT_EQ(e.bridge, "brx");
      }
    }
  });
  const std::string inet = run_in_netns(*host_, "nft list table inet nsnet_firewall");
  EXPECT_NE(inet.find("ip6 saddr @fw_addr6 accept"), std::string::npos) << inet;
  EXPECT_NE(inet.find("fd80::2 comment"), std::string::npos) << inet;
  host_->run([&] {
    auto other = r;
    other.addresses.push_back(net::parse_ip_address("10.80.0.3"));
    EXPECT_FALSE(fw::has_firewall(a, other));
    fw::remove_firewall(a);
    EXPECT_TRUE(fw::list_firewall().empty());
    EXPECT_FALSE(fw::has_firewall(a, r));
    fw::remove_firewall(a);  // idempotent
  });
  // The tables and the admin chain stay; the bridge's isolation chain went.
  const std::string after = run_in_netns(*host_, "nft list table inet nsnet_firewall");
  EXPECT_NE(after.find("chain CNI-ADMIN"), std::string::npos) << after;
  EXPECT_EQ(after.find("chain iso_"), std::string::npos) << after;
}

TEST_F(FwFirewallTest, LeakedElementsOfTheSameAddressAreTakenOver) {
  const fw::Attachment stale{"net1", "gone", "eth0"};
  const fw::Attachment fresh{"net1", "new", "eth0"};
  host_->run([&] {
    fw::add_firewall(stale, rules(fw::IngressPolicy::kSameBridge, {"10.80.0.2"}));
    auto r = rules(fw::IngressPolicy::kSameBridge, {"10.80.0.2"});
    r.bridge = "bry";  // the member now keeps another bridge isolated
    fw::add_firewall(fresh, r);
    EXPECT_TRUE(fw::has_firewall(fresh, r));
    for (const auto& e : fw::list_firewall()) EXPECT_EQ(e.tag, fw::firewall_tag(fresh));
    fw::remove_firewall(stale);  // finds nothing of its own any more
    EXPECT_TRUE(fw::has_firewall(fresh, r));
  });
}

TEST_F(FwFirewallTest, ConcurrentAddsAndRemovesKeepIsolationExactlyWhileMembersRemain) {
  constexpr int kCount = 8;
  auto attachment = [](int i) { return fw::Attachment{"net1", "c" + std::to_string(i), "eth0"}; };
  auto rules_of = [&](int i) {
    return rules(fw::IngressPolicy::kIsolated, {"10.81.0." + std::to_string(i + 2)},
                 "veth" + std::to_string(i));
  };
  auto in_parallel = [&](auto fn) {
    std::vector<std::thread> threads;
    for (int i = 0; i < kCount; ++i) threads.emplace_back([&, i] { host_->run([&] { fn(i); }); });
    for (auto& t : threads) t.join();
  };
  in_parallel([&](int i) { fw::add_firewall(attachment(i), rules_of(i)); });
  host_->run([&] {
    EXPECT_EQ(fw::list_firewall().size(), 3u * kCount);
    for (int i = 0; i < kCount; ++i) EXPECT_TRUE(fw::has_firewall(attachment(i), rules_of(i)));
  });
  // Half leave while the other half re-add: the bridge stays isolated for those that remain.
  in_parallel([&](int i) {
    if (i % 2 == 0)
      fw::remove_firewall(attachment(i));
    else
      fw::add_firewall(attachment(i), rules_of(i));
  });
  host_->run([&] {
    EXPECT_EQ(fw::list_firewall().size(), 3u * kCount / 2);
    for (int i = 1; i < kCount; i += 2) EXPECT_TRUE(fw::has_firewall(attachment(i), rules_of(i)));
  });
  in_parallel([&](int i) {
    if (i % 2 == 1) fw::remove_firewall(attachment(i));
  });
  host_->run([&] { EXPECT_TRUE(fw::list_firewall().empty()); });
  const std::string after = run_in_netns(*host_, "nft list table inet nsnet_firewall");
  EXPECT_EQ(after.find("chain iso_"), std::string::npos) << after;
  EXPECT_EQ(after.find("\"brx\""), std::string::npos) << after;
}

}  // namespace
