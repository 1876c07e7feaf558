#include "config.hpp"

#include <netcore/base/error.hpp>
#include <netcore/cni/json.hpp>
#include <netcore/cni/version.hpp>
#include <string>
#include <string_view>

namespace plugins::static_ipam {
namespace cni = netcore::cni;
namespace net = netcore::net;
using netcore::Error;
using netcore::ErrorCode;
using nlohmann::json;

namespace {

std::optional<net::Prefix> find_cidr(const std::string& text) {
  try {
    return net::Prefix::parse(text);
  } catch (const Error&) {
    return std::nullopt;
  }
}

std::string_view trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\n\v\f\r";
  const auto first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(kSpace) - first + 1);
}

// The comma-separated items of a CNI_ARGS value, each trimmed (the reference trims each).
std::vector<std::string> split_list(const std::string& value) {
  std::vector<std::string> items;
  std::string_view rest = value;
  while (true) {
    const auto comma = rest.find(',');
    items.emplace_back(trim(rest.substr(0, comma)));
    if (comma == std::string_view::npos) return items;
    rest.remove_prefix(comma + 1);
  }
}

// An address while the sources are applied. Config addresses stay text until the end, because
// the reference parses them only then: they miss CNI_ARGS gateways, and a replaced one is never
// validated.
struct Pending {
  std::string path;                    // where it came from, for errors
  std::string text;                    // as written
  std::optional<net::Prefix> address;  // parsed, or nullopt for a config address not yet read
  std::optional<net::IpAddress> gateway;
};

std::vector<Pending> read_config_addresses(const json& ipam) {
  std::vector<Pending> pending;
  const auto it = ipam.find("addresses");
  if (it == ipam.end() || it->is_null()) return pending;
  if (!it->is_array())
    throw Error(ErrorCode::kDecodingFailure, "ipam.addresses: must be an array of objects");
  for (size_t i = 0; i < it->size(); ++i) {
    const auto path = "ipam.addresses[" + std::to_string(i) + "]";
    const json& entry = (*it)[i];
    if (!entry.is_object()) throw Error(ErrorCode::kDecodingFailure, path + ": must be an object");
    Pending p{.path = path + ".address"};
    cni::at_json_path(path, [&] {
      // A missing address reads as "", which the final check rejects (the reference's way).
      p.text = cni::optional_field<std::string>(entry, "address").value_or("");
      // "" means no gateway, as Go's net.IP reads it.
      const auto gateway = entry.find("gateway");
      if (gateway == entry.end() ||
          (gateway->is_string() && gateway->get_ref<const std::string&>().empty()))
        return;
      p.gateway = cni::optional_field<net::IpAddress>(entry, "gateway");
    });
    pending.push_back(std::move(p));
  }
  return pending;
}

// `ips` of args.cni or runtimeConfig, replacing all addresses when non-empty.
void replace_with_ips(std::vector<Pending>& pending, const std::vector<std::string>& ips,
                      const std::string& path) {
  if (ips.empty()) return;
  pending.clear();
  for (size_t i = 0; i < ips.size(); ++i) {
    const auto entry_path = path + "[" + std::to_string(i) + "]";
    const auto address = find_cidr(ips[i]);
    if (!address)
      netcore::throw_invalid_config(
          entry_path + ": an entry in the 'ips' field is NOT in CIDR notation, got: '" + ips[i] +
          "'");
    pending.push_back({.path = entry_path, .text = ips[i], .address = address, .gateway = {}});
  }
}

}  // namespace

Config parse_config(const cni::CmdArgs& args) {
  const auto ipam_it = args.config.find("ipam");
  if (ipam_it == args.config.end() || ipam_it->is_null())
    netcore::throw_invalid_config("IPAM config missing 'ipam' key");
  const json& ipam = *ipam_it;
  if (!ipam.is_object()) throw Error(ErrorCode::kDecodingFailure, "ipam: must be an object");

  // The reference decodes the whole config first, so type errors come before anything else.
  Config config;
  auto pending = read_config_addresses(ipam);
  config.routes =
      cni::at_json_path("ipam", [&] { return cni::array_field<cni::Route>(ipam, "routes"); });
  config.dns = cni::at_json_path("ipam", [&] {
                 return cni::optional_field<cni::Dns>(ipam, "dns");
               }).value_or(cni::Dns{});

  const auto cni_args = args.cni_args();
  cni_args.check_known({"IP", "GATEWAY"});
  if (const auto ip = cni_args.find("IP"); ip && !ip->empty()) {
    for (const auto& item : split_list(*ip)) {
      const auto address = find_cidr(item);
      if (!address)
        netcore::throw_invalid_config(
            "CNI_ARGS IP: the 'ip' field is expected to be in CIDR notation, got: '" + item + "'");
      pending.push_back({.path = "CNI_ARGS IP", .text = item, .address = address, .gateway = {}});
    }
  }
  if (const auto gateways = cni_args.find("GATEWAY"); gateways && !gateways->empty()) {
    for (const auto& item : split_list(*gateways)) {
      const auto gateway =
          cni::at_json_path("CNI_ARGS GATEWAY", [&] { return net::parse_ip_address(item); });
      // Config addresses are not parsed yet here (see Pending), so only CNI_ARGS ones match.
      for (auto& p : pending)
        if (p.address && p.address->contains(gateway)) p.gateway = gateway;
    }
  }

  replace_with_ips(
      pending,
      cni::at_json_path("args.cni",
                        [&] { return cni::array_field<std::string>(args.args_cni(), "ips"); }),
      "args.cni.ips");
  replace_with_ips(pending,
                   cni::at_json_path(
                       "runtimeConfig",
                       [&] { return cni::array_field<std::string>(args.runtime_config(), "ips"); }),
                   "runtimeConfig.ips");

  size_t v4 = 0, v6 = 0;
  for (auto& p : pending) {
    if (!p.address) {
      p.address = find_cidr(p.text);
      if (!p.address)
        netcore::throw_invalid_config(
            p.path + ": the 'address' field is expected to be in CIDR notation, got: '" + p.text +
            "'");
    }
    (p.address->is_v4() ? v4 : v6)++;
    config.addresses.push_back({.address = *p.address, .gateway = p.gateway});
  }
  // Results before 0.3.0 hold one ip4 and one ip6.
  if ((v4 > 1 || v6 > 1) && !cni::has_rich_result(args.config_version))
    netcore::throw_invalid_config("CNI version " + args.config_version +
                                  " does not support more than 1 address per family");
  return config;
}

}  // namespace plugins::static_ipam
