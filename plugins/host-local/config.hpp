#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <netcore/cni/cmd_args.hpp>
#include <netcore/cni/types.hpp>
#include <netcore/ipam/range.hpp>

namespace plugins::host_local {

// The `ipam` section of a host-local network, with what the runtime adds (ipRanges, ips).
struct Config {
  std::string network;
  std::vector<netcore::ipam::RangeSet> range_sets;   // one address from each, in order
  std::vector<netcore::cni::Route> routes;
  std::filesystem::path data_dir;
  std::optional<std::filesystem::path> resolv_conf;
  std::vector<netcore::net::IpAddress> requested;    // CNI_ARGS IP=, args.cni.ips, runtimeConfig.ips
};

// Reads the full network config the way the reference does: `ranges`, the legacy single-range
// keys (a set prepended to `ranges`), `runtimeConfig.ipRanges` (prepended before both),
// requested addresses from all three sources, `routes`, `dataDir`, `resolvConf`.
// Throws Error(kInvalidNetworkConfig) naming the key ("ipam.ranges[0][1].rangeEnd: ...") for bad
// values, Error(kDecodingFailure) for wrong JSON types, Error(kInvalidEnvironment) for unknown
// CNI_ARGS keys without IgnoreUnknown.
[[nodiscard]] Config parse_config(const netcore::cni::CmdArgs& args);

// Parses a resolv.conf into result DNS (nameserver, domain, search, options), like the
// reference. Throws SysError naming the file if it cannot be read.
[[nodiscard]] netcore::cni::Dns parse_resolv_conf(const std::filesystem::path& path);

}  // namespace plugins::host_local
