#pragma once

// The slirp4netns plugin's network configuration: podman's slirp4netns options under CNI
// camelCase names, where the plugin keeps its state, which binary it runs, and
// runtimeConfig.portMappings.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <netcore/cni/cmd_args.hpp>
#include <netcore/usernet/slirp4netns.hpp>

namespace plugins::slirp4netns {

struct Config {
  netcore::usernet::SlirpOptions options;  // mtu, cidr, allowHostLoopback, enableIPv6, ...
  std::filesystem::path data_dir;          // resolved: dataDir, else see default_data_dir
  std::string binary = "slirp4netns";      // a path (with '/') or a name looked up in PATH
};

// One published port. slirp4netns forwards IPv4 only (its API cannot bind IPv6).
struct PortMapping {
  std::uint16_t host_port = 0;
  std::uint16_t container_port = 0;
  std::string protocol = "tcp";     // tcp | udp
  std::string host_ip = "0.0.0.0";  // an IPv4 address; "" in the config means every address
  friend bool operator==(const PortMapping&, const PortMapping&) = default;
};

// $XDG_RUNTIME_DIR/cni/slirp4netns when XDG_RUNTIME_DIR is set and non-empty (rootless
// runtimes), else /var/lib/cni/slirp4netns.
[[nodiscard]] std::filesystem::path default_data_dir(const netcore::cni::Environment& env);

// Only "dataDir" (resolved as above): what DEL and GC need, so that they work whatever else the
// config holds. Throws Error(kInvalidNetworkConfig) for an empty or relative dataDir,
// Error(kDecodingFailure) for a non-string.
[[nodiscard]] std::filesystem::path parse_data_dir(const netcore::cni::CmdArgs& args);

// Reads and checks the whole config of `args` (runtimeConfig excepted). Throws Error:
//   kDecodingFailure (6)       a key of the wrong JSON type
//   kInvalidNetworkConfig (7)  a bad value, naming the key (mtu outside 68-65521, a cidr that is
//                              not an IPv4 network of at most /25, an outboundAddr of the wrong
//                              family, an empty binary, a relative dataDir)
[[nodiscard]] Config parse_config(const netcore::cni::CmdArgs& args);

// runtimeConfig.portMappings (the portMappings capability). Throws Error:
//   kDecodingFailure (6)       not an array of objects, a wrong JSON type
//   kInvalidNetworkConfig (7)  a missing or out-of-range port, a protocol other than tcp/udp, a
//                              hostIP that is not an IPv4 address (IPv6 included: slirp4netns
//                              cannot forward it), a host port mapped twice
[[nodiscard]] std::vector<PortMapping> parse_port_mappings(const netcore::cni::CmdArgs& args);

// The executable Config::binary names: a path as given, else the first match in `env`'s PATH,
// then /usr/bin. nullopt when there is none (or it is not executable).
[[nodiscard]] std::optional<std::filesystem::path> find_binary(
    const Config& config, const netcore::cni::Environment& env);

// <data_dir>/<network>: the state directories of one network. Throws like attachment_dir.
[[nodiscard]] std::filesystem::path network_dir(const std::filesystem::path& data_dir,
                                                const std::string& network);
// <data_dir>/<network>/<containerID>-<ifname>: one attachment's state directory. Throws
// Error(kInvalidNetworkConfig) when a name is empty, holds a '/' or is "." or "..".
[[nodiscard]] std::filesystem::path attachment_dir(const std::filesystem::path& data_dir,
                                                   const std::string& network,
                                                   const std::string& container_id,
                                                   const std::string& ifname);

}  // namespace plugins::slirp4netns
