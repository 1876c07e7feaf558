// The tuning plugin through its real binary, in a sandboxed container namespace: each option
// applied on ADD and put back on DEL (sysctls included), IFNAME substitution, args.cni,
// runtimeConfig and CNI_ARGS, the allowlist, CHECK, GC, DEL without context, a chain with two
// tuning plugins, rollback of a failed ADD, and bad input refused with nothing changed.

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "integration/tuning_fixture.hpp"
#include "netcore/net/link.hpp"
#include "support/sandbox.hpp"

namespace {

namespace fs = std::filesystem;
namespace net = netcore::net;
using nlohmann::json;
using nsnet::testing::TunedState;

class TuningTest : public nsnet::testing::TuningFixture {};

const std::vector<std::string> kSysctls = {"net/core/somaxconn", "net/ipv4/conf/eth0/arp_filter",
                                           "net/ipv4/ping_group_range"};

json read_json(const fs::path& path) { return json::parse(std::ifstream(path)); }

TEST_F(TuningTest, EveryLinkOptionIsAppliedAndRestored) {
  const TunedState before = state();
  const auto conf = config({{"mac", "c2:b0:57:49:47:f1"},
                            {"mtu", 1454},
                            {"promisc", true},
                            {"allmulti", true},
                            {"txQLen", 321}});
  const auto add = call("ADD", conf);
  ASSERT_EQ(add.exit_code, 0) << add.out << add.err;
  const TunedState tuned = state();
  EXPECT_EQ(tuned, (TunedState{.mac = "c2:b0:57:49:47:f1",
                               .mtu = 1454,
                               .promisc = true,
                               .allmulti = true,
                               .txqlen = 321}));
  // Once through an independent reader.
  const auto ip = json::parse(nsnet::testing::run_in_netns(*container_, "ip -j -d link show eth0"));
  EXPECT_EQ(ip[0]["address"], "c2:b0:57:49:47:f1");
  EXPECT_EQ(ip[0]["mtu"], 1454);
  EXPECT_EQ(ip[0]["txqlen"], 321);
  EXPECT_EQ(ip[0]["promiscuity"], 1);
  const auto flags = ip[0]["flags"].dump();
  EXPECT_NE(flags.find("ALLMULTI"), std::string::npos) << flags;
  EXPECT_NE(flags.find("PROMISC"), std::string::npos) << flags;

  // The result is prevResult with the new MAC.
  auto expected = conf["prevResult"];
  expected["interfaces"][0]["mac"] = "c2:b0:57:49:47:f1";
  EXPECT_EQ(add.json(), expected);

  // The backup: private, in the reference's layout, with the originals.
  struct stat st {};
  ASSERT_EQ(::stat(backup_file().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_EQ(::stat(data_dir_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  const auto backup = read_json(backup_file());
  EXPECT_EQ(backup["mac"], before.mac);
  EXPECT_EQ(backup["mtu"], before.mtu);
  EXPECT_EQ(backup["promisc"], false);
  EXPECT_EQ(backup["allmulti"], false);
  EXPECT_EQ(backup["txQLen"], before.txqlen);
  EXPECT_EQ(backup["nsnet"]["network"], "tunenet");

  auto check_conf = conf;
  check_conf["prevResult"] = add.json();
  const auto check = call("CHECK", check_conf);
  EXPECT_EQ(check.exit_code, 0) << check.out;

  for (int i = 0; i < 2; ++i) {
    const auto del = call("DEL", conf);
    EXPECT_EQ(del.exit_code, 0) << del.out;
    EXPECT_EQ(state(), before);
    EXPECT_FALSE(fs::exists(backup_file()));
  }
}

TEST_F(TuningTest, SysctlsAreSetWithIfnameAndRestoredOnDel) {
  const TunedState before = state(kSysctls);
  ASSERT_EQ(before.sysctls.at("net/ipv4/conf/eth0/arp_filter"), "0");
  const auto conf = config({{"sysctl",
                             {{"net.core.somaxconn", "500"},
                              {"net.ipv4.conf.IFNAME.arp_filter", "1"},
                              {"net.ipv4.ping_group_range", "0 100"}}}});
  const auto add = call("ADD", conf);
  ASSERT_EQ(add.exit_code, 0) << add.out << add.err;
  EXPECT_EQ(add.json(), conf["prevResult"]);  // nothing about the link changed
  const auto tuned = state(kSysctls);
  EXPECT_EQ(tuned.sysctls.at("net/core/somaxconn"), "500");
  EXPECT_EQ(tuned.sysctls.at("net/ipv4/conf/eth0/arp_filter"), "1");
  EXPECT_EQ(tuned.sysctls.at("net/ipv4/ping_group_range"), "0\t100");
  EXPECT_EQ(read_json(backup_file())["nsnet"]["sysctl"]["net/core/somaxconn"],
            before.sysctls.at("net/core/somaxconn"));

  // CHECK compares values, tabs and spaces alike; and notices a change.
  auto check_conf = conf;
  check_conf["prevResult"] = add.json();
  EXPECT_EQ(call("CHECK", check_conf).exit_code, 0);
  container_->run([] { net::write_sysctl("net/core/somaxconn", "501"); });
  const auto check = call("CHECK", check_conf);
  EXPECT_EQ(check.exit_code, 1);
  EXPECT_NE(check.out.find("net/core/somaxconn"), std::string::npos) << check.out;

  const auto del = call("DEL", conf);
  EXPECT_EQ(del.exit_code, 0) << del.out;
  EXPECT_EQ(state(kSysctls), before);
  EXPECT_FALSE(fs::exists(backup_file()));
}

TEST_F(TuningTest, DottedInterfaceNameWorksThroughIfname) {
  make_link("e.5");
  const std::string key = "net/ipv4/conf/e.5/arp_filter";
  const auto before = state({key}, "e.5");
  const auto conf = config({{"sysctl", {{"net.ipv4.conf.IFNAME.arp_filter", "1"}}}}, "e.5");
  const auto add = call("ADD", conf, {{"CNI_IFNAME", "e.5"}});
  ASSERT_EQ(add.exit_code, 0) << add.out;
  EXPECT_EQ(state({key}, "e.5").sysctls.at(key), "1");
  EXPECT_EQ(call("DEL", conf, {{"CNI_IFNAME", "e.5"}}).exit_code, 0);
  EXPECT_EQ(state({key}, "e.5"), before);
}

TEST_F(TuningTest, ArgsRuntimeConfigAndCniArgsAreApplied) {
  const TunedState before = state(kSysctls);
  // args.cni wins over the top level, runtimeConfig.mac over CNI_ARGS MAC.
  const auto conf = config({{"mtu", 1300},
                            {"runtimeConfig", {{"mac", "0a:00:00:00:00:02"}}},
                            {"args",
                             {{"cni",
                               {{"mtu", 1280},
                                {"promisc", true},
                                {"allmulti", true},
                                {"txQLen", 7},
                                {"sysctl", {{"net.core.somaxconn", "77"}}}}}}}});
  const auto add = call("ADD", conf, {{"CNI_ARGS", "MAC=0a:00:00:00:00:03"}});
  ASSERT_EQ(add.exit_code, 0) << add.out;
  const auto tuned = state(kSysctls);
  EXPECT_EQ(tuned.mac, "0a:00:00:00:00:02");
  EXPECT_EQ(tuned.mtu, 1280u);
  EXPECT_TRUE(tuned.promisc);
  EXPECT_TRUE(tuned.allmulti);
  EXPECT_EQ(tuned.txqlen, 7u);
  EXPECT_EQ(tuned.sysctls.at("net/core/somaxconn"), "77");
  EXPECT_EQ(add.json()["interfaces"][0]["mac"], "0a:00:00:00:00:02");
  EXPECT_EQ(call("DEL", conf).exit_code, 0);
  EXPECT_EQ(state(kSysctls), before);

  // CNI_ARGS MAC alone.
  const auto plain = config();
  ASSERT_EQ(
      call("ADD", plain, {{"CNI_ARGS", "IgnoreUnknown=1;K8S_POD_NAME=p;MAC=0a:00:00:00:00:04"}})
          .exit_code,
      0);
  EXPECT_EQ(state().mac, "0a:00:00:00:00:04");
  EXPECT_EQ(call("DEL", plain).exit_code, 0);
  EXPECT_EQ(state(kSysctls), before);
}

TEST_F(TuningTest, PromiscAndAllmultiFalseTurnThemOffAndBack) {
  const auto nl = ctr_nl();
  const int index = net::get_link(nl, kIfname).index;
  net::set_promisc(nl, index, true);
  net::set_allmulti(nl, index, true);
  const auto conf = config({{"promisc", false}, {"allmulti", false}});
  ASSERT_EQ(call("ADD", conf).exit_code, 0);
  EXPECT_FALSE(state().promisc);
  EXPECT_FALSE(state().allmulti);
  ASSERT_EQ(call("DEL", conf).exit_code, 0);
  EXPECT_TRUE(state().promisc);
  EXPECT_TRUE(state().allmulti);
}

TEST_F(TuningTest, AllowlistAcceptsMatchingKeysAndRefusesOthers) {
  nsnet::testing::EtcOverlay etc(temp_dir() / "etc-overlay");
  ASSERT_TRUE(etc.mounted());
  etc.write_allowlist("^net\\.core\\.somaxconn$\n^net\\.ipv4\\.conf\\.IFNAME\\.[a-z_]+$\n");
  const TunedState before = state(kSysctls);

  const auto allowed = config(
      {{"sysctl", {{"net.core.somaxconn", "600"}, {"net.ipv4.conf.IFNAME.arp_filter", "1"}}}});
  const auto add = call("ADD", allowed);
  ASSERT_EQ(add.exit_code, 0) << add.out;
  EXPECT_EQ(state(kSysctls).sysctls.at("net/core/somaxconn"), "600");
  ASSERT_EQ(call("DEL", allowed).exit_code, 0);
  EXPECT_EQ(state(kSysctls), before);

  // One refused key refuses the whole ADD, before anything changes.
  const auto refused =
      config({{"mtu", 1400},
              {"sysctl", {{"net.core.somaxconn", "600"}, {"net.ipv4.ping_group_range", "0 1"}}}});
  const auto bad = call("ADD", refused);
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(bad.json()["code"], 7);
  EXPECT_NE(bad.json()["msg"].get<std::string>().find("net.ipv4.ping_group_range"),
            std::string::npos)
      << bad.out;
  EXPECT_EQ(state(kSysctls), before);
  EXPECT_FALSE(fs::exists(backup_file()));
}

TEST_F(TuningTest, BadInputIsRefusedWithItsCodeAndChangesNothing) {
  const TunedState before = state(kSysctls);
  const struct {
    const char* what;
    json extra;
    std::map<std::string, std::string> env;
    int code;
  } cases[] = {
      {"key outside net", {{"mtu", 1400}, {"sysctl", {{"kernel.panic", "1"}}}}, {}, 7},
      {"empty component", {{"mtu", 1400}, {"sysctl", {{"net..core.somaxconn", "1"}}}}, {}, 7},
      {"slash and dots", {{"sysctl", {{"net/../kernel/panic", "1"}}}}, {}, 7},
      {"ifname with slash", {{"mtu", 1400}}, {{"CNI_IFNAME", "a/b"}}, 4},
      {"bad mac", {{"mtu", 1400}, {"mac", "c2:b0:57:49:47"}}, {}, 7},
      {"multicast mac", {{"mac", "01:b0:57:49:47:f1"}}, {}, 7},
      {"mtu too small", {{"mtu", 67}, {"promisc", true}}, {}, 7},
      {"mtu too large", {{"args", {{"cni", {{"mtu", 70000}}}}}}, {}, 7},
      {"mtu not a number", {{"mtu", "1400"}}, {}, 6},
      {"no prevResult", {{"mtu", 1400}, {"prevResult", nullptr}}, {}, 7},
      {"unknown CNI_ARGS", {{"mtu", 1400}}, {{"CNI_ARGS", "FOO=bar"}}, 4},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    const auto run = call("ADD", config(c.extra), c.env);
    EXPECT_EQ(run.exit_code, 1);
    EXPECT_EQ(run.json()["code"], c.code) << run.out;
    EXPECT_EQ(state(kSysctls), before);
    EXPECT_FALSE(fs::exists(data_dir_));
  }
  // A duplicate key, which a JSON object parser would silently collapse.
  std::string text = config().dump();
  text.insert(text.size() - 1,
              R"(,"sysctl":{"net.core.somaxconn":"501","net.core.somaxconn":"502"})");
  const auto dup = host_->run([&] {
    return nsnet::testing::exec_plugin(
        nsnet::testing::plugin_dir(), "tuning", "ADD",
        {{"CNI_CONTAINERID", "ctr1"}, {"CNI_NETNS", netns_path_}, {"CNI_IFNAME", kIfname}}, text);
  });
  EXPECT_EQ(dup.exit_code, 1);
  EXPECT_EQ(dup.json()["code"], 7) << dup.out;
  EXPECT_EQ(state(kSysctls), before);
  EXPECT_FALSE(fs::exists(data_dir_));
}

TEST_F(TuningTest, FailedAddPutsEverythingBack) {
  const TunedState before = state(kSysctls);
  // Sysctls go in name order: somaxconn is written, then the missing key fails.
  const auto conf = config(
      {{"mac", "0a:00:00:00:00:09"},
       {"sysctl", {{"net.core.somaxconn", "42"}, {"net.ipv4.conf.IFNAME.no_such_sysctl", "1"}}}});
  const auto add = call("ADD", conf);
  EXPECT_EQ(add.exit_code, 1);
  EXPECT_NE(add.out.find("no_such_sysctl"), std::string::npos) << add.out;
  EXPECT_EQ(state(kSysctls), before);
  EXPECT_FALSE(fs::exists(backup_file()));

  // A link change the kernel refuses (a macvlan's MTU above its lower device's) after the MAC
  // changed: the MAC goes back too.
  (void)nsnet::testing::run_in_netns(*container_,
                                     "ip link add low0 mtu 1500 type veth peer name low1 && "
                                     "ip link add mv0 link low0 type macvlan mode bridge");
  const auto mv_before = state({}, "mv0");
  const auto mv_conf = config({{"mac", "0a:00:00:00:00:0a"}, {"mtu", 9000}}, "mv0");
  const auto mv = call("ADD", mv_conf, {{"CNI_IFNAME", "mv0"}});
  EXPECT_EQ(mv.exit_code, 1);
  EXPECT_EQ(state({}, "mv0"), mv_before);
  EXPECT_FALSE(fs::exists(backup_file("ctr1", "mv0")));

  // A missing interface.
  const auto gone = call("ADD", config({{"mtu", 1400}}), {{"CNI_IFNAME", "nope0"}});
  EXPECT_EQ(gone.exit_code, 1);
  EXPECT_NE(gone.out.find("nope0"), std::string::npos) << gone.out;
}

TEST_F(TuningTest, DelWithoutNetnsOrBackupSucceedsAndDropsTheBackup) {
  const auto conf = config({{"mtu", 1400}, {"sysctl", {{"net.core.somaxconn", "10"}}}});
  EXPECT_EQ(call("DEL", conf).exit_code, 0);  // no backup: nothing to do
  ASSERT_EQ(call("ADD", conf).exit_code, 0);
  ASSERT_TRUE(fs::exists(backup_file()));
  EXPECT_EQ(call("DEL", conf, {{"CNI_NETNS", ""}}).exit_code, 0);
  EXPECT_FALSE(fs::exists(backup_file()));

  ASSERT_EQ(call("ADD", conf).exit_code, 0);
  container_.reset();
  net::Netns::delete_persisted_if_exists(netns_name_);
  EXPECT_EQ(call("DEL", conf).exit_code, 0);
  EXPECT_FALSE(fs::exists(backup_file()));
  EXPECT_EQ(call("DEL", conf).exit_code, 0);
}

TEST_F(TuningTest, DelWithTheLinkGoneRestoresSysctlsAndDropsTheBackup) {
  const TunedState before = state({"net/core/somaxconn"});
  const auto conf = config({{"mtu", 1400}, {"sysctl", {{"net.core.somaxconn", "10"}}}});
  ASSERT_EQ(call("ADD", conf).exit_code, 0);
  ASSERT_TRUE(net::delete_link_if_exists(ctr_nl(), kIfname));
  const auto del = call("DEL", conf);
  EXPECT_EQ(del.exit_code, 0) << del.out;
  container_->run([&] {
    EXPECT_EQ(net::read_sysctl("net/core/somaxconn"), before.sysctls.at("net/core/somaxconn"));
  });
  EXPECT_FALSE(fs::exists(backup_file()));
}

TEST_F(TuningTest, TwoTuningPluginsInOneChainRestoreTheOriginals) {
  const TunedState before = state(kSysctls);
  const auto first = config({{"mtu", 1400}, {"sysctl", {{"net.core.somaxconn", "11"}}}});
  const auto second = config(
      {{"mtu", 1300}, {"mac", "0a:00:00:00:00:05"}, {"sysctl", {{"net.core.somaxconn", "12"}}}});
  ASSERT_EQ(call("ADD", first).exit_code, 0);
  ASSERT_EQ(call("ADD", second).exit_code, 0);
  EXPECT_EQ(state().mtu, 1300u);
  // DEL runs the chain backwards: the second's DEL already puts back the oldest values.
  ASSERT_EQ(call("DEL", second).exit_code, 0);
  EXPECT_EQ(state(kSysctls), before);
  ASSERT_EQ(call("DEL", first).exit_code, 0);
  EXPECT_EQ(state(kSysctls), before);
}

TEST_F(TuningTest, CheckComparesLinkAttributes) {
  const auto conf = config({{"mtu", 1400}, {"allmulti", true}, {"txQLen", 9}});
  const auto add = call("ADD", conf);
  ASSERT_EQ(add.exit_code, 0);
  auto check_conf = conf;
  check_conf["prevResult"] = add.json();
  EXPECT_EQ(call("CHECK", check_conf).exit_code, 0);
  const auto nl = ctr_nl();
  net::set_txqlen(nl, net::get_link(nl, kIfname).index, 10);
  const auto check = call("CHECK", check_conf);
  EXPECT_EQ(check.exit_code, 1);
  EXPECT_NE(check.out.find("txqueuelen"), std::string::npos) << check.out;
  auto no_prev = conf;
  no_prev.erase("prevResult");
  EXPECT_EQ(call("CHECK", no_prev).json()["code"], 7);
  EXPECT_EQ(call("DEL", conf).exit_code, 0);
}

TEST_F(TuningTest, GcRemovesOnlyThisNetworksStaleBackups) {
  auto conf = config({{"mtu", 1400}});
  conf["cniVersion"] = "1.1.0";
  conf["prevResult"]["cniVersion"] = "1.1.0";
  ASSERT_EQ(call("ADD", conf, {{"CNI_CONTAINERID", "live"}}).exit_code, 0);
  ASSERT_EQ(call("ADD", conf, {{"CNI_CONTAINERID", "stale"}}).exit_code, 0);
  auto other = conf;
  other["name"] = "othernet";
  ASSERT_EQ(call("ADD", other, {{"CNI_CONTAINERID", "elsewhere"}}).exit_code, 0);
  std::ofstream(backup_file("reference")) << R"({"mtu": 1500})";  // written by the reference

  auto gc = conf;
  gc.erase("prevResult");
  gc["cni.dev/valid-attachments"] = {{{"containerID", "live"}, {"ifname", "eth0"}}};
  const auto run = host_->run([&] {
    return nsnet::testing::exec_plugin(nsnet::testing::plugin_dir(), "tuning", "GC", {}, gc.dump());
  });
  EXPECT_EQ(run.exit_code, 0) << run.out;
  EXPECT_TRUE(fs::exists(backup_file("live")));
  EXPECT_FALSE(fs::exists(backup_file("stale")));
  EXPECT_TRUE(fs::exists(backup_file("elsewhere")));
  EXPECT_TRUE(fs::exists(backup_file("reference")));
}

}  // namespace

namespace {

TEST_F(TuningTest, ResultCarriesTheNewMtuWherePrevResultHadOne) {
  auto conf = config({{"mtu", 1400}});
  conf["cniVersion"] = "1.1.0";
  conf["prevResult"]["cniVersion"] = "1.1.0";
  conf["prevResult"]["interfaces"][0]["mtu"] = 1500;
  const auto add = call("ADD", conf);
  ASSERT_EQ(add.exit_code, 0) << add.out;
  auto expected = conf["prevResult"];
  expected["interfaces"][0]["mtu"] = 1400;
  EXPECT_EQ(add.json(), expected);
  EXPECT_EQ(call("DEL", conf).exit_code, 0);
  EXPECT_EQ(state().mtu, 1500u);
}

}  // namespace
