#include "netcore/net/link.hpp"

#include <netlink/errno.h>

#include <algorithm>
#include <optional>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "netcore/base/error.hpp"
#include "netcore/net/netlink.hpp"
#include "support/sandbox.hpp"

namespace netcore::net {
namespace {

using nlohmann::json;

// Sockets in both sandbox namespaces, and `ip -j` as the independent witness.
class LinkTest : public nsnet::testing::SandboxTest {
 protected:
  void SetUp() override {
    SandboxTest::SetUp();
    if (IsSkipped()) return;
    nl_.emplace(host_->run([] { return Netlink::connect(); }));
    ctr_nl_.emplace(container_->run([] { return Netlink::connect(); }));
  }
  void TearDown() override {
    ctr_nl_.reset();
    nl_.reset();
    SandboxTest::TearDown();
  }

  const Netlink& nl() const { return *nl_; }
  const Netlink& ctr_nl() const { return *ctr_nl_; }

  // `ip -j -d link show dev NAME` in `ns`: the link's JSON object.
  static json ip_link(const Netns& ns, const std::string& name) {
    json links = json::parse(nsnet::testing::run_in_netns(ns, "ip -j -d link show dev " + name));
    EXPECT_EQ(links.size(), 1u);
    return links.empty() ? json::object() : links[0];
  }
  static bool has_flag(const json& link, const std::string& flag) {
    const auto& flags = link.at("flags");
    return std::find(flags.begin(), flags.end(), flag) != flags.end();
  }

  // A veth pair with both ends in the host namespace.
  LinkInfo make_local_veth(const std::string& prefix) {
    return create_veth(nl(), {.name = unique_name(prefix), .peer_name = unique_name(prefix + "p")});
  }

  std::optional<Netlink> nl_;
  std::optional<Netlink> ctr_nl_;
};

TEST_F(LinkTest, VethCreatesThePeerDirectlyInTheOtherNamespace) {
  const auto name = unique_name("vh");
  const auto peer = unique_name("vc");
  const auto mac = MacAddress::parse("02:00:00:00:00:01");
  const auto peer_mac = MacAddress::parse("02:00:00:00:00:02");
  const LinkInfo host_end = create_veth(nl(), {.name = name,
                                               .peer_name = peer,
                                               .peer_netns = &*container_,
                                               .mtu = 1400,
                                               .mac = mac,
                                               .peer_mac = peer_mac});
  EXPECT_EQ(host_end.name, name);
  EXPECT_EQ(host_end.kind, "veth");
  EXPECT_EQ(host_end.mtu, 1400u);
  EXPECT_EQ(host_end.mac, mac);
  EXPECT_FALSE(host_end.up);
  EXPECT_FALSE(find_link(nl(), peer).has_value());

  const auto ctr_end = find_link(ctr_nl(), peer);
  ASSERT_TRUE(ctr_end.has_value());
  EXPECT_EQ(ctr_end->kind, "veth");
  EXPECT_EQ(ctr_end->mtu, 1400u);
  EXPECT_EQ(ctr_end->mac, peer_mac);

  json ip = ip_link(*host_, name);
  EXPECT_EQ(ip["linkinfo"]["info_kind"], "veth");
  EXPECT_EQ(ip["mtu"], 1400);
  EXPECT_EQ(ip["address"], "02:00:00:00:00:01");
  EXPECT_EQ(ip_link(*container_, peer)["address"], "02:00:00:00:00:02");
}

TEST_F(LinkTest, VethInOneNamespaceLinksBothEnds) {
  const LinkInfo a = make_local_veth("va");
  const LinkInfo b = get_link(nl(), unique_name("vap"));
  EXPECT_EQ(a.link_index, b.index);
  EXPECT_EQ(b.link_index, a.index);
}

TEST_F(LinkTest, VethWithATakenNameSaysAlreadyExists) {
  const auto name = unique_name("vx");
  const auto peer = unique_name("vy");
  (void)create_veth(nl(), {.name = name, .peer_name = peer, .peer_netns = &*container_});
  try {
    (void)create_veth(nl(),
                      {.name = name, .peer_name = unique_name("vz"), .peer_netns = &*container_});
    FAIL() << "no error";
  } catch (const NetlinkError& e) {
    EXPECT_EQ(e.nl_error(), NLE_EXIST);
    EXPECT_NE(e.msg().find("link " + name + " already exists"), std::string::npos) << e.msg();
  }
  // The peer's name is taken in the container.
  try {
    (void)create_veth(nl(),
                      {.name = unique_name("vw"), .peer_name = peer, .peer_netns = &*container_});
    FAIL() << "no error";
  } catch (const NetlinkError& e) {
    EXPECT_EQ(e.nl_error(), NLE_EXIST);
    EXPECT_NE(e.msg().find("link " + peer + " already exists"), std::string::npos) << e.msg();
  }
  EXPECT_FALSE(find_link(nl(), unique_name("vw")).has_value());  // nothing half-built
}

TEST_F(LinkTest, FindGetAndListLinks) {
  const auto lo = find_link(nl(), "lo");
  ASSERT_TRUE(lo.has_value());
  EXPECT_EQ(lo->index, 1);
  EXPECT_EQ(lo->kind, "");
  EXPECT_EQ(lo->mac, MacAddress());
  EXPECT_EQ(find_link(nl(), 1)->name, "lo");
  EXPECT_FALSE(find_link(nl(), unique_name("none")).has_value());
  EXPECT_FALSE(find_link(nl(), 999999).has_value());
  try {
    (void)get_link(nl(), unique_name("none"));
    FAIL() << "no error";
  } catch (const NetlinkError& e) {
    EXPECT_EQ(e.nl_error(), NLE_NODEV);
    EXPECT_NE(e.msg().find("get link " + unique_name("none")), std::string::npos) << e.msg();
  }
  EXPECT_THROW((void)get_link(nl(), 999999), NetlinkError);

  const LinkInfo veth = make_local_veth("ls");
  const auto links = list_links(nl());
  ASSERT_EQ(links.size(), 3u);  // lo and the pair
  EXPECT_EQ(links[0].name, "lo");
  EXPECT_TRUE(std::any_of(links.begin(), links.end(), [&](const LinkInfo& l) {
    return l.index == veth.index && l.kind == "veth";
  }));
}

TEST_F(LinkTest, InvalidNamesAreRejectedBeforeReachingTheKernel) {
  for (const std::string bad : {"", "sixteen-bytes-xx", "a/b", "a:b", "a b", ".", ".."}) {
    try {
      (void)find_link(nl(), bad);
      ADD_FAILURE() << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidNetworkConfig) << bad;
    }
  }
  EXPECT_THROW(
      (void)create_veth(nl(), {.name = "fifteen-bytes-x" + std::string("y"), .peer_name = "p"}),
      Error);
}

TEST_F(LinkTest, EnsureBridgeIsIdempotent) {
  const auto name = unique_name("br");
  const auto mac = MacAddress::parse("02:00:00:00:0b:01");
  const LinkInfo first =
      ensure_bridge(nl(), {.name = name, .mtu = 1400, .mac = mac, .promisc = true});
  EXPECT_EQ(first.kind, "bridge");
  EXPECT_TRUE(first.up);
  EXPECT_TRUE(first.promisc);
  EXPECT_EQ(first.mtu, 1400u);
  EXPECT_EQ(first.mac, mac);
  const LinkInfo second = ensure_bridge(nl(), {.name = name});
  EXPECT_EQ(second.index, first.index);
  EXPECT_TRUE(second.up);

  json ip = ip_link(*host_, name);
  EXPECT_EQ(ip["linkinfo"]["info_kind"], "bridge");
  EXPECT_TRUE(has_flag(ip, "UP"));
  EXPECT_TRUE(has_flag(ip, "PROMISC"));
  EXPECT_EQ(ip["address"], "02:00:00:00:0b:01");
}

TEST_F(LinkTest, EnsureBridgeRefusesALinkOfAnotherKind) {
  const LinkInfo veth = make_local_veth("nb");
  try {
    (void)ensure_bridge(nl(), {.name = veth.name});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInternal);
    EXPECT_NE(e.msg().find(veth.name + " already exists but is not a bridge"), std::string::npos)
        << e.msg();
  }
}

TEST_F(LinkTest, SetMasterAndNomaster) {
  const LinkInfo bridge = ensure_bridge(nl(), {.name = unique_name("br")});
  const LinkInfo veth = make_local_veth("pm");
  set_master(nl(), veth.index, bridge.index);
  LinkInfo port = get_link(nl(), veth.index);
  EXPECT_EQ(port.master_index, bridge.index);
  EXPECT_EQ(port.slave_kind, "bridge");
  EXPECT_EQ(ip_link(*host_, veth.name)["master"], bridge.name);

  set_nomaster(nl(), veth.index);
  port = get_link(nl(), veth.index);
  EXPECT_EQ(port.master_index, 0);
  EXPECT_FALSE(ip_link(*host_, veth.name).contains("master"));
}

TEST_F(LinkTest, UpDownMtuMacPromisc) {
  const LinkInfo veth = make_local_veth("ud");
  set_up(nl(), veth.index);
  EXPECT_TRUE(get_link(nl(), veth.index).up);
  EXPECT_TRUE(has_flag(ip_link(*host_, veth.name), "UP"));
  set_down(nl(), veth.index);
  EXPECT_FALSE(get_link(nl(), veth.index).up);
  EXPECT_FALSE(has_flag(ip_link(*host_, veth.name), "UP"));

  set_mtu(nl(), veth.index, 1280);
  const auto mac = MacAddress::parse("02:aa:bb:cc:dd:ee");
  set_mac(nl(), veth.index, mac);
  set_promisc(nl(), veth.index, true);
  LinkInfo info = get_link(nl(), veth.index);
  EXPECT_EQ(info.mtu, 1280u);
  EXPECT_EQ(info.mac, mac);
  EXPECT_TRUE(info.promisc);
  json ip = ip_link(*host_, veth.name);
  EXPECT_EQ(ip["mtu"], 1280);
  EXPECT_EQ(ip["address"], "02:aa:bb:cc:dd:ee");
  EXPECT_TRUE(has_flag(ip, "PROMISC"));
  set_promisc(nl(), veth.index, false);
  EXPECT_FALSE(get_link(nl(), veth.index).promisc);

  try {
    set_up(nl(), 999999);
    FAIL() << "no error";
  } catch (const NetlinkError& e) {
    EXPECT_EQ(e.nl_error(), NLE_NODEV);
    EXPECT_NE(e.msg().find("ifindex 999999"), std::string::npos) << e.msg();
  }
}

TEST_F(LinkTest, RenameLink) {
  const LinkInfo veth = make_local_veth("rn");
  const auto new_name = unique_name("renamed");
  rename_link(nl(), veth.index, new_name);
  EXPECT_EQ(get_link(nl(), veth.index).name, new_name);
  EXPECT_FALSE(find_link(nl(), veth.name).has_value());
  EXPECT_EQ(ip_link(*host_, new_name)["ifindex"], veth.index);
  EXPECT_THROW(rename_link(nl(), veth.index, "bad/name"), Error);
  try {
    rename_link(nl(), veth.index, unique_name("rnp"));  // the peer's name
    FAIL() << "no error";
  } catch (const NetlinkError& e) {
    EXPECT_EQ(e.nl_error(), NLE_EXIST);
  }
}

TEST_F(LinkTest, MoveToNetns) {
  const LinkInfo veth = make_local_veth("mv");
  const auto peer = unique_name("mvp");
  move_to_netns(nl(), get_link(nl(), peer).index, *container_);
  EXPECT_FALSE(find_link(nl(), peer).has_value());
  const auto moved = find_link(ctr_nl(), peer);
  ASSERT_TRUE(moved.has_value());
  EXPECT_EQ(moved->kind, "veth");
  EXPECT_EQ(ip_link(*container_, peer)["ifname"], peer);
}

TEST_F(LinkTest, DeleteLinkAndDeleteIfExists) {
  const LinkInfo a = make_local_veth("da");
  delete_link(nl(), a.index);
  EXPECT_FALSE(find_link(nl(), a.name).has_value());
  EXPECT_FALSE(find_link(nl(), unique_name("dap")).has_value());  // the peer went with it
  try {
    delete_link(nl(), a.index);
    FAIL() << "no error";
  } catch (const NetlinkError& e) {
    EXPECT_EQ(e.nl_error(), NLE_NODEV);
  }

  const LinkInfo b = make_local_veth("db");
  EXPECT_TRUE(delete_link_if_exists(nl(), b.name));
  EXPECT_FALSE(delete_link_if_exists(nl(), b.name));
  EXPECT_FALSE(delete_link_if_exists(nl(), unique_name("never")));
  json links = json::parse(nsnet::testing::run_in_netns(*host_, "ip -j link show"));
  EXPECT_EQ(links.size(), 1u);  // only lo is left
}

TEST_F(LinkTest, TapIsPersistentOwnedAndUp) {
  const auto name = unique_name("tap");
  const auto mac = MacAddress::parse("02:00:00:00:7a:01");
  const LinkInfo tap = create_tap(
      *container_,
      {.name = name, .owner = 4242, .group = 4343, .multi_queue = true, .mtu = 1400, .mac = mac});
  EXPECT_EQ(tap.kind, "tun");
  EXPECT_TRUE(tap.up);
  EXPECT_EQ(tap.mtu, 1400u);
  EXPECT_EQ(tap.mac, mac);
  EXPECT_EQ(find_link(ctr_nl(), name)->index, tap.index);
  EXPECT_FALSE(find_link(nl(), name).has_value());

  json ip = ip_link(*container_, name);
  EXPECT_EQ(ip["linkinfo"]["info_kind"], "tun");
  json data = ip.at("linkinfo").at("info_data");
  EXPECT_EQ(data["type"], "tap");
  EXPECT_EQ(data["pi"], false);
  EXPECT_EQ(data["multi_queue"], true);
  EXPECT_EQ(data["persist"], true);
  // iproute2 prints a user name when there is one, else the number.
  EXPECT_TRUE(data["user"] == 4242 || data["user"] == "4242") << data.dump();
  EXPECT_TRUE(data["group"] == 4343 || data["group"] == "4343") << data.dump();

  try {
    (void)create_tap(*container_, {.name = name});
    FAIL() << "no error";
  } catch (const SysError& e) {
    EXPECT_EQ(e.error_number(), EEXIST);
    EXPECT_NE(e.msg().find("link " + name + " already exists"), std::string::npos) << e.msg();
  }
  EXPECT_TRUE(delete_link_if_exists(ctr_nl(), name));
}

TEST_F(LinkTest, MacvlanOnAVethInBothNamespaces) {
  // No dummy driver on this kernel: a veth end is the lower device.
  const LinkInfo lower = make_local_veth("lw");
  const auto local = unique_name("mvl");
  create_macvlan(nl(), {.name = local, .master_index = lower.index, .mode = "bridge", .mtu = 1400});
  const LinkInfo mv = get_link(nl(), local);
  EXPECT_EQ(mv.kind, "macvlan");
  EXPECT_EQ(mv.link_index, lower.index);
  EXPECT_EQ(mv.mtu, 1400u);
  json ip = ip_link(*host_, local);
  EXPECT_EQ(ip["linkinfo"]["info_kind"], "macvlan");
  EXPECT_EQ(ip["linkinfo"]["info_data"]["mode"], "bridge");
  EXPECT_EQ(ip["link"], lower.name);

  const auto remote = unique_name("mvr");
  const auto mac = MacAddress::parse("02:00:00:00:3a:01");
  create_macvlan(nl(), {.name = remote,
                        .master_index = lower.index,
                        .mode = "private",
                        .mac = mac,
                        .target = &*container_});
  EXPECT_FALSE(find_link(nl(), remote).has_value());
  const auto moved = find_link(ctr_nl(), remote);
  ASSERT_TRUE(moved.has_value());
  EXPECT_EQ(moved->kind, "macvlan");
  EXPECT_EQ(moved->mac, mac);
  EXPECT_EQ(ip_link(*container_, remote)["linkinfo"]["info_data"]["mode"], "private");

  try {
    create_macvlan(nl(), {.name = unique_name("mvx"), .master_index = lower.index, .mode = "wild"});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidNetworkConfig);
  }
  EXPECT_THROW(create_macvlan(nl(), {.name = local, .master_index = lower.index}), NetlinkError);
}

TEST_F(LinkTest, Vxlan) {
  const LinkInfo underlay = make_local_veth("ul");
  const auto name = unique_name("vxl");
  const LinkInfo vx = create_vxlan(nl(), {.name = name,
                                          .vni = 42,
                                          .local = parse_ip_address("10.0.0.1"),
                                          .remote = parse_ip_address("10.0.0.2"),
                                          .port = 4790,
                                          .underlay_index = underlay.index,
                                          .learning = false,
                                          .mtu = 1450});
  EXPECT_EQ(vx.kind, "vxlan");
  EXPECT_EQ(vx.mtu, 1450u);
  json data = ip_link(*host_, name).at("linkinfo").at("info_data");
  SCOPED_TRACE(data.dump());
  EXPECT_EQ(data["id"], 42);
  EXPECT_EQ(data["local"], "10.0.0.1");
  EXPECT_EQ(data["remote"], "10.0.0.2");
  EXPECT_EQ(data["port"], 4790);
  EXPECT_EQ(data["learning"], false);
  EXPECT_EQ(data["link"], underlay.name);

  const auto v6 = unique_name("vx6");
  (void)create_vxlan(nl(), {.name = v6, .vni = 7, .remote = parse_ip_address("fd00::2")});
  json data6 = ip_link(*host_, v6).at("linkinfo").at("info_data");
  SCOPED_TRACE(data6.dump());
  EXPECT_EQ(data6["id"], 7);
  EXPECT_EQ(data6["remote6"], "fd00::2");
  EXPECT_EQ(data6["port"], 4789);
  EXPECT_EQ(data6["learning"], true);
}

TEST_F(LinkTest, Ifb) {
  const auto name = unique_name("ifb");
  const LinkInfo ifb = create_ifb(nl(), name);
  EXPECT_EQ(ifb.kind, "ifb");
  EXPECT_EQ(ip_link(*host_, name)["linkinfo"]["info_kind"], "ifb");
  EXPECT_THROW((void)create_ifb(nl(), name), NetlinkError);
}

TEST_F(LinkTest, BridgePortFlags) {
  const LinkInfo bridge = ensure_bridge(nl(), {.name = unique_name("br")});
  const LinkInfo veth = make_local_veth("bp");
  EXPECT_THROW(set_bridge_port(nl(), veth.index, {.hairpin = true}), NetlinkError);  // no port yet
  set_master(nl(), veth.index, bridge.index);
  set_bridge_port(nl(), veth.index, {.hairpin = true, .isolated = true, .learning = false});
  json data = ip_link(*host_, veth.name).at("linkinfo").at("info_slave_data");
  EXPECT_EQ(data["hairpin"], true);
  EXPECT_EQ(data["isolated"], true);
  EXPECT_EQ(data["learning"], false);
  // Unset fields stay as they are.
  set_bridge_port(nl(), veth.index, {.hairpin = false});
  data = ip_link(*host_, veth.name).at("linkinfo").at("info_slave_data");
  EXPECT_EQ(data["hairpin"], false);
  EXPECT_EQ(data["isolated"], true);
  EXPECT_EQ(data["learning"], false);
}

}  // namespace
}  // namespace netcore::net
