#include "config.hpp"

#include <cstdint>
#include <netcore/base/error.hpp>
#include <netcore/cni/container_mac.hpp>
#include <netcore/cni/json.hpp>
#include <netcore/cni/optional_ipam.hpp>
#include <netcore/cni/veth_plugin.hpp>
#include <netcore/net/link.hpp>

namespace plugins::tap {
namespace cni = netcore::cni;
namespace net = netcore::net;
using netcore::Error;
using netcore::ErrorCode;

Config parse_config(const cni::CmdArgs& args) {
  const auto& conf = args.config;
  Config config;
  if (const auto context = cni::optional_field<std::string>(conf, "selinuxContext");
      context && !context->empty())
    throw Error(ErrorCode::kUnsupportedField,
                "selinuxContext: nsnet does not label tap devices (no SELinux support)");
  config.mtu = cni::parse_mtu(conf);
  config.multi_queue = cni::optional_field<bool>(conf, "multiQueue").value_or(false);
  config.owner = cni::optional_field<std::uint32_t>(conf, "owner");
  config.group = cni::optional_field<std::uint32_t>(conf, "group");
  config.bridge = cni::optional_field<std::string>(conf, "bridge").value_or("");
  if (!config.bridge.empty())
    cni::at_json_path("bridge", [&] {
      net::validate_link_name(config.bridge);
      return 0;
    });
  config.ipam_type = cni::optional_ipam_type(conf);
  config.dns = cni::config_dns(conf);

  args.cni_args().check_known({"MAC"});
  config.mac = cni::requested_container_mac(args);
  if (!config.mac)
    if (const auto mac = cni::optional_field<std::string>(conf, "mac"))
      config.mac = cni::parse_unicast_mac(*mac, "mac");
  return config;
}

}  // namespace plugins::tap
