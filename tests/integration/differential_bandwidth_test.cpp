// bandwidth against the reference (/usr/lib/cni/bandwidth, containernetworking-plugins 1.1.1):
// the same config on the same kind of veth through both, then the result, the qdiscs and
// filters (through `tc -j` and netcore) and the ifb compared, with link names replaced by their
// role. Known, intended differences: the ifb's name (ours hashes the ifname too), its alias (GC),
// the filter's shape (the reference's carries classid 1:1 and a second, unreachable mirred
// action; ours is a terminal match with one), the ifb's txqlen (the reference's is 0, ours the
// kernel's default; the tbf's own limit bounds its queue either way), error codes (the
// reference's are 999, ours 7 for bad values), and DEL, after which ours also leaves the host
// veth without our qdiscs.

#include <gtest/gtest.h>
#include <linux/pkt_sched.h>

#include <filesystem>
#include <string>

#include "bandwidth_fixture.hpp"

namespace {

namespace net = netcore::net;
using nlohmann::json;

class DifferentialBandwidthTest : public nsnet::testing::BandwidthFixture {
 protected:
  void SetUp() override {
    BandwidthFixture::SetUp();
    if (IsSkipped()) return;
    if (!std::filesystem::exists(nsnet::testing::kReferencePluginDir / "bandwidth"))
      GTEST_SKIP() << "no reference bandwidth plugin";
  }

  // What a run left in the host namespace, with names replaced by "veth" and "ifb".
  json snapshot(const std::string& ifb_name) {
    auto role = [&](const std::string& dev) {
      return dev == host_veth_ ? std::string("veth") : dev == ifb_name ? std::string("ifb") : dev;
    };
    json state = {{"qdiscs", json::array()}, {"filters", json::array()}};
    for (auto q : json::parse(nsnet::testing::run_in_netns(*host_, "tc -j qdisc show"))) {
      if (q.at("handle") == "0:") continue;  // the kernel's defaults
      q["dev"] = role(q.at("dev"));
      q.erase("refcnt");
      state["qdiscs"].push_back(q);
    }
    const auto hnl = host_nl();
    const auto host = net::get_link(hnl, host_veth_);
    for (const auto& f : net::list_filters(hnl, host.index, 0xffff0000)) {
      const auto target =
          f.redirect_ifindex > 0 ? net::find_link(hnl, f.redirect_ifindex) : std::nullopt;
      state["filters"].push_back({{"kind", f.kind},
                                  {"priority", f.priority},
                                  {"protocol", f.protocol},
                                  {"redirect", target ? role(target->name) : "none"}});
    }
    if (const auto ifb = ifb_name.empty() ? std::nullopt : net::find_link(hnl, ifb_name)) {
      state["ifb"] = {{"kind", ifb->kind},
                      {"up", ifb->up},
                      {"mtu", ifb->mtu},
                      {"name_length", ifb->name.size()},
                      {"prefix", ifb->name.substr(0, 3)}};
    }
    return state;
  }

  // The result with the ifb's name and MAC replaced by what they must be.
  json normalized(json result) {
    result.erase("dns");  // the reference writes an empty "dns": {} that the input did not have
    if (result.contains("interfaces") && result["interfaces"].size() == 3) {
      auto& ifb = result["interfaces"][2];
      const auto link = net::find_link(host_nl(), ifb.at("name").get<std::string>());
      EXPECT_TRUE(link);
      if (link) {
        EXPECT_EQ(ifb.at("mac"), link->mac.to_string());
      }
      ifb["name"] = "IFB";
      ifb["mac"] = "MAC";
    }
    return result;
  }

  void clear_host_veth() {
    (void)nsnet::testing::run_in_netns(*host_, "tc qdisc del dev " + host_veth_ +
                                                   " root 2>/dev/null; tc qdisc del dev " +
                                                   host_veth_ + " ingress 2>/dev/null; true");
  }

  // ADD through `dir`, the state it left, then DEL and what remains of the ifb.
  struct Run {
    int exit_code = 0;
    json result;
    json state;
    bool ifb_after_del = false;
  };
  Run run(const std::filesystem::path& dir, const json& conf) {
    Run r;
    const auto add = call("ADD", conf, {}, dir);
    r.exit_code = add.exit_code;
    if (add.exit_code != 0) {
      r.result = add.json();
      r.state = snapshot("");
      return r;
    }
    const auto result = add.json();
    const std::string ifb = result["interfaces"].size() == 3
                                ? result["interfaces"][2].at("name").get<std::string>()
                                : "";
    r.result = normalized(result);
    r.state = snapshot(ifb);
    auto del_conf = conf;
    del_conf["prevResult"] = result;
    EXPECT_EQ(call("DEL", del_conf, {}, dir).exit_code, 0);
    r.ifb_after_del = !ifb.empty() && net::find_link(host_nl(), ifb).has_value();
    clear_host_veth();
    return r;
  }
};

TEST_F(DifferentialBandwidthTest, SameQdiscsFiltersIfbAndResult) {
  const json shapings[] = {
      {{"ingressRate", 16'000'000},
       {"ingressBurst", 160'000},
       {"egressRate", 8'000'000},
       {"egressBurst", 80'000}},
      {{"ingressRate", 123}, {"ingressBurst", 456}, {"egressRate", 123}, {"egressBurst", 456}},
      {{"egressRate", 1'000'000'000}, {"egressBurst", 8'000'000}},
      {{"runtimeConfig",
        {{"bandwidth", {{"ingressRate", 24'000'000}, {"ingressBurst", 240'000}}}}}},
      {{"ingressRate", 8'000'000},
       {"ingressBurst", 80'000},
       {"runtimeConfig", {{"bandwidth", {{"egressRate", 24'000'000}, {"egressBurst", 240'000}}}}}},
  };
  for (const auto& shaping : shapings) {
    SCOPED_TRACE(shaping.dump());
    const auto conf = config(shaping);
    const auto reference = run(nsnet::testing::kReferencePluginDir, conf);
    const auto ours = run(nsnet::testing::plugin_dir(), conf);
    ASSERT_EQ(reference.exit_code, 0) << reference.result;
    ASSERT_EQ(ours.exit_code, 0) << ours.result;
    EXPECT_EQ(ours.result, reference.result);
    EXPECT_EQ(ours.state, reference.state);
    EXPECT_FALSE(reference.ifb_after_del);
    EXPECT_FALSE(ours.ifb_after_del);
  }
}

TEST_F(DifferentialBandwidthTest, BothRefuseTheSameBadInputAndLeaveNothing) {
  std::vector<json> confs = {
      config({{"ingressRate", 8'000'000}}),
      config({{"egressBurst", 80'000}}),
      config({{"egressRate", 8'000'000}, {"egressBurst", 34'359'738'368ULL}}),
  };
  auto no_prev = config({{"ingressRate", 8'000'000}, {"ingressBurst", 80'000}});
  no_prev.erase("prevResult");
  confs.push_back(no_prev);
  (void)net::create_ifb(ctr_nl(), "eth1");  // not a veth
  auto not_veth = config({{"ingressRate", 8'000'000}, {"ingressBurst", 80'000}});
  not_veth["prevResult"] = prev_result(host_veth_, "eth1");
  for (const auto& conf : confs) {
    SCOPED_TRACE(conf.dump());
    const auto reference = run(nsnet::testing::kReferencePluginDir, conf);
    const auto ours = run(nsnet::testing::plugin_dir(), conf);
    EXPECT_EQ(reference.exit_code, 1);
    EXPECT_EQ(ours.exit_code, 1);
    EXPECT_EQ(ours.state, reference.state);
    EXPECT_TRUE(ours.state["qdiscs"].empty()) << ours.state;
    std::printf("refused: reference code %d, ours %d (%s)\n", reference.result.value("code", 0),
                ours.result.value("code", 0), ours.result.value("msg", "").c_str());
  }
  const auto reference =
      call("ADD", not_veth, {{"CNI_IFNAME", "eth1"}}, nsnet::testing::kReferencePluginDir);
  const auto ours = call("ADD", not_veth, {{"CNI_IFNAME", "eth1"}});
  EXPECT_EQ(reference.exit_code, 1);
  EXPECT_EQ(ours.exit_code, 1);
  EXPECT_TRUE(snapshot("")["qdiscs"].empty());
  std::printf("non-veth: reference %s\n           ours %s\n", reference.out.c_str(),
              ours.out.c_str());
}

TEST_F(DifferentialBandwidthTest, ReferenceCheckAcceptsOurIngressTbf) {
  // CHECK of each on the other's ingress-only state: both compare rate, limit and buffer, so
  // identical tbfs pass both ways.
  const auto conf = config({{"ingressRate", 16'000'000}, {"ingressBurst", 160'000}});
  const auto add = call("ADD", conf);
  ASSERT_EQ(add.exit_code, 0) << add.out;
  auto check_conf = conf;
  check_conf["prevResult"] = add.json();
  const auto check = call("CHECK", check_conf, {}, nsnet::testing::kReferencePluginDir);
  EXPECT_EQ(check.exit_code, 0) << check.out;
  ASSERT_EQ(call("DEL", check_conf).exit_code, 0);
  ASSERT_EQ(call("ADD", conf, {}, nsnet::testing::kReferencePluginDir).exit_code, 0);
  const auto ours = call("CHECK", check_conf);
  EXPECT_EQ(ours.exit_code, 0) << ours.out;
}

}  // namespace
