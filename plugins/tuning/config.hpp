#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <netcore/cni/cmd_args.hpp>
#include <netcore/net/ip.hpp>

// The tuning plugin's network configuration: the reference tuning plugin's keys (sysctl, mac,
// mtu, promisc, allmulti, txQLen, dataDir), the same keys under args.cni, runtimeConfig.mac and
// CNI_ARGS MAC.
namespace plugins::tuning {

inline const std::filesystem::path kDefaultDataDir = "/run/cni/tuning";
// When this file exists, only sysctl keys matching one of its lines (regular expressions, one a
// line, blank lines ignored) are allowed; the reference plugin's path.
inline const std::filesystem::path kAllowlistPath = "/etc/cni/tuning/allowlist.conf";

// One sysctl to set in the container's network namespace.
struct SysctlSetting {
  std::string name;  // as written in the config ("net.ipv4.conf.IFNAME.arp_filter")
  std::string key;   // resolved: dots made slashes, then IFNAME substituted
                     // ("net/ipv4/conf/eth0/arp_filter"); valid for netcore::net::sysctl_path
  std::string value;
  friend bool operator==(const SysctlSetting&, const SysctlSetting&) = default;
};

struct Config {
  std::vector<SysctlSetting> sysctls;  // ordered by name
  std::optional<netcore::net::MacAddress> mac;
  std::optional<unsigned> mtu;
  std::optional<bool> promisc;     // true turns promiscuous mode on, false off; absent leaves it
  std::optional<bool> allmulti;    // likewise for all-multicast mode
  std::optional<unsigned> txqlen;  // txQLen
  std::filesystem::path data_dir = kDefaultDataDir;

  // Whether any attribute of the CNI_IFNAME link is to change (and so needs backing up).
  [[nodiscard]] bool changes_link() const noexcept {
    return mac || mtu || promisc || allmulti || txqlen;
  }
};

// The sysctl key a name resolves to for `ifname`, as the reference resolves it: every '.' becomes
// '/', then the first "IFNAME" becomes `ifname` (so a dotted VLAN interface name survives).
// Throws Error(kInvalidNetworkConfig) unless the key lies under /proc/sys/net (no "." or ".."
// or empty component).
[[nodiscard]] std::string resolve_sysctl_key(const std::string& name, const std::string& ifname);

// Reads and checks the config of `args`. Values under args.cni override the top-level ones
// (args.cni.sysctl entry by entry); the MAC comes from args.cni.mac, else runtimeConfig.mac, else
// CNI_ARGS MAC (the reference's precedence). Throws Error:
//   kInvalidEnvironment (4)    CNI_ARGS with a key other than MAC (unless IgnoreUnknown)
//   kDecodingFailure (6)       a key of the wrong JSON type
//   kInvalidNetworkConfig (7)  a sysctl key outside /proc/sys/net or given twice in one object;
//                              a bad MAC (unparsable, multicast or all zero); mtu outside
//                              68-65535 (a negative mtu or txQLen, or one above 2^32-1, is 6)
[[nodiscard]] Config parse_config(const netcore::cni::CmdArgs& args);

// Only "dataDir": what DEL and GC need, so that neither fails on a config ADD would refuse.
[[nodiscard]] std::filesystem::path parse_data_dir(const netcore::cni::CmdArgs& args);

// Checks each sysctl name (as written) against an allowlist's text, `source` naming it in
// messages: a name is allowed when one of the patterns (ECMAScript regular expressions) matches
// part of it, as the reference's unanchored match does. Throws Error(kInvalidNetworkConfig) for a
// name no pattern matches, or for a pattern that is not a valid regular expression.
void check_allowlist(const std::vector<SysctlSetting>& sysctls, std::string_view allowlist,
                     const std::string& source);

// check_allowlist against kAllowlistPath when that file exists; nothing otherwise.
void check_system_allowlist(const std::vector<SysctlSetting>& sysctls);

}  // namespace plugins::tuning
