#pragma once

// What the crash-consistency and concurrency tests share: one network in the test's sandbox
// "host", driven through the built `nsnet net` as a runtime drives it (NETCONFPATH, a result
// cache, IPAM and tuning dataDirs, all in the test's temp dir), containers made on demand, and
// the views the assertions need (reservations, the containers' eth0 addresses, a snapshot).

#include <sys/prctl.h>
#include <sys/wait.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "netcore/base/file.hpp"
#include "netcore/net/address.hpp"
#include "netcore/net/link.hpp"
#include "netcore/net/netlink.hpp"
#include "netcore/net/netns.hpp"
#include "support/nsnet_cli.hpp"
#include "support/sandbox.hpp"
#include "support/snapshot.hpp"

namespace nsnet::testing {

// One container: a persisted netns (/run/netns/NAME) and the container ID the runtime uses.
struct RobustContainer {
  std::optional<netcore::net::Netns> netns;
  std::string name;
  std::string path;
  std::string id;
};

class RobustnessNetTest : public SandboxTest {
 protected:
  void SetUp() override {
    SandboxTest::SetUp();
    if (IsSkipped()) return;
    conf_dir_ = temp_dir() / "conf";
    cache_dir_ = temp_dir() / "cache";
    ipam_dir_ = temp_dir() / "ipam";
    tuning_dir_ = temp_dir() / "tuning";
    for (const auto& dir : {conf_dir_, cache_dir_, ipam_dir_, tuning_dir_})
      std::filesystem::create_directories(dir);
    network_ = unique_name("rn");
    bridge_ = unique_name("rb");
    // No IPv6 in the host: link-local addresses of new links pass through "tentative" (DAD),
    // which would make two snapshots of the same links differ by timing alone.
    (void)run_in_netns(*host_,
                       "sysctl -qw net.ipv6.conf.all.disable_ipv6=1 "
                       "net.ipv6.conf.default.disable_ipv6=1");
    // The plugins of a SIGKILLed nsnet are orphaned: as a subreaper this process gets them back
    // and can wait until every one of them is gone before it looks at what they left.
    was_subreaper_ = 0;
    (void)::prctl(PR_GET_CHILD_SUBREAPER, &was_subreaper_);
    (void)::prctl(PR_SET_CHILD_SUBREAPER, 1);
  }
  void TearDown() override {
    if (!IsSkipped()) (void)::prctl(PR_SET_CHILD_SUBREAPER, was_subreaper_);
    for (const auto& name : persisted_) netcore::net::Netns::delete_persisted_if_exists(name);
    SandboxTest::TearDown();
  }

  // bridge + host-local on this test's bridge and subnet 10.95.<octet>.0/24.
  nlohmann::json bridge_plugin(int octet) const {
    return {{"type", "bridge"},
            {"bridge", bridge_},
            {"isDefaultGateway", true},
            {"ipMasq", true},
            {"hairpinMode", true},
            {"ipam",
             {{"type", "host-local"},
              {"ranges", {{{{"subnet", "10.95." + std::to_string(octet) + ".0/24"}}}}},
              {"dataDir", ipam_dir_.string()}}}};
  }
  static nlohmann::json portmap_plugin() {
    return {{"type", "portmap"}, {"capabilities", {{"portMappings", true}}}, {"snat", true}};
  }
  // conf/40-chain.conflist's chain, on this test's bridge, subnet and dataDirs.
  nlohmann::json full_chain(int octet) const {
    return nlohmann::json::array(
        {bridge_plugin(octet), portmap_plugin(),
         {{"type", "firewall"}, {"ingressPolicy", "same-bridge"}},
         {{"type", "tuning"},
          {"sysctl", {{"net.ipv4.conf.IFNAME.arp_notify", "1"}}},
          {"dataDir", tuning_dir_.string()}},
         {{"type", "bandwidth"}, {"capabilities", {{"bandwidth", true}}}}});
  }
  void write_list(const nlohmann::json& plugins) const {
    const nlohmann::json list = {
        {"cniVersion", "1.1.0"}, {"name", network_}, {"plugins", plugins}};
    std::ofstream(conf_dir_ / "10-robust.conflist") << list.dump(2);
  }

  // `nsnet net --cache-dir CACHE VERB NETWORK [NETNS]` as container `id`, with CAP_ARGS when
  // `cap_args` is not null.
  Invocation invocation(const std::vector<std::string>& verb_args, const std::string& id,
                        const nlohmann::json& cap_args = nullptr) const {
    Invocation inv{.args = {"net", "--cache-dir", cache_dir_.string()},
                   .env = {{"PATH", "/usr/sbin:/usr/bin:/sbin:/bin"},
                           {"NETCONFPATH", conf_dir_.string()},
                           {"CNI_PATH", NSNET_PLUGIN_DIR},
                           {"NSNET_LOG_LEVEL", "warn"}}};
    inv.args.insert(inv.args.end(), verb_args.begin(), verb_args.end());
    if (!id.empty()) inv.env["CNI_CONTAINERID"] = id;
    if (!cap_args.is_null()) inv.env["CAP_ARGS"] = cap_args.dump();
    return inv;
  }
  CliResult nsnet_net(const std::vector<std::string>& verb_args, const std::string& id,
                      const nlohmann::json& cap_args = nullptr) const {
    return run_nsnet(*host_, invocation(verb_args, id, cap_args),
                     scaled(std::chrono::seconds(60)));
  }

  // A new container netns persisted as /run/netns/<prefix><hash>.
  RobustContainer make_container(const std::string& prefix, const std::string& id) {
    RobustContainer c;
    c.netns.emplace(netcore::net::Netns::create());
    c.name = unique_name(prefix);
    c.netns->persist(c.name);
    persisted_.push_back(c.name);
    c.path = "/run/netns/" + c.name;
    c.id = id;
    return c;
  }
  // The container goes away (what a crashed runtime's container does): its netns with every
  // link in it, asynchronously in the kernel.
  static void destroy_container(RobustContainer& c) {
    netcore::net::Netns::delete_persisted_if_exists(c.name);
    c.netns.reset();
  }

  // host-local's reservations on this network: address -> "<containerID>\r\n<ifname>".
  std::map<std::string, std::string> reservations() const {
    std::map<std::string, std::string> out;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(ipam_dir_ / network_, ec)) {
      const auto name = entry.path().filename().string();
      if (name == "lock" || name.starts_with("last_reserved_ip")) continue;
      out[name] = netcore::read_file(entry.path());
    }
    return out;
  }
  // The IPv4 addresses (without prefix length) on eth0 in `netns`; empty without an eth0.
  static std::vector<std::string> eth0_addresses(const netcore::net::Netns& netns) {
    return netns.run([] {
      std::vector<std::string> out;
      const auto nl = netcore::net::Netlink::connect();
      const auto link = netcore::net::find_link(nl, "eth0");
      if (!link) return out;
      for (const auto& a : netcore::net::list_addresses(nl, link->index, AF_INET)) {
        std::string text = a.prefix.to_string();
        out.push_back(text.substr(0, text.find('/')));
      }
      return out;
    });
  }

  // The host's kernel state plus every file of the network's state: reservations and the owner
  // index, the result cache, tuning's backups. Hints rewritten by every reservation
  // (last_reserved_ip.N, the index's directory stamp, exhaustion markers) are left out.
  std::string network_snapshot(const std::vector<const netcore::net::Netns*>& extra = {}) const {
    SnapshotSpec spec{.netns = {&*host_},
                      // No neighbours: entries the bridge learned age on their own.
                      .netns_commands = "ip -j link show; ip -j addr show; "
                                        "ip -j -4 route show table all; tc -j qdisc show; "
                                        "nft list ruleset",
                      .trees = {ipam_dir_, cache_dir_, tuning_dir_}};
    spec.netns.insert(spec.netns.end(), extra.begin(), extra.end());
    spec.skip_file = [](const std::filesystem::path& path) {
      const auto name = path.filename().string();
      return name.starts_with("last_reserved_ip.") || name == "stamp" ||
             name.starts_with("exhausted.");
    };
    return sandbox_snapshot(spec);
  }

  // Waits for every process of process group `pgid` that was handed to this (subreaper)
  // process: the orphaned plugins of a killed nsnet, once nsnet itself has been reaped.
  static void reap_process_group(pid_t pgid) {
    for (;;) {
      const pid_t got = ::waitpid(-pgid, nullptr, 0);
      if (got > 0) continue;
      if (got < 0 && errno == EINTR) continue;
      return;  // ECHILD: none left
    }
  }

  std::filesystem::path conf_dir_, cache_dir_, ipam_dir_, tuning_dir_;
  std::string network_, bridge_;
  std::vector<std::string> persisted_;
  int was_subreaper_ = 0;
};

}  // namespace nsnet::testing
