// Differential tests of the main plugins: the same configs through nsnet's bridge and ptp and
// through Debian's reference plugins (containernetworking-plugins 1.1.1), each side in its own
// fresh host + container namespace pair with its own host-local dataDir. Compared after ADD: the
// result, links, addresses and routes in both namespaces, bridge and bridge-port options (through
// `ip -j -d`), the sysctls the plugins write, and host-local's files; after DEL: no veth and no
// reservation left, and the same host state on both sides. Random veth names and MACs are
// normalized away (after checking that the result names each link's real MAC). Differences that
// change no behaviour (route protocol and metric, address flags, DAD still running when ADD
// returns, where the bridge's MAC comes from) are printed as NOTE lines instead of failing, so
// they stay visible without hiding a real difference.

#include <net/if.h>  // before linux/if.h, which then defers to it
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "netcore/base/error.hpp"
#include "netcore/net/address.hpp"
#include "netcore/net/link.hpp"
#include "netcore/net/netlink.hpp"
#include "netcore/net/netns.hpp"
#include "netcore/net/route.hpp"
#include "netcore/net/sysctl.hpp"
#include "support/plugin_runner.hpp"
#include "support/sandbox.hpp"

namespace {

namespace fs = std::filesystem;
namespace net = netcore::net;
using nlohmann::json;
using nsnet::testing::kReferencePluginDir;
using nsnet::testing::PluginRun;

// Debian's reference (1.1.1) speaks spec versions up to 1.0.0.
constexpr const char* kVersion = "1.0.0";
constexpr const char* kNetwork = "diffnet";
constexpr const char* kContainerId = "diff-ctr";
constexpr const char* kIfname = "eth0";
// Long enough for IPv6 DAD (1 s per address by default) and a lagging operstate.
constexpr auto kSettleTimeout = std::chrono::seconds(5);

// One row of a table: the plugin's own keys, and what must exist on the host before ADD.
struct DiffCase {
  const char* name;  // the test's parameter name
  // cniVersion, name, type, bridge (for bridge) and ipam.dataDir are filled in per side.
  const char* config;
  // A bridge (named as the config's) created before ADD and carrying this address; null = none.
  const char* existing_bridge_address = nullptr;
};

void PrintTo(const DiffCase& c, std::ostream* os) { *os << c.name; }

std::string case_name(const ::testing::TestParamInfo<DiffCase>& info) { return info.param.name; }

const DiffCase kBridgeCases[] = {
    {"L3Gateway", R"({"isGateway": true,
        "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.62.0.0/24"}]]}})"},
    {"DefaultGateway", R"({"isDefaultGateway": true,
        "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.62.0.0/24"}]]}})"},
    {"DualStack", R"({"isGateway": true, "isDefaultGateway": true,
        "ipam": {"type": "host-local",
                 "ranges": [[{"subnet": "10.62.0.0/24"}], [{"subnet": "fd62::/64"}]]}})"},
    {"Mtu1400", R"({"isGateway": true, "mtu": 1400,
        "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.62.0.0/24"}]]}})"},
    {"HairpinMode", R"({"hairpinMode": true,
        "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.62.0.0/24"}]]}})"},
    {"PromiscMode", R"({"isGateway": true, "promiscMode": true,
        "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.62.0.0/24"}]]}})"},
    {"Layer2Only", R"({"ipam": {}})"},
    {"ForceAddress",
     R"({"isGateway": true, "forceAddress": true,
        "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.62.0.0/24"}]]}})",
     "192.168.77.1/24"},
    {"RoutesDnsAndIpamGateway", R"({"isGateway": true,
        "dns": {"nameservers": ["10.62.0.53"], "search": ["diff.test"]},
        "ipam": {"type": "host-local",
                 "ranges": [[{"subnet": "10.62.0.0/24", "rangeStart": "10.62.0.10",
                              "gateway": "10.62.0.254"}]],
                 "routes": [{"dst": "10.200.0.0/16"},
                            {"dst": "10.201.0.0/16", "gw": "10.62.0.1"}]}})"},
};

const DiffCase kPtpCases[] = {
    {"V4", R"({"ipam": {"type": "host-local", "ranges": [[{"subnet": "10.63.0.0/24"}]],
                        "routes": [{"dst": "0.0.0.0/0"}]}})"},
    {"DualStack", R"({"ipam": {"type": "host-local",
                               "ranges": [[{"subnet": "10.63.0.0/24"}], [{"subnet": "fd63::/64"}]],
                               "routes": [{"dst": "0.0.0.0/0"}, {"dst": "::/0"}]}})"},
    {"MtuRoutesAndDns", R"({"mtu": 1400, "dns": {"nameservers": ["10.63.0.53"]},
        "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.63.0.0/24"}]],
                 "routes": [{"dst": "0.0.0.0/0"}, {"dst": "10.210.0.0/16"},
                            {"dst": "10.211.0.0/16", "gw": "10.63.0.1"}]}})"},
    // A route through another address of the subnet: not on-link once the subnet goes through
    // the gateway, but the reference adds IPAM's routes while the kernel's subnet route is
    // still there.
    {"RouteViaOtherSubnetAddress", R"({"ipam": {"type": "host-local",
        "ranges": [[{"subnet": "10.63.0.0/24"}]],
        "routes": [{"dst": "10.212.0.0/16", "gw": "10.63.0.254"}]}})"},
};

// One implementation's world: its plugin directory, its namespaces, its IPAM state.
struct Side {
  std::string label;  // "nsnet" or "reference", for messages
  fs::path plugin_dir;
  const net::Netns* host = nullptr;
  const net::Netns* container = nullptr;
  std::string netns_path;  // the container's, as CNI_NETNS
  fs::path data_dir;       // host-local's dataDir
};

// The links of one namespace at one moment, with the names they are compared under: a host
// veth's random name becomes <host-veth>.
struct NetnsView {
  std::vector<net::LinkInfo> links;
  std::map<int, std::string> names;

  [[nodiscard]] const net::LinkInfo* find(const std::string& name) const {
    const auto it = std::find_if(links.begin(), links.end(),
                                 [&](const net::LinkInfo& l) { return l.name == name; });
    return it == links.end() ? nullptr : &*it;
  }
  [[nodiscard]] std::string name_of(int index) const {
    if (index == 0) return "";
    const auto it = names.find(index);
    return it == names.end() ? "ifindex " + std::to_string(index) : it->second;
  }
  [[nodiscard]] std::vector<const net::LinkInfo*> of_kind(const std::string& kind) const {
    std::vector<const net::LinkInfo*> found;
    for (const auto& l : links)
      if (l.kind == kind) found.push_back(&l);
    return found;
  }
};

NetnsView view_of(const net::Netns& netns, bool host, const std::string& label) {
  static const std::regex kRandomVethName("veth[0-9a-f]{8}");
  const auto nl = netns.run([] { return net::Netlink::connect(); });
  NetnsView view{net::list_links(nl), {}};
  int veths = 0;
  for (const auto& l : view.links) {
    if (host && l.kind == "veth") {
      EXPECT_TRUE(std::regex_match(l.name, kRandomVethName)) << label << ": host veth " << l.name;
      ++veths;
      view.names[l.index] =
          veths == 1 ? "<host-veth>" : "<host-veth-" + std::to_string(veths) + ">";
    } else {
      view.names[l.index] = l.name;
    }
  }
  return view;
}

std::string operstate_name(std::uint8_t state) {
  switch (state) {
    case IF_OPER_UNKNOWN:
      return "unknown";
    case IF_OPER_NOTPRESENT:
      return "notpresent";
    case IF_OPER_DOWN:
      return "down";
    case IF_OPER_LOWERLAYERDOWN:
      return "lowerlayerdown";
    case IF_OPER_TESTING:
      return "testing";
    case IF_OPER_DORMANT:
      return "dormant";
    case IF_OPER_UP:
      return "up";
    default:
      return std::to_string(state);
  }
}

std::string scope_name(int scope) {
  switch (scope) {
    case RT_SCOPE_UNIVERSE:
      return "universe";
    case RT_SCOPE_SITE:
      return "site";
    case RT_SCOPE_LINK:
      return "link";
    case RT_SCOPE_HOST:
      return "host";
    case RT_SCOPE_NOWHERE:
      return "nowhere";
    default:
      return std::to_string(scope);
  }
}

std::string route_type_name(std::uint8_t type) {
  switch (type) {
    case RTN_UNICAST:
      return "unicast";
    case RTN_LOCAL:
      return "local";
    case RTN_BROADCAST:
      return "broadcast";
    case RTN_MULTICAST:
      return "multicast";
    case RTN_BLACKHOLE:
      return "blackhole";
    case RTN_UNREACHABLE:
      return "unreachable";
    case RTN_PROHIBIT:
      return "prohibit";
    default:
      return std::to_string(type);
  }
}

json address_flag_names(unsigned flags) {
  static const std::pair<unsigned, const char*> kNames[] = {
      {IFA_F_SECONDARY, "secondary"},         {IFA_F_NODAD, "nodad"},
      {IFA_F_OPTIMISTIC, "optimistic"},       {IFA_F_DADFAILED, "dadfailed"},
      {IFA_F_DEPRECATED, "deprecated"},       {IFA_F_TENTATIVE, "tentative"},
      {IFA_F_PERMANENT, "permanent"},         {IFA_F_MANAGETEMPADDR, "mngtmpaddr"},
      {IFA_F_NOPREFIXROUTE, "noprefixroute"}, {IFA_F_STABLE_PRIVACY, "stable-privacy"}};
  json names = json::array();
  for (const auto& [bit, name] : kNames)
    if ((flags & bit) != 0) names.push_back(name);
  return names;
}

// A link-local address is derived from the (random) MAC; only its presence is compared.
std::string compared_prefix(const net::Prefix& prefix) {
  if (!prefix.is_v4() && prefix.address().to_v6().is_link_local())
    return "<link-local>/" + std::to_string(prefix.length());
  return prefix.to_string();
}

bool local_unicast(const net::MacAddress& mac) {
  return (mac.bytes()[0] & 0x02) != 0 && (mac.bytes()[0] & 0x01) == 0;
}

// Links compared exactly. Their txqlen goes to `txqlens`: the reference (1.1.1) creates veths
// with txqlen 0, nsnet leaves the kernel's default (1000); both ends are noqueue either way, and
// only a qdisc added later (pfifo takes its limit from txqlen) would tell them apart.
json links_json(const NetnsView& view, const NetnsView& peer_view, json& txqlens) {
  json links = json::array();
  txqlens = json::array();
  for (const auto& l : view.links) {
    txqlens.push_back(view.name_of(l.index) + " txqlen " + std::to_string(l.txqlen));
    links.push_back({{"name", view.name_of(l.index)},
                     {"kind", l.kind},
                     {"slave_kind", l.slave_kind},
                     {"master", view.name_of(l.master_index)},
                     {"peer", l.kind == "veth" ? peer_view.name_of(l.link_index) : ""},
                     {"mtu", l.mtu},
                     {"up", l.up},
                     {"operstate", operstate_name(l.operstate)},
                     {"promisc", l.promisc},
                     {"flags", l.flags}});
    // A bridge's MAC is compared through its pinning (Snapshot::bridge_mac_pinned).
    if (l.kind != "bridge") links.back()["mac_local_unicast"] = local_unicast(l.mac);
  }
  std::sort(links.begin(), links.end(),
            [](const json& a, const json& b) { return a["name"] < b["name"]; });
  std::sort(txqlens.begin(), txqlens.end());
  return links;
}

// Addresses as compared exactly (`exact`) and their flags, which may differ harmlessly.
void addresses_json(const net::Netns& netns, const NetnsView& view, json& exact, json& flags) {
  const auto nl = netns.run([] { return net::Netlink::connect(); });
  exact = json::array();
  flags = json::array();
  for (const auto& a : net::list_addresses(nl)) {
    const std::string dev = view.name_of(a.ifindex);
    const std::string prefix = compared_prefix(a.prefix);
    json entry = {{"dev", dev}, {"prefix", prefix}, {"scope", scope_name(a.scope)}};
    if (a.broadcast) entry["broadcast"] = a.broadcast->to_string();
    if (!a.label.empty()) {
      const auto* labelled = view.find(a.label);  // a plain label is its link's (random) name
      entry["label"] = labelled != nullptr ? view.name_of(labelled->index) : a.label;
    }
    exact.push_back(entry);
    // Tentative is transient (DAD still running); it is reported separately, at ADD's return.
    flags.push_back(dev + " " + prefix + " " +
                    address_flag_names(a.flags & ~unsigned{IFA_F_TENTATIVE}).dump());
  }
  std::sort(exact.begin(), exact.end());
  std::sort(flags.begin(), flags.end());
}

// Routes (every table but local) compared exactly, and protocol + metric, which may differ
// harmlessly.
void routes_json(const net::Netns& netns, const NetnsView& view, json& exact, json& harmless) {
  const auto nl = netns.run([] { return net::Netlink::connect(); });
  exact = json::array();
  harmless = json::array();
  for (const auto& r : net::list_routes(nl)) {
    json entry = {
        {"dst", r.dst.to_string()},        {"gateway", r.gateway ? r.gateway->to_string() : ""},
        {"dev", view.name_of(r.ifindex)},  {"source", r.source ? r.source->to_string() : ""},
        {"scope", scope_name(r.scope)},    {"table", r.table},
        {"type", route_type_name(r.type)}, {"onlink", r.onlink}};
    if (r.mtu) entry["mtu"] = *r.mtu;
    if (r.advmss) entry["advmss"] = *r.advmss;
    harmless.push_back(entry["dst"].get<std::string>() + " via " +
                       entry["gateway"].get<std::string>() + " dev " +
                       entry["dev"].get<std::string>() + ": proto " + std::to_string(r.protocol) +
                       " metric " + (r.metric ? std::to_string(*r.metric) : "none"));
    exact.push_back(std::move(entry));
  }
  std::sort(exact.begin(), exact.end());
  std::sort(harmless.begin(), harmless.end());
}

// The addresses that are still tentative (IPv6 DAD running), by compared name.
json tentative_addresses(const net::Netns& netns, const NetnsView& view) {
  const auto nl = netns.run([] { return net::Netlink::connect(); });
  json tentative = json::array();
  for (const auto& a : net::list_addresses(nl))
    if ((a.flags & IFA_F_TENTATIVE) != 0)
      tentative.push_back(view.name_of(a.ifindex) + " " + compared_prefix(a.prefix));
  std::sort(tentative.begin(), tentative.end());
  return tentative;
}

// Selected fields of `ip -j -d link show dev NAME` under linkinfo.`section`, and promiscuity.
json ip_link_details(const net::Netns& netns, const std::string& name, const char* section,
                     std::initializer_list<const char*> keys) {
  const std::string out =
      nsnet::testing::run_in_netns(netns, "ip -j -d link show dev '" + name + "'");
  const json parsed = json::parse(out, nullptr, /*allow_exceptions=*/false);
  json details = json::object();
  if (!parsed.is_array() || parsed.empty()) {
    ADD_FAILURE() << "ip -j -d link show dev " << name << ": " << out;
    return details;
  }
  details["promiscuity"] = parsed[0].value("promiscuity", -1);
  const json data = parsed[0].value("linkinfo", json::object()).value(section, json::object());
  for (const char* key : keys)
    if (data.contains(key)) details[key] = data[key];
  return details;
}

// Whether the link's MAC is pinned: addr_assign_type 3 (NET_ADDR_SET), which only sysfs shows.
// A sysfs mounted from inside the namespace (in a throwaway mount namespace) lists its links.
bool mac_pinned(const net::Netns& netns, const std::string& name) {
  const std::string out = nsnet::testing::run_in_netns(
      netns, "unshare -m sh -c 'mount -t sysfs sysfs /sys && cat /sys/class/net/" + name +
                 "/addr_assign_type'");
  return out == "3\n";
}

std::string read_sysctl_or_missing(const net::Netns& netns, const std::string& key) {
  return netns.run([&]() -> std::string {
    try {
      return net::read_sysctl(key);
    } catch (const netcore::Error&) {
      return "<missing>";
    }
  });
}

// host-local's files for the network: reservation (IP) -> content, and last_reserved_ip.N.
json ipam_files(const Side& side) {
  json files = json::object();
  const fs::path dir = side.data_dir / kNetwork;
  std::error_code ignored;
  if (!fs::is_directory(dir, ignored)) return files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name == "lock") continue;
    std::ifstream in(entry.path());
    std::ostringstream content;
    content << in.rdbuf();
    files[name] = content.str();
  }
  return files;
}

size_t reservation_count(const Side& side) {
  size_t n = 0;
  const json files = ipam_files(side);  // items() would not keep a temporary alive
  for (const auto& [name, content] : files.items())
    if (!name.starts_with("last_reserved_ip")) ++n;
  return n;
}

// What one side looks like: `exact` must match the other side; `harmless` may differ and is
// reported.
struct Snapshot {
  json exact = json::object();
  json harmless = json::object();
  json bridge_mac_pinned = json::object();  // bridge name -> addr_assign_type is "set"
};

class DifferentialTest : public nsnet::testing::SandboxTest,
                         public ::testing::WithParamInterface<DiffCase> {
 protected:
  explicit DifferentialTest(std::string plugin) : plugin_(std::move(plugin)) {}

  void SetUp() override {
    SandboxTest::SetUp();
    if (IsSkipped()) return;
    for (const std::string& binary : {plugin_, std::string("host-local")}) {
      if (!fs::exists(kReferencePluginDir / binary))
        GTEST_SKIP() << "reference plugin " << (kReferencePluginDir / binary) << " not installed";
    }
    ref_host_.emplace(net::Netns::create());
    ref_container_.emplace(net::Netns::create());
    bridge_ = unique_name("br");
    ours_ = {"nsnet",      nsnet::testing::plugin_dir(), &*host_,
             &*container_, persist(*container_, "dco"),  temp_dir() / "ipam-nsnet"};
    (void)persist(*ref_host_, "dhr");
    reference_ = {"reference",
                  kReferencePluginDir,
                  &*ref_host_,
                  &*ref_container_,
                  persist(*ref_container_, "dcr"),
                  temp_dir() / "ipam-reference"};
  }
  void TearDown() override {
    for (const auto& name : persisted_) net::Netns::delete_persisted_if_exists(name);
    ref_container_.reset();
    ref_host_.reset();
    SandboxTest::TearDown();
  }

  // Persists `netns` under /run/netns with a name unique to this test; returns its path.
  std::string persist(const net::Netns& netns, const std::string& prefix) {
    const std::string name = unique_name(prefix);
    netns.persist(name);
    persisted_.push_back(name);
    return "/run/netns/" + name;
  }

  json config(const Side& side) const {
    json conf = json::parse(GetParam().config);
    conf["cniVersion"] = kVersion;
    conf["name"] = kNetwork;
    conf["type"] = plugin_;
    if (plugin_ == "bridge") conf["bridge"] = bridge_;
    if (const auto ipam = conf.find("ipam"); ipam != conf.end() && ipam->contains("type"))
      (*ipam)["dataDir"] = side.data_dir.string();
    return conf;
  }

  // Runs the plugin from inside the side's host namespace, as a runtime on that host would.
  PluginRun call(const Side& side, const std::string& command) const {
    const std::map<std::string, std::string> env = {
        {"CNI_CONTAINERID", kContainerId}, {"CNI_NETNS", side.netns_path}, {"CNI_IFNAME", kIfname}};
    const std::string conf = config(side).dump();
    return side.host->run(
        [&] { return nsnet::testing::exec_plugin(side.plugin_dir, plugin_, command, env, conf); });
  }

  // The host state a case starts from, made the same way on both sides.
  void prepare(const Side& side) const {
    const char* address = GetParam().existing_bridge_address;
    if (address == nullptr) return;
    const auto nl = side.host->run([] { return net::Netlink::connect(); });
    const auto bridge = net::ensure_bridge(nl, {.name = bridge_});
    net::add_address(nl, bridge.index, net::Prefix::parse(address));
  }

  // Waits until every link but lo is operationally up and DAD is done everywhere, so that the
  // comparison sees where the plugin left the kernel, not how far the kernel has got with it.
  static void settle(const Side& side) {
    const auto deadline = std::chrono::steady_clock::now() + kSettleTimeout;
    while (std::chrono::steady_clock::now() < deadline) {
      bool settled = true;
      for (const auto* netns : {side.host, side.container}) {
        const auto view = view_of(*netns, false, side.label);
        for (const auto& l : view.links)
          if (l.name != "lo" && l.operstate != IF_OPER_UP) settled = false;
        if (!tentative_addresses(*netns, view).empty()) settled = false;
      }
      if (settled) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  // Waits until no link's flags or operstate has changed for longer than the kernel's link-watch
  // delay (up to 1 s): after DEL, a bridge left without ports loses its carrier a little later.
  static void settle_links(const Side& side) {
    const auto deadline = std::chrono::steady_clock::now() + kSettleTimeout;
    auto since = std::chrono::steady_clock::now();
    json last;
    while (std::chrono::steady_clock::now() < deadline) {
      json state = json::array();
      for (const auto* netns : {side.host, side.container}) {
        json ignored;
        const auto view = view_of(*netns, false, side.label);
        state.push_back(links_json(view, view, ignored));
      }
      if (state != last) {
        last = std::move(state);
        since = std::chrono::steady_clock::now();
      } else if (std::chrono::steady_clock::now() - since > std::chrono::milliseconds(1200)) {
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  Snapshot snapshot(const Side& side, const json* result) const {
    Snapshot s;
    const auto host = view_of(*side.host, true, side.label);
    const auto ctr = view_of(*side.container, false, side.label);

    if (result != nullptr) s.exact["result"] = normalize_result(*result, side, host, ctr);

    s.exact["container_links"] = links_json(ctr, host, s.harmless["container_link_txqlen"]);
    addresses_json(*side.container, ctr, s.exact["container_addresses"],
                   s.harmless["container_address_flags"]);
    routes_json(*side.container, ctr, s.exact["container_routes"],
                s.harmless["container_route_protocol_metric"]);
    s.exact["host_links"] = links_json(host, ctr, s.harmless["host_link_txqlen"]);
    addresses_json(*side.host, host, s.exact["host_addresses"], s.harmless["host_address_flags"]);
    routes_json(*side.host, host, s.exact["host_routes"], s.harmless["host_route_protocol_metric"]);

    // Bridge and bridge-port options, through iproute2 rather than our own netlink reader.
    const auto bridges = host.of_kind("bridge");
    const auto veths = host.of_kind("veth");
    for (const auto* bridge : bridges) {
      s.exact["bridge " + bridge->name] =
          ip_link_details(*side.host, bridge->name, "info_data",
                          {"forward_delay", "hello_time", "max_age", "ageing_time", "stp_state",
                           "priority", "vlan_filtering", "vlan_protocol", "vlan_default_pvid",
                           "group_fwd_mask", "mcast_snooping", "mcast_querier", "nf_call_iptables",
                           "nf_call_ip6tables", "nf_call_arptables"});
      // The reference's bridge takes its first port's MAC (and pins it only with isGateway);
      // nsnet's gets a random MAC of its own at creation.
      if (!veths.empty())
        s.harmless["bridge_mac_is_first_port_mac"] = bridge->mac == veths.front()->mac;
      s.bridge_mac_pinned[bridge->name] = mac_pinned(*side.host, bridge->name);
    }
    for (const auto* veth : veths) {
      s.exact["bridge port " + host.name_of(veth->index)] =
          veth->master_index == 0
              ? json("not a bridge port")
              : ip_link_details(*side.host, veth->name, "info_slave_data",
                                {"state", "priority", "cost", "hairpin", "guard", "root_block",
                                 "fastleave", "learning", "flood", "proxy_arp", "multicast_router",
                                 "mcast_flood", "bcast_flood", "mcast_to_unicast", "neigh_suppress",
                                 "isolated", "locked", "group_fwd_mask"});
    }

    json sysctls = json::object();
    for (const std::string key :
         {"net/ipv6/conf/eth0/accept_dad", "net/ipv6/conf/eth0/enhanced_dad",
          "net/ipv6/conf/eth0/disable_ipv6", "net/ipv4/conf/eth0/arp_notify",
          "net/ipv6/conf/lo/disable_ipv6"})
      sysctls["container " + key] = read_sysctl_or_missing(*side.container, key);
    for (const std::string key : {"net/ipv4/ip_forward", "net/ipv6/conf/all/forwarding"})
      sysctls["host " + key] = read_sysctl_or_missing(*side.host, key);
    for (const auto* bridge : bridges)
      sysctls["host net/ipv6/conf/<bridge>/accept_ra"] =
          read_sysctl_or_missing(*side.host, "net/ipv6/conf/" + bridge->name + "/accept_ra");
    for (const auto* veth : veths) {
      for (const std::string key : {"accept_ra", "disable_ipv6"})
        sysctls["host net/ipv6/conf/" + host.name_of(veth->index) + "/" + key] =
            read_sysctl_or_missing(*side.host, "net/ipv6/conf/" + veth->name + "/" + key);
    }
    s.exact["sysctls"] = sysctls;

    s.exact["ipam_files"] = ipam_files(side);
    return s;
  }

  // The result with names, MACs and the netns path made comparable: each MAC must be the one
  // its link has, then becomes <mac>; the host veth's name becomes <host-veth>.
  static json normalize_result(json result, const Side& side, const NetnsView& host,
                               const NetnsView& ctr) {
    if (result.contains("interfaces")) {
      for (auto& iface : result["interfaces"]) {
        const bool in_container = iface.contains("sandbox");
        const NetnsView& view = in_container ? ctr : host;
        const std::string name = iface.value("name", "");
        if (const auto* link = view.find(name); link == nullptr) {
          ADD_FAILURE() << side.label << ": the result names " << name
                        << (in_container ? " in the container" : " on the host")
                        << ", which does not exist";
        } else {
          if (iface.contains("mac")) {
            EXPECT_EQ(iface["mac"], link->mac.to_string()) << side.label << ": MAC of " << name;
          }
          iface["name"] = view.name_of(link->index);
        }
        if (iface.contains("mac")) iface["mac"] = "<mac>";
        // interfaces[].mtu is a spec 1.1.0 field the reference (1.1.1) predates; the MTU itself
        // is compared in the kernel.
        iface.erase("mtu");
        if (in_container && iface["sandbox"] == side.netns_path) iface["sandbox"] = "<netns>";
      }
    }
    // The reference prints "dns": {} when there is none; nsnet leaves the key out.
    if (result.contains("dns") && result["dns"].empty()) result.erase("dns");
    return result;
  }

  static void note(const std::string& stage, const std::string& what, const json& ours,
                   const json& ref) {
    std::cout << "[   NOTE   ] " << GetParam().name << " " << stage << ", " << what
              << " differs (not failed: harmless or deliberate, see the test's comments)\n"
              << "             nsnet:     " << ours.dump() << "\n"
              << "             reference: " << ref.dump() << "\n";
  }

  // nsnet turns IPv6 off on a host end that carries no IPv6 address (a deliberate deviation,
  // explained in bridge.cpp and ptp.cpp: each port's link-local address and fe80::/64 route
  // only lengthen the host's IPv6 lookups); the reference leaves it on. Only when nsnet did so,
  // that host end's link-local address, fe80::/64 route and IPv6 sysctls are set aside on both
  // sides and reported instead of compared. Its global addresses and routes stay compared.
  static void set_aside_host_veth_ipv6(Snapshot& ours, Snapshot& ref) {
    const std::string disable = "host net/ipv6/conf/<host-veth>/disable_ipv6";
    if (ours.exact["sysctls"].value(disable, "") != "1") return;
    for (Snapshot* s : {&ours, &ref}) {
      json aside = json::array();
      auto take = [&](json& list, const auto& pick) {
        json kept = json::array();
        for (auto& entry : list) (pick(entry) ? aside : kept).push_back(std::move(entry));
        list = std::move(kept);
      };
      take(s->exact["host_addresses"], [](const json& a) {
        return a["dev"].get<std::string>().starts_with("<host-veth") &&
               a["prefix"].get<std::string>().starts_with("<link-local>");
      });
      take(s->exact["host_routes"], [](const json& r) {
        return r["dev"].get<std::string>().starts_with("<host-veth") && r["dst"] == "fe80::/64";
      });
      json& sysctls = s->exact["sysctls"];
      for (const std::string& key :
           {disable, std::string("host net/ipv6/conf/<host-veth>/accept_ra")}) {
        if (!sysctls.contains(key)) continue;
        aside.push_back(key + " = " + sysctls[key].get<std::string>());
        sysctls.erase(key);
      }
      s->harmless["host veth IPv6 (nsnet: off without an IPv6 address)"] = std::move(aside);
    }
  }

  // nsnet pins the MAC of a bridge it creates (bridge.cpp: otherwise the bridge takes its
  // lowest port's MAC, which changes as containers come and go); the reference pins it only in
  // ensureAddr, i.e. with isGateway, but then also on a bridge it did not create. nsnet pinning
  // where the reference does not is reported; the reverse fails: the gateway's MAC would follow
  // the ports (and becomes 00:00:00:00:00:00 once the last one leaves).
  static void compare_bridge_mac_pinning(const Snapshot& ours, const Snapshot& ref,
                                         const std::string& stage) {
    for (const auto& [name, ref_pinned] : ref.bridge_mac_pinned.items()) {
      const bool ours_pinned = ours.bridge_mac_pinned.value(name, false);
      if (ours_pinned == ref_pinned.get<bool>()) continue;
      if (ours_pinned) {
        note(stage, "bridge MAC pinned (addr_assign_type 3)", ours_pinned, ref_pinned);
      } else {
        ADD_FAILURE() << stage << ": the reference pins the MAC of bridge " << name
                      << " (addr_assign_type 3) and nsnet does not, so the bridge's MAC follows "
                         "its ports";
      }
    }
  }

  // Exact parts must match; harmless ones are printed when they differ.
  static void compare(const Snapshot& ours, const Snapshot& ref, const std::string& stage) {
    json keys = json::object();
    for (const auto& [key, value] : ours.exact.items()) keys[key] = true;
    for (const auto& [key, value] : ref.exact.items()) keys[key] = true;
    for (const auto& [key, unused] : keys.items()) {
      const json& a = ours.exact.contains(key) ? ours.exact[key] : json("<absent>");
      const json& b = ref.exact.contains(key) ? ref.exact[key] : json("<absent>");
      EXPECT_EQ(a.dump(2), b.dump(2)) << stage << ", " << key << ": left nsnet, right reference";
    }
    for (const auto& [key, value] : ref.harmless.items()) {
      const json a = ours.harmless.value(key, json("<absent>"));
      if (a != value) note(stage, key, a, value);
    }
    compare_bridge_mac_pinning(ours, ref, stage);
  }

  void run_case() {
    const Side* sides[] = {&ours_, &reference_};
    for (const auto* side : sides) prepare(*side);

    std::map<const Side*, json> results;
    std::map<const Side*, Snapshot> after_add;
    for (const auto* side : sides) {
      const auto add = call(*side, "ADD");
      ASSERT_EQ(add.exit_code, 0) << side->label << " ADD failed:\n" << add.out << add.err;
      results[side] = add.json();
      EXPECT_EQ(results[side].value("cniVersion", ""), kVersion) << side->label;
      // DAD still running when ADD returns: how long before the addresses are usable.
      for (const auto* netns : {side->host, side->container})
        after_add[side].harmless[std::string(netns == side->host ? "host" : "container") +
                                 " tentative_when_add_returned"] =
            tentative_addresses(*netns, view_of(*netns, netns == side->host, side->label));
    }
    for (const auto* side : sides) {
      settle(*side);
      auto snap = snapshot(*side, &results[side]);
      snap.harmless.update(after_add[side].harmless);
      after_add[side] = std::move(snap);
    }
    set_aside_host_veth_ipv6(after_add[&ours_], after_add[&reference_]);
    compare(after_add[&ours_], after_add[&reference_], "after ADD");

    std::map<const Side*, Snapshot> after_del;
    for (const auto* side : sides) {
      for (int i = 0; i < 2; ++i) {  // DEL is idempotent
        const auto del = call(*side, "DEL");
        EXPECT_EQ(del.exit_code, 0) << side->label << " DEL #" << i + 1 << ":\n"
                                    << del.out << del.err;
      }
      const auto host = view_of(*side->host, true, side->label);
      const auto ctr = view_of(*side->container, false, side->label);
      EXPECT_TRUE(host.of_kind("veth").empty()) << side->label << ": a veth is left on the host";
      EXPECT_EQ(ctr.links.size(), 1u) << side->label << ": links left in the container";
      EXPECT_EQ(reservation_count(*side), 0u) << side->label << ": " << ipam_files(*side).dump();
      settle_links(*side);
      after_del[side] = snapshot(*side, nullptr);
    }
    compare(after_del[&ours_], after_del[&reference_], "after DEL");
  }

  std::string plugin_;
  std::string bridge_;
  std::optional<net::Netns> ref_host_;
  std::optional<net::Netns> ref_container_;
  Side ours_;
  Side reference_;
  std::vector<std::string> persisted_;
};

class BridgeDifferentialTest : public DifferentialTest {
 protected:
  BridgeDifferentialTest() : DifferentialTest("bridge") {}
};

class PtpDifferentialTest : public DifferentialTest {
 protected:
  PtpDifferentialTest() : DifferentialTest("ptp") {}
};

TEST_P(BridgeDifferentialTest, MatchesTheReferencePlugin) { run_case(); }
TEST_P(PtpDifferentialTest, MatchesTheReferencePlugin) { run_case(); }

INSTANTIATE_TEST_SUITE_P(Configs, BridgeDifferentialTest, ::testing::ValuesIn(kBridgeCases),
                         case_name);
INSTANTIATE_TEST_SUITE_P(Configs, PtpDifferentialTest, ::testing::ValuesIn(kPtpCases), case_name);

}  // namespace
