#pragma once

// Shared by the tuning tests: a container namespace (persisted under the sandbox's private
// /run/netns) holding the interface a previous plugin of the chain made, a veth whose peer is in
// the test's host namespace, and the prevResult that plugin would have returned.

#include <net/if.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "netcore/net/link.hpp"
#include "netcore/net/netlink.hpp"
#include "netcore/net/netns.hpp"
#include "netcore/net/sysctl.hpp"
#include "support/plugin_runner.hpp"
#include "support/sandbox.hpp"

namespace nsnet::testing {

// What tuning may change on one link, and the sysctls a test looks at.
struct TunedState {
  std::string mac;
  unsigned mtu = 0;
  bool promisc = false;
  bool allmulti = false;
  unsigned txqlen = 0;
  std::map<std::string, std::string> sysctls;
  friend bool operator==(const TunedState&, const TunedState&) = default;
};

inline std::ostream& operator<<(std::ostream& os, const TunedState& s) {
  os << "{mac " << s.mac << " mtu " << s.mtu << " promisc " << s.promisc << " allmulti "
     << s.allmulti << " txqlen " << s.txqlen;
  for (const auto& [k, v] : s.sysctls) os << " " << k << "=" << v;
  return os << "}";
}

class TuningFixture : public SandboxTest {
 protected:
  void SetUp() override {
    SandboxTest::SetUp();
    if (IsSkipped()) return;
    netns_name_ = unique_name("tun");
    container_->persist(netns_name_);
    netns_path_ = "/run/netns/" + netns_name_;
    data_dir_ = temp_dir() / "tuning";
    make_link(kIfname);
  }
  void TearDown() override {
    if (!netns_name_.empty()) netcore::net::Netns::delete_persisted_if_exists(netns_name_);
    SandboxTest::TearDown();
  }

  static constexpr const char* kIfname = "eth0";

  // A veth `name` in the container, up, its peer in the host namespace.
  void make_link(const std::string& name) {
    const auto nl = ctr_nl();
    const auto link = netcore::net::create_veth(
        nl, {.name = name,
             .peer_name = unique_name("h" + std::to_string(links_made_++)),
             .peer_netns = &*host_});
    netcore::net::set_up(nl, link.index);
  }

  netcore::net::Netlink ctr_nl() {
    return container_->run([] { return netcore::net::Netlink::connect(); });
  }

  nlohmann::json prev_result(const std::string& ifname = kIfname) {
    const auto link = netcore::net::get_link(ctr_nl(), ifname);
    return {{"cniVersion", "1.0.0"},
            {"interfaces",
             {{{"name", ifname}, {"mac", link.mac.to_string()}, {"sandbox", netns_path_}}}},
            {"ips", {{{"address", "10.9.0.2/24"}, {"gateway", "10.9.0.1"}, {"interface", 0}}}},
            {"dns", {{"nameservers", {"10.9.0.1"}}}}};
  }

  // The tuning config, spec 1.0.0 (the reference's newest), with prevResult and dataDir.
  nlohmann::json config(const nlohmann::json& extra = nlohmann::json::object(),
                        const std::string& ifname = kIfname) {
    nlohmann::json conf = {{"cniVersion", "1.0.0"},
                           {"name", "tunenet"},
                           {"type", "tuning"},
                           {"dataDir", data_dir_.string()},
                           {"prevResult", prev_result(ifname)}};
    conf.merge_patch(extra);
    return conf;
  }

  PluginRun call(const std::string& command, const nlohmann::json& conf,
                 std::map<std::string, std::string> env = {},
                 const std::filesystem::path& dir = plugin_dir()) {
    env.emplace("CNI_CONTAINERID", "ctr1");
    env.emplace("CNI_NETNS", netns_path_);
    env.emplace("CNI_IFNAME", kIfname);
    return host_->run([&] { return exec_plugin(dir, "tuning", command, env, conf.dump()); });
  }

  TunedState state(const std::vector<std::string>& sysctl_keys = {},
                   const std::string& ifname = kIfname) {
    const auto link = netcore::net::get_link(ctr_nl(), ifname);
    TunedState s{.mac = link.mac.to_string(),
                 .mtu = link.mtu,
                 .promisc = link.promisc,
                 .allmulti = (link.flags & IFF_ALLMULTI) != 0,
                 .txqlen = link.txqlen};
    container_->run([&] {
      for (const auto& key : sysctl_keys) s.sysctls[key] = netcore::net::read_sysctl(key);
    });
    return s;
  }

  std::filesystem::path backup_file(const std::string& cid = "ctr1",
                                    const std::string& ifname = kIfname) const {
    return data_dir_ / (cid + "_" + ifname + ".json");
  }

  std::string netns_name_;
  std::string netns_path_;
  std::filesystem::path data_dir_;
  int links_made_ = 0;  // host-side peers need distinct names
};

// Makes /etc writable for this test process only: an overlay (upper layer on the sandbox's
// tmpfs) over /etc in the test binary's private mount namespace, so a test can create
// /etc/cni/tuning/allowlist.conf, which the tuning plugin reads at a fixed path, without touching
// the machine's /etc (which has no /etc/cni to mount a tmpfs on). Undone on destruction.
class EtcOverlay final {
 public:
  explicit EtcOverlay(const std::filesystem::path& scratch) {
    // Never over the machine's /etc: only in a mount namespace other than init's.
    std::error_code ec;
    if (std::filesystem::read_symlink("/proc/self/ns/mnt", ec) ==
        std::filesystem::read_symlink("/proc/1/ns/mnt", ec)) {
      ADD_FAILURE() << "not in a private mount namespace; refusing to mount over /etc";
      return;
    }
    std::filesystem::create_directories(scratch / "upper");
    std::filesystem::create_directories(scratch / "work");
    const std::string options = "lowerdir=/etc,upperdir=" + (scratch / "upper").string() +
                                ",workdir=" + (scratch / "work").string();
    mounted_ = ::mount("overlay", "/etc", "overlay", 0, options.c_str()) == 0;
    EXPECT_TRUE(mounted_) << "overlay on /etc: " << std::strerror(errno);
  }
  EtcOverlay(const EtcOverlay&) = delete;
  EtcOverlay& operator=(const EtcOverlay&) = delete;
  ~EtcOverlay() {
    if (mounted_) {
      EXPECT_EQ(::umount2("/etc", MNT_DETACH), 0) << std::strerror(errno);
    }
  }
  [[nodiscard]] bool mounted() const noexcept { return mounted_; }

  void write_allowlist(const std::string& text) {
    std::filesystem::create_directories("/etc/cni/tuning");
    std::ofstream("/etc/cni/tuning/allowlist.conf") << text;
  }

 private:
  bool mounted_ = false;
};

}  // namespace nsnet::testing
