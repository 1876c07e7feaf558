#include "netcore/net/neighbour.hpp"

#include <linux/neighbour.h>
#include <netlink/errno.h>

#include <algorithm>
#include <optional>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "netcore/base/error.hpp"
#include "netcore/net/link.hpp"
#include "netcore/net/netlink.hpp"
#include "support/sandbox.hpp"

namespace netcore::net {
namespace {

using nlohmann::json;

class NeighbourTest : public nsnet::testing::SandboxTest {
 protected:
  void SetUp() override {
    SandboxTest::SetUp();
    if (IsSkipped()) return;
    nl_.emplace(host_->run([] { return Netlink::connect(); }));
    link_ = create_veth(*nl_, {.name = unique_name("nb"), .peer_name = unique_name("nbp")});
    set_up(*nl_, link_.index);
  }
  void TearDown() override {
    nl_.reset();
    SandboxTest::TearDown();
  }

  std::optional<NeighbourInfo> find(const std::string& ip) const {
    for (auto& n : list_neighbours(*nl_, AF_UNSPEC, link_.index))
      if (n.ip.to_string() == ip) return n;
    return std::nullopt;
  }
  json run_json(const std::string& command) const {
    return json::parse(nsnet::testing::run_in_netns(*host_, command));
  }

  std::optional<Netlink> nl_;
  LinkInfo link_;
};

TEST_F(NeighbourTest, StaticArpAndNdpEntries) {
  const Neighbour v4{.ifindex = link_.index,
                     .ip = parse_ip_address("10.0.0.7"),
                     .mac = MacAddress::parse("02:00:00:00:00:07")};
  const Neighbour v6{.ifindex = link_.index,
                     .ip = parse_ip_address("fd00::7"),
                     .mac = MacAddress::parse("02:00:00:00:00:08")};
  add_neighbour(*nl_, v4);
  add_neighbour(*nl_, v6);
  auto found = find("10.0.0.7");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->mac, v4.mac);
  EXPECT_TRUE(found->state & NUD_PERMANENT);
  ASSERT_TRUE(find("fd00::7").has_value());
  EXPECT_EQ(find("fd00::7")->mac, v6.mac);
  EXPECT_EQ(list_neighbours(*nl_, AF_INET6, link_.index).size(), 1u);

  json neighs = run_json("ip -j neigh show dev " + link_.name + " 10.0.0.7");
  ASSERT_EQ(neighs.size(), 1u);
  EXPECT_EQ(neighs[0]["lladdr"], "02:00:00:00:00:07");
  EXPECT_EQ(neighs[0]["state"], json::array({"PERMANENT"}));

  try {
    add_neighbour(*nl_, v4);
    FAIL() << "no error";
  } catch (const NetlinkError& e) {
    EXPECT_EQ(e.nl_error(), NLE_EXIST);
    EXPECT_NE(e.msg().find("add neighbour 10.0.0.7"), std::string::npos) << e.msg();
  }
}

TEST_F(NeighbourTest, ReplaceAndDelete) {
  Neighbour n{.ifindex = link_.index,
              .ip = parse_ip_address("10.0.0.8"),
              .mac = MacAddress::parse("02:00:00:00:00:09")};
  replace_neighbour(*nl_, n);  // creates
  n.mac = MacAddress::parse("02:00:00:00:00:0a");
  n.permanent = false;
  replace_neighbour(*nl_, n);
  auto found = find("10.0.0.8");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->mac, n.mac);
  EXPECT_FALSE(found->state & NUD_PERMANENT);
  delete_neighbour(*nl_, n);
  found = find("10.0.0.8");
  EXPECT_TRUE(!found.has_value() || found->state == NUD_FAILED || found->state == NUD_NONE);
  EXPECT_THROW(delete_neighbour(
                   *nl_, Neighbour{.ifindex = link_.index, .ip = parse_ip_address("10.0.0.99")}),
               NetlinkError);
}

TEST_F(NeighbourTest, VxlanFdbEntryWithRemote) {
  const LinkInfo vx = create_vxlan(*nl_, {.name = unique_name("vx"),
                                          .vni = 10,
                                          .local = parse_ip_address("10.0.0.1"),
                                          .underlay_index = link_.index,
                                          .learning = false});
  const FdbEntry entry{.ifindex = vx.index,
                       .mac = MacAddress::parse("02:00:00:00:fd:01"),
                       .dst = parse_ip_address("10.0.0.2")};
  add_neighbour(*nl_, entry);
  const auto entries = list_fdb_entries(*nl_, vx.index);
  ASSERT_EQ(std::count(entries.begin(), entries.end(), entry), 1) << entries.size();

  json fdb = run_json("bridge -j fdb show dev " + vx.name);
  const auto it = std::find_if(fdb.begin(), fdb.end(), [](const json& e) {
    return e.value("mac", json()) == "02:00:00:00:fd:01";
  });
  ASSERT_NE(it, fdb.end()) << fdb.dump();
  EXPECT_EQ((*it)["dst"], "10.0.0.2");
  EXPECT_EQ((*it)["state"], "permanent");

  EXPECT_THROW(add_neighbour(*nl_, entry), NetlinkError);
  FdbEntry moved = entry;
  moved.dst = parse_ip_address("10.0.0.3");
  replace_neighbour(*nl_, moved);
  auto after = list_fdb_entries(*nl_, vx.index);
  EXPECT_EQ(std::count(after.begin(), after.end(), moved), 1);
  delete_neighbour(*nl_, moved);
  after = list_fdb_entries(*nl_, vx.index);
  EXPECT_TRUE(std::none_of(after.begin(), after.end(),
                           [&](const FdbEntry& e) { return e.mac == entry.mac; }));
}

TEST_F(NeighbourTest, BridgeFdbEntryOnAPort) {
  const LinkInfo bridge = ensure_bridge(*nl_, {.name = unique_name("br")});
  set_master(*nl_, link_.index, bridge.index);
  const FdbEntry entry{.ifindex = link_.index,
                       .mac = MacAddress::parse("02:00:00:00:fd:02"),
                       .self = false,
                       .master = true,
                       .state = FdbState::kStatic};
  add_neighbour(*nl_, entry);
  const auto entries = list_fdb_entries(*nl_, link_.index);
  EXPECT_EQ(std::count(entries.begin(), entries.end(), entry), 1) << entries.size();
  json fdb = run_json("bridge -j fdb show br " + bridge.name);
  EXPECT_TRUE(std::any_of(fdb.begin(), fdb.end(), [&](const json& e) {
    return e.value("mac", json()) == "02:00:00:00:fd:02" &&
           e.value("ifname", json()) == link_.name && e.value("state", json()) == "static";
  })) << fdb.dump();
  delete_neighbour(*nl_, entry);
  const auto after = list_fdb_entries(*nl_, link_.index);
  EXPECT_TRUE(std::none_of(after.begin(), after.end(),
                           [&](const FdbEntry& e) { return e.mac == entry.mac; }));
}

}  // namespace
}  // namespace netcore::net
