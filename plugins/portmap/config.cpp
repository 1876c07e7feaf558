#include "portmap/config.hpp"

#include <algorithm>
#include <cctype>

#include <netcore/base/error.hpp>
#include <netcore/cni/json.hpp>

namespace plugins::portmap {
namespace cni = netcore::cni;
namespace fw = netcore::fw;
namespace net = netcore::net;
using netcore::Error;
using netcore::ErrorCode;

namespace {

std::uint16_t parse_port(const nlohmann::json& entry, const std::string& key,
                         const std::string& where) {
  const auto port = cni::optional_field<std::int64_t>(entry, key);
  if (!port) throw Error(ErrorCode::kInvalidNetworkConfig, where + ": missing \"" + key + "\"");
  if (*port < 1 || *port > 65535)
    throw Error(ErrorCode::kInvalidNetworkConfig,
                where + "." + key + ": " + std::to_string(*port) + " is not a port (1-65535)");
  return static_cast<std::uint16_t>(*port);
}

fw::PortMapping parse_mapping(const nlohmann::json& entry, const std::string& where) {
  if (!entry.is_object())
    throw Error(ErrorCode::kDecodingFailure, where + ": expected an object, got " + entry.dump());
  fw::PortMapping m;
  m.host_port = parse_port(entry, "hostPort", where);
  m.container_port = parse_port(entry, "containerPort", where);
  std::string protocol = cni::optional_field<std::string>(entry, "protocol").value_or("");
  std::transform(protocol.begin(), protocol.end(), protocol.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (protocol == "tcp")
    m.protocol = fw::L4Protocol::kTcp;
  else if (protocol == "udp")
    m.protocol = fw::L4Protocol::kUdp;
  else if (protocol == "sctp")
    m.protocol = fw::L4Protocol::kSctp;
  else
    throw Error(ErrorCode::kInvalidNetworkConfig,
                where + ".protocol: \"" + protocol + "\" is not tcp, udp or sctp");
  // "" and the unspecified addresses mean every local address, as runtimes send them.
  const std::string host_ip = cni::optional_field<std::string>(entry, "hostIP").value_or("");
  if (!host_ip.empty()) {
    const auto ip = cni::at_json_path(where + ".hostIP", [&] {
      return nlohmann::json(host_ip).get<net::IpAddress>();
    });
    if (ip.is_multicast())
      throw Error(ErrorCode::kInvalidNetworkConfig,
                  where + ".hostIP: " + host_ip + " is a multicast address");
    if (!ip.is_unspecified()) m.host_ip = ip;
  }
  return m;
}

std::vector<std::string> parse_conditions(const nlohmann::json& conf, const std::string& key) {
  auto conditions = cni::array_field<std::string>(conf, key);
  for (const auto& condition : conditions) {
    const auto first = condition.find_first_not_of(' ');
    if (first != std::string::npos && (condition[first] == '-' || condition[first] == '!'))
      throw Error(ErrorCode::kUnsupportedField,
                  key + ": \"" + condition +
                      "\" is iptables syntax; nsnet's portmap takes nft match expressions only");
  }
  return conditions;
}

}  // namespace

Config parse_config(const cni::CmdArgs& args) {
  const auto& conf = args.config;
  Config config;
  if (const auto backend = cni::optional_field<std::string>(conf, "backend")) {
    if (*backend == "iptables")
      throw Error(ErrorCode::kUnsupportedField,
                  "backend: \"iptables\" is not supported; nsnet's portmap uses nftables");
    if (*backend != "nftables")
      throw Error(ErrorCode::kInvalidNetworkConfig,
                  "backend: \"" + *backend + "\" is not \"nftables\"");
  }
  for (const char* key : {"markMasqBit", "externalSetMarkChain"})
    if (conf.contains(key) && !conf.at(key).is_null())
      throw Error(ErrorCode::kUnsupportedField,
                  std::string(key) + ": an iptables-backend option; nsnet's portmap uses nftables");
  config.snat = cni::optional_field<bool>(conf, "snat").value_or(true);
  config.masq_all = cni::optional_field<bool>(conf, "masqAll").value_or(false);
  config.conditions_v4 = parse_conditions(conf, "conditionsV4");
  config.conditions_v6 = parse_conditions(conf, "conditionsV6");

  const auto& runtime = args.runtime_config();
  if (const auto mappings = runtime.find("portMappings");
      mappings != runtime.end() && !mappings->is_null()) {
    if (!mappings->is_array())
      throw Error(ErrorCode::kDecodingFailure,
                  "runtimeConfig.portMappings: expected an array, got " + mappings->dump());
    for (std::size_t i = 0; i < mappings->size(); ++i) {
      const std::string where = "runtimeConfig.portMappings[" + std::to_string(i) + "]";
      auto m = parse_mapping((*mappings)[i], where);
      const bool duplicate =
          std::any_of(config.mappings.begin(), config.mappings.end(), [&](const auto& other) {
            return other.host_port == m.host_port && other.protocol == m.protocol &&
                   other.host_ip == m.host_ip;
          });
      if (duplicate)
        throw Error(ErrorCode::kInvalidNetworkConfig,
                    where + ": host port " + std::to_string(m.host_port) + "/" +
                        fw::to_string(m.protocol) + " is already mapped");
      config.mappings.push_back(m);
    }
  }
  return config;
}

fw::PortmapSpec make_spec(const Config& config, const cni::Result& prev, const std::string& ifname) {
  fw::PortmapSpec spec;
  spec.mappings = config.mappings;
  spec.snat = config.snat;
  spec.masq_all = config.masq_all;
  spec.conditions_v4 = config.conditions_v4;
  spec.conditions_v6 = config.conditions_v6;
  for (const auto& ip : prev.ips) {
    if (!ip.interface || *ip.interface < 0 ||
        static_cast<std::size_t>(*ip.interface) >= prev.interfaces.size())
      continue;
    const auto& iface = prev.interfaces[static_cast<std::size_t>(*ip.interface)];
    if (iface.name != ifname || iface.sandbox.empty()) continue;
    auto& slot = ip.address.is_v4() ? spec.container_v4 : spec.container_v6;
    if (!slot) slot = ip.address.address();
  }
  if (!spec.mappings.empty() && !spec.container_v4 && !spec.container_v6)
    throw Error(ErrorCode::kInvalidNetworkConfig,
                "prevResult: no address of interface " + ifname + " in a sandbox to publish to");
  for (const auto& m : spec.mappings) {
    if (!m.host_ip) continue;
    if (!(m.host_ip->is_v4() ? spec.container_v4 : spec.container_v6))
      throw Error(ErrorCode::kInvalidNetworkConfig,
                  "runtimeConfig.portMappings: hostIP " + m.host_ip->to_string() +
                      " is of a family the container has no address of");
  }
  return spec;
}

}  // namespace plugins::portmap
