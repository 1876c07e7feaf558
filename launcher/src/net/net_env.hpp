#pragma once

// What `nsnet net` takes from its environment, read the way cnitool reads it, so that a script
// written for cnitool attaches the same container the same way: CNI_IFNAME, CNI_ARGS, CAP_ARGS,
// and the container ID cnitool derives from the netns path.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <netcore/cni/conflist.hpp>

namespace nsnet::net {

// cnitool's CNI_ARGS: "K=V;K=V", every pair exactly one '=' with a non-empty key and value.
// Throws Error(kInvalidEnvironment) naming the bad pair.
[[nodiscard]] std::vector<std::pair<std::string, std::string>> parse_cni_args(
    std::string_view text);

// CAP_ARGS: a JSON object of capability arguments (null or empty text: none). Throws
// Error(kDecodingFailure) when it is not JSON, Error(kInvalidEnvironment) when not an object.
[[nodiscard]] nlohmann::json parse_capability_args(std::string_view text);

// Go's filepath.Abs: `path` joined to the working directory when relative, then cleaned
// lexically ("." and ".." resolved, duplicate and trailing slashes dropped). Symlinks are kept.
[[nodiscard]] std::string absolute_netns_path(const std::string& path);

// cnitool's container ID for a netns path: "cnitool-" and the first 10 bytes of the SHA-512 of
// the (absolute) path in hex.
[[nodiscard]] std::string cnitool_container_id(std::string_view netns_path);

// The variables read from the environment (unset = nullopt).
struct NetEnv {
  std::optional<std::string> container_id;  // CNI_CONTAINERID
  std::optional<std::string> ifname;        // CNI_IFNAME
  std::optional<std::string> cni_args;      // CNI_ARGS
  std::optional<std::string> cap_args;      // CAP_ARGS

  [[nodiscard]] static NetEnv from_process();
};

// The attachment for `netns_path` (absolute or relative; empty only on DEL): the container ID
// from CNI_CONTAINERID or cnitool's rule, CNI_IFNAME or "eth0" when unset or empty, and the
// parsed CNI_ARGS and CAP_ARGS. Throws what the parsers throw, and Error(kInvalidEnvironment)
// for an invalid container ID or an empty netns path without CNI_CONTAINERID.
[[nodiscard]] netcore::cni::RuntimeConf runtime_conf(const NetEnv& env,
                                                     const std::string& netns_path);

}  // namespace nsnet::net
