#include <gtest/gtest.h>
#include <linux/pkt_sched.h>
#include <netlink/errno.h>

#include <nlohmann/json.hpp>
#include <string>

#include "netcore/base/error.hpp"
#include "netcore/net/link.hpp"
#include "netcore/net/netlink.hpp"
#include "netcore/net/tc.hpp"
#include "support/sandbox.hpp"

namespace netcore::net {
namespace {

using nlohmann::json;

// netcore's tc on an ifb pair in the sandbox "host", with `tc -j` as the independent witness.
class TcTest : public nsnet::testing::SandboxTest {
 protected:
  void SetUp() override {
    SandboxTest::SetUp();
    if (IsSkipped()) return;
    nl_.emplace(host_->run([] { return Netlink::connect(); }));
  }
  void TearDown() override {
    nl_.reset();
    SandboxTest::TearDown();
  }
  const Netlink& nl() const { return *nl_; }
  std::optional<Netlink> nl_;
};

TEST_F(TcTest, RootTbfRoundTrip) {
  const auto dev = create_ifb(nl(), unique_name("tc"));
  add_root_tbf(nl(), dev.index, {.rate = 125'000, .burst = 5'000, .limit = 8'125});
  const auto qdiscs = list_qdiscs(nl(), dev.index);
  ASSERT_EQ(qdiscs.size(), 1u);
  EXPECT_EQ(qdiscs[0].kind, "tbf");
  EXPECT_EQ(qdiscs[0].handle, 0x00010000u);
  EXPECT_EQ(qdiscs[0].parent, TC_H_ROOT);
  ASSERT_TRUE(qdiscs[0].tbf);
  EXPECT_EQ(qdiscs[0].tbf->rate, 125'000u);
  EXPECT_EQ(qdiscs[0].tbf->limit, 8'125u);
  EXPECT_EQ(qdiscs[0].tbf->buffer, tbf_buffer_ticks(125'000, 5'000));
  // tc converts the ticks back into the bucket's bytes.
  const auto tc =
      json::parse(nsnet::testing::run_in_netns(*host_, "tc -j qdisc show dev " + dev.name));
  ASSERT_EQ(tc.size(), 1u);
  EXPECT_EQ(tc[0].at("options").at("rate"), 125'000);
  EXPECT_EQ(tc[0].at("options").at("burst"), 5'000);

  // A second root tbf is refused; deleting works once, then reports there was none.
  try {
    add_root_tbf(nl(), dev.index, {.rate = 1, .burst = 1, .limit = 1});
    ADD_FAILURE() << "a second root tbf was accepted";
  } catch (const NetlinkError& e) {
    EXPECT_EQ(e.nl_error(), NLE_EXIST) << e.what();
  }
  EXPECT_TRUE(delete_qdisc_if_exists(nl(), dev.index, TC_H_ROOT));
  EXPECT_FALSE(delete_qdisc_if_exists(nl(), dev.index, TC_H_ROOT));
  EXPECT_FALSE(delete_qdisc_if_exists(nl(), 9999, TC_H_ROOT));
}

TEST_F(TcTest, RejectsValuesLibnlCannotCarry) {
  const auto dev = create_ifb(nl(), unique_name("tc"));
  for (const TbfSpec spec : {TbfSpec{.rate = 0, .burst = 1, .limit = 1},
                             TbfSpec{.rate = kMaxTbfValue + 1, .burst = 1, .limit = 1},
                             TbfSpec{.rate = 1, .burst = 1, .limit = kMaxTbfValue + 1}}) {
    try {
      add_root_tbf(nl(), dev.index, spec);
      ADD_FAILURE() << "accepted rate " << spec.rate << " limit " << spec.limit;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidNetworkConfig) << e.what();
    }
  }
  EXPECT_TRUE(list_qdiscs(nl(), dev.index).empty() || list_qdiscs(nl(), dev.index)[0].handle == 0);
}

TEST_F(TcTest, IngressQdiscAndRedirectFilter) {
  const auto from = create_ifb(nl(), unique_name("tf"));
  const auto to = create_ifb(nl(), unique_name("tt"));
  EXPECT_TRUE(list_filters(nl(), from.index, 0xffff0000).empty());  // no ingress qdisc yet
  add_ingress_qdisc(nl(), from.index);
  add_redirect_filter(nl(), from.index, to.index);
  const auto filters = list_filters(nl(), from.index, 0xffff0000);
  ASSERT_EQ(filters.size(), 1u);
  EXPECT_EQ(filters[0].kind, "u32");
  EXPECT_EQ(filters[0].priority, 1u);
  EXPECT_EQ(filters[0].protocol, 3);  // ETH_P_ALL
  EXPECT_EQ(filters[0].redirect_ifindex, to.index);
  const auto tc =
      nsnet::testing::run_in_netns(*host_, "tc filter show dev " + from.name + " ingress");
  EXPECT_NE(tc.find("Egress Redirect to device " + to.name), std::string::npos) << tc;
  EXPECT_NE(tc.find("match 00000000/00000000"), std::string::npos) << tc;

  // Deleting the ingress qdisc takes the filter with it.
  EXPECT_TRUE(delete_qdisc_if_exists(nl(), from.index, TC_H_INGRESS));
  EXPECT_TRUE(list_filters(nl(), from.index, 0xffff0000).empty());
  EXPECT_FALSE(delete_qdisc_if_exists(nl(), from.index, TC_H_INGRESS));
}

TEST_F(TcTest, LinkAlias) {
  const auto dev = create_ifb(nl(), unique_name("ta"));
  EXPECT_EQ(dev.alias, "");
  set_alias(nl(), dev.index, "nsnet-bandwidth net ctr/eth0");
  EXPECT_EQ(get_link(nl(), dev.index).alias, "nsnet-bandwidth net ctr/eth0");
  const auto ip =
      json::parse(nsnet::testing::run_in_netns(*host_, "ip -j link show dev " + dev.name));
  EXPECT_EQ(ip.at(0).at("ifalias"), "nsnet-bandwidth net ctr/eth0");
  try {
    set_alias(nl(), dev.index, std::string(256, 'a'));
    ADD_FAILURE() << "accepted a 256-byte alias";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidNetworkConfig);
  }
}

}  // namespace
}  // namespace netcore::net
