#include "config.hpp"

#include <netcore/base/error.hpp>
#include <netcore/cni/container_mac.hpp>
#include <netcore/cni/json.hpp>
#include <netcore/cni/optional_ipam.hpp>
#include <netcore/cni/veth_plugin.hpp>
#include <netcore/net/link.hpp>

namespace plugins::macvlan {
namespace cni = netcore::cni;
namespace net = netcore::net;
using netcore::Error;
using netcore::ErrorCode;
using netcore::throw_invalid_config;

Config parse_config(const cni::CmdArgs& args) {
  const auto& conf = args.config;
  Config config;
  config.master = cni::optional_field<std::string>(conf, "master").value_or("");
  if (!config.master.empty())
    cni::at_json_path("master", [&] {
      net::validate_link_name(config.master);
      return 0;
    });

  if (const auto mode = cni::optional_field<std::string>(conf, "mode"); mode && !mode->empty())
    config.mode = *mode;
  if (config.mode == "source")
    throw Error(ErrorCode::kUnsupportedField,
                "mode \"source\": nsnet does not support macvlan source mode (it needs a list of "
                "source MACs)");
  if (config.mode != "bridge" && config.mode != "private" && config.mode != "vepa" &&
      config.mode != "passthru")
    throw_invalid_config("unknown macvlan mode \"" + config.mode + "\"");

  config.mtu = cni::parse_mtu(conf);  // 68-65535 like the other plugins; 0 = the master's
  if (cni::optional_field<std::uint32_t>(conf, "bcqueuelen").value_or(0) != 0)
    throw Error(ErrorCode::kUnsupportedField,
                "bcqueuelen: nsnet cannot set the broadcast queue length of a macvlan (libnl has "
                "no IFLA_MACVLAN_BC_QUEUE_LEN); leave it out or 0 for the kernel's default");
  config.link_in_container = cni::optional_field<bool>(conf, "linkInContainer").value_or(false);

  config.ipam_type = cni::optional_ipam_type(conf);
  config.dns = cni::config_dns(conf);

  args.cni_args().check_known({"MAC"});
  config.mac = cni::requested_container_mac(args);
  if (!config.mac)
    if (const auto mac = cni::optional_field<std::string>(conf, "mac"))
      config.mac = cni::parse_unicast_mac(*mac, "mac");
  return config;
}

}  // namespace plugins::macvlan
