#include "config.hpp"

#include <netcore/base/error.hpp>
#include <netcore/cni/container_mac.hpp>
#include <netcore/cni/json.hpp>
#include <netcore/cni/veth_plugin.hpp>
#include <netcore/net/link.hpp>

namespace plugins::bridge {
namespace cni = netcore::cni;
namespace net = netcore::net;
using netcore::Error;
using netcore::ErrorCode;
using netcore::throw_invalid_config;

namespace {

[[noreturn]] void unsupported(const std::string& what) {
  throw Error(ErrorCode::kUnsupportedField,
              what + ": bridge VLAN filtering is not available on this kernel, so nsnet does "
                     "not support VLANs on bridge ports");
}

void reject_vlan_options(const nlohmann::json& conf) {
  if (const auto vlan = cni::optional_field<int>(conf, "vlan"); vlan && *vlan != 0) {
    if (*vlan < 0 || *vlan > 4094)
      throw_invalid_config("invalid VLAN ID " + std::to_string(*vlan) + " (must be 0-4094)");
    unsupported("vlan " + std::to_string(*vlan));
  }
  if (const auto trunk = conf.find("vlanTrunk");
      trunk != conf.end() && !trunk->is_null() && !(trunk->is_array() && trunk->empty()))
    unsupported("vlanTrunk");
  // true is the reference's default and means nothing without VLANs.
  if (cni::optional_field<bool>(conf, "preserveDefaultVlan") == false)
    unsupported("preserveDefaultVlan false");
}

void validate_name(const std::string& name, const std::string& key) {
  cni::at_json_path(key, [&] {
    net::validate_link_name(name);
    return 0;
  });
}

}  // namespace

Config parse_config(const cni::CmdArgs& args) {
  const auto& conf = args.config;
  Config config;
  if (const auto bridge = cni::optional_field<std::string>(conf, "bridge"); bridge && !bridge->empty())
    config.bridge = *bridge;
  validate_name(config.bridge, "bridge");

  config.is_default_gateway = cni::optional_field<bool>(conf, "isDefaultGateway").value_or(false);
  config.is_gateway =
      config.is_default_gateway || cni::optional_field<bool>(conf, "isGateway").value_or(false);
  config.force_address = cni::optional_field<bool>(conf, "forceAddress").value_or(false);
  config.ip_masq = cni::optional_field<bool>(conf, "ipMasq").value_or(false);
  cni::check_masq_backend(conf);
  config.masq_exclude = cni::array_field<net::Prefix>(conf, "ipMasqExclude");

  config.mtu = cni::parse_mtu(conf);
  config.hairpin = cni::optional_field<bool>(conf, "hairpinMode").value_or(false);
  config.promisc = cni::optional_field<bool>(conf, "promiscMode").value_or(false);
  if (config.hairpin && config.promisc)
    throw_invalid_config("cannot set hairpin mode and promiscuous mode at the same time");
  config.mac_spoof_check = cni::optional_field<bool>(conf, "macspoofchk").value_or(false);
  config.enable_dad = cni::optional_field<bool>(conf, "enabledad").value_or(false);
  config.disable_container_interface =
      cni::optional_field<bool>(conf, "disableContainerInterface").value_or(false);
  config.port_isolation = cni::optional_field<bool>(conf, "portIsolation").value_or(false);
  reject_vlan_options(conf);

  if (const auto ipam = conf.find("ipam"); ipam != conf.end() && !ipam->is_null()) {
    if (!ipam->is_object()) throw_invalid_config("ipam: must be an object");
    config.ipam_type = cni::at_json_path("ipam", [&] {
      return cni::optional_field<std::string>(*ipam, "type").value_or("");
    });
  }
  if (config.disable_container_interface && config.layer3())
    throw_invalid_config(
        "disableContainerInterface cannot be used with IPAM: addresses need the interface up");
  config.dns = cni::config_dns(conf);

  if (const auto name = cni::optional_field<std::string>(conf, "hostVethName")) {
    validate_name(*name, "hostVethName");
    config.host_veth_name = *name;
  }
  if (const auto prefix = cni::optional_field<std::string>(conf, "hostVethPrefix")) {
    if (config.host_veth_name)
      throw_invalid_config("hostVethName and hostVethPrefix are mutually exclusive");
    if (prefix->empty() || prefix->size() > 11)
      throw_invalid_config("hostVethPrefix \"" + *prefix + "\" must be 1-11 bytes");
    validate_name(*prefix, "hostVethPrefix");
    config.host_veth_prefix = *prefix;
  }

  args.cni_args().check_known({"MAC", "IP", "GATEWAY"});
  config.mac = cni::requested_container_mac(args);
  return config;
}

}  // namespace plugins::bridge
