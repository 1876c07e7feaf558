#include "config.hpp"

#include <netcore/base/error.hpp>
#include <netcore/cni/json.hpp>
#include <netcore/cni/veth_plugin.hpp>

namespace plugins::ptp {
namespace cni = netcore::cni;
namespace net = netcore::net;
using netcore::Error;
using netcore::ErrorCode;

Config parse_config(const cni::CmdArgs& args) {
  const auto& conf = args.config;
  Config config;
  config.ip_masq = cni::optional_field<bool>(conf, "ipMasq").value_or(false);
  cni::check_masq_backend(conf);
  config.mtu = cni::parse_mtu(conf);
  const auto ipam = conf.find("ipam");
  if (ipam == conf.end() || !ipam->is_object())
    throw Error(ErrorCode::kInvalidNetworkConfig, "ptp: missing \"ipam\"");
  config.ipam_type = cni::optional_field<std::string>(*ipam, "type").value_or("");
  if (config.ipam_type.empty())
    throw Error(ErrorCode::kInvalidNetworkConfig, "ptp: missing \"ipam.type\"");
  config.dns = cni::config_dns(conf);
  config.masq_exclude = cni::array_field<net::Prefix>(conf, "ipMasqExclude");
  return config;
}

}  // namespace plugins::ptp
