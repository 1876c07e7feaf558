#include "config.hpp"

#include <netcore/base/error.hpp>
#include <netcore/base/file.hpp>
#include <netcore/cni/json.hpp>
#include <netcore/cni/state_dir.hpp>
#include <netcore/cni/version.hpp>
#include <netcore/ipam/disk_store.hpp>
#include <sstream>

namespace plugins::host_local {
namespace cni = netcore::cni;
namespace ipam = netcore::ipam;
namespace net = netcore::net;
using netcore::Error;
using netcore::ErrorCode;
using nlohmann::json;

namespace {

// An address given with or without a prefix length ("10.1.0.5" or "10.1.0.5/24").
net::IpAddress parse_requested(const std::string& text) {
  const auto slash = text.find('/');
  if (slash == std::string::npos) return net::parse_ip_address(text);
  return net::Prefix::parse(text).address();
}

ipam::Range parse_range(const json& j) {
  if (!j.is_object()) throw Error(ErrorCode::kDecodingFailure, "a range must be an object");
  const auto subnet = cni::optional_field<net::Prefix>(j, "subnet");
  if (!subnet) netcore::throw_invalid_config("missing \"subnet\"");
  return ipam::Range::make(*subnet, cni::optional_field<net::IpAddress>(j, "rangeStart"),
                           cni::optional_field<net::IpAddress>(j, "rangeEnd"),
                           cni::optional_field<net::IpAddress>(j, "gateway"));
}

// `ranges`-shaped JSON: an array of range sets, each an array of ranges.
std::vector<ipam::RangeSet> parse_range_sets(const json& j, const std::string& path) {
  std::vector<ipam::RangeSet> sets;
  if (j.is_null()) return sets;
  if (!j.is_array())
    throw Error(ErrorCode::kDecodingFailure, path + ": must be an array of range sets");
  for (size_t i = 0; i < j.size(); ++i) {
    const auto set_path = path + "[" + std::to_string(i) + "]";
    const auto& set = j[i];
    if (!set.is_array() || set.empty())
      netcore::throw_invalid_config(set_path + ": a range set must be a non-empty array of ranges");
    std::vector<ipam::Range> ranges;
    for (size_t k = 0; k < set.size(); ++k)
      ranges.push_back(cni::at_json_path(set_path + "[" + std::to_string(k) + "]",
                                         [&] { return parse_range(set[k]); }));
    sets.push_back(cni::at_json_path(set_path, [&] { return ipam::RangeSet(std::move(ranges)); }));
  }
  return sets;
}

}  // namespace

Config parse_config(const cni::CmdArgs& args) {
  const auto ipam_it = args.config.find("ipam");
  if (ipam_it == args.config.end() || !ipam_it->is_object())
    netcore::throw_invalid_config("IPAM config missing 'ipam' key");
  const json& conf = *ipam_it;

  Config config{.network = args.network_name};

  // Requested addresses: CNI_ARGS IP=, then args.cni.ips, then runtimeConfig.ips (all honoured).
  const auto cni_args = args.cni_args();
  cni_args.check_known({"IP"});
  if (const auto ip = cni_args.find("IP"))
    config.requested.push_back(
        cni::at_json_path("CNI_ARGS IP", [&] { return parse_requested(*ip); }));
  for (const auto& text : cni::array_field<std::string>(args.args_cni(), "ips"))
    config.requested.push_back(
        cni::at_json_path("args.cni.ips", [&] { return parse_requested(text); }));
  for (const auto& text : cni::array_field<std::string>(args.runtime_config(), "ips"))
    config.requested.push_back(
        cni::at_json_path("runtimeConfig.ips", [&] { return parse_requested(text); }));

  // Range sets: runtimeConfig.ipRanges, then the legacy single range, then `ranges`.
  const auto runtime_ranges = args.runtime_config().find("ipRanges");
  if (runtime_ranges != args.runtime_config().end())
    config.range_sets = parse_range_sets(*runtime_ranges, "runtimeConfig.ipRanges");
  if (conf.contains("subnet")) {
    auto legacy = cni::at_json_path("ipam", [&] { return parse_range(conf); });
    config.range_sets.emplace_back(std::vector<ipam::Range>{std::move(legacy)});
  }
  if (const auto ranges = conf.find("ranges"); ranges != conf.end()) {
    for (auto& set : parse_range_sets(*ranges, "ipam.ranges"))
      config.range_sets.push_back(std::move(set));
  }
  if (config.range_sets.empty()) netcore::throw_invalid_config("no IP ranges specified");
  ipam::check_disjoint(config.range_sets);

  size_t v4 = 0, v6 = 0;
  for (const auto& set : config.range_sets) (set.is_v4() ? v4 : v6)++;
  if ((v4 > 1 || v6 > 1) && !cni::has_rich_result(args.config_version))
    netcore::throw_invalid_config("CNI version " + args.config_version +
                                  " does not support more than 1 address per family");

  config.routes =
      cni::at_json_path("ipam", [&] { return cni::array_field<cni::Route>(conf, "routes"); });
  config.data_dir = cni::at_json_path("ipam", [&] {
    return cni::optional_dir_field(conf, "dataDir").value_or(ipam::DiskStore::kDefaultDataDir);
  });
  if (auto resolv = cni::optional_field<std::string>(conf, "resolvConf");
      resolv && !resolv->empty())
    config.resolv_conf = *resolv;
  return config;
}

cni::Dns parse_resolv_conf(const std::filesystem::path& path) {
  std::istringstream in(netcore::read_file(path));
  cni::Dns dns;
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string key;
    if (!(fields >> key) || key[0] == '#' || key[0] == ';') continue;
    std::vector<std::string> values;
    for (std::string v; fields >> v;) values.push_back(v);
    if (values.empty()) continue;
    if (key == "nameserver") {
      dns.nameservers.push_back(values[0]);
    } else if (key == "domain") {
      dns.domain = values[0];
    } else if (key == "search") {
      dns.search.insert(dns.search.end(), values.begin(), values.end());
    } else if (key == "options") {
      dns.options.insert(dns.options.end(), values.begin(), values.end());
    }
  }
  return dns;
}

}  // namespace plugins::host_local
