#include "netcore/cni/container_mac.hpp"

#include "netcore/base/error.hpp"
#include "netcore/cni/json.hpp"

namespace netcore::cni {

std::optional<net::MacAddress> parse_unicast_mac(const std::string& text, const std::string& key) {
  if (text.empty()) return std::nullopt;
  const auto mac = at_json_path(key, [&] { return net::MacAddress::parse(text); });
  if ((mac.bytes()[0] & 0x01) != 0)
    throw_invalid_config(key + ": " + text + " is a multicast address");
  return mac;
}

std::optional<net::MacAddress> requested_container_mac(const CmdArgs& args) {
  if (const auto mac = args.runtime_config_field<std::string>("mac"))
    if (auto parsed = parse_unicast_mac(*mac, "runtimeConfig.mac")) return parsed;
  if (const auto mac = args.args_field<std::string>("mac"))
    if (auto parsed = parse_unicast_mac(*mac, "args.cni.mac")) return parsed;
  if (const auto mac = args.cni_args().find("MAC")) return parse_unicast_mac(*mac, "CNI_ARGS MAC");
  return std::nullopt;
}

}  // namespace netcore::cni
