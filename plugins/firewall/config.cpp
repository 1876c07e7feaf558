#include "firewall/config.hpp"

#include <netcore/base/error.hpp>
#include <netcore/cni/json.hpp>

namespace plugins::firewall {
namespace cni = netcore::cni;
namespace fw = netcore::fw;
using netcore::Error;
using netcore::ErrorCode;

Config parse_config(const nlohmann::json& conf) {
  Config config;
  if (const auto backend = cni::optional_field<std::string>(conf, "backend")) {
    if (*backend == "iptables" || *backend == "firewalld")
      throw Error(ErrorCode::kUnsupportedField,
                  "firewall: backend \"" + *backend +
                      "\" is not supported: nsnet's firewall uses nftables only");
    if (*backend != "nftables")
      throw Error(ErrorCode::kInvalidNetworkConfig,
                  "firewall: unknown backend \"" + *backend + "\"");
  }
  if (cni::optional_field<std::string>(conf, "firewalldZone"))
    throw Error(ErrorCode::kUnsupportedField,
                "firewall: firewalldZone is not supported: it needs the firewalld backend");
  if (const auto admin = cni::optional_field<std::string>(conf, "iptablesAdminChainName");
      admin && !admin->empty()) {
    if (!fw::valid_admin_chain_name(*admin))
      throw Error(ErrorCode::kInvalidNetworkConfig,
                  "firewall: invalid iptablesAdminChainName \"" + *admin +
                      "\": letters, digits, '_', '-', '.', starting with a letter, at most 64");
    config.admin_chain = *admin;
  }
  const auto policy = cni::optional_field<std::string>(conf, "ingressPolicy").value_or("");
  if (policy.empty() || policy == "open") {
    config.ingress_policy = fw::IngressPolicy::kOpen;
  } else if (policy == "same-bridge") {
    config.ingress_policy = fw::IngressPolicy::kSameBridge;
  } else if (policy == "isolated") {
    config.ingress_policy = fw::IngressPolicy::kIsolated;
  } else {
    throw Error(ErrorCode::kInvalidNetworkConfig,
                "firewall: invalid ingressPolicy \"" + policy +
                    "\": expected open, same-bridge or isolated");
  }
  return config;
}

}  // namespace plugins::firewall
