#include "netcore/cni/types.hpp"

#include <utility>

#include "netcore/base/error.hpp"
#include "netcore/cni/json.hpp"
#include "netcore/cni/version.hpp"

namespace netcore::cni {
namespace {

using nlohmann::json;

void require_object(const json& j) {
  if (!j.is_object())
    throw Error(ErrorCode::kDecodingFailure,
                std::string("expected an object, got ") + j.type_name());
}

template <class Fn>
auto with_context(std::string_view context, Fn&& fn) {
  try {
    return fn();
  } catch (Error& e) {
    e.prefix(context);
    throw;
  }
}

// One "ip4"/"ip6" block of a 0.1.0/0.2.0 result: its address joins ips, its routes the top level.
void parse_legacy_block(const json& j, const std::string& key, Result& result) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return;
  with_context(key, [&] {
    require_object(*it);
    result.ips.push_back({.address = required_field<net::Prefix>(*it, "ip"),
                          .gateway = optional_field<net::IpAddress>(*it, "gateway")});
    auto routes = array_field<Route>(*it, "routes");
    result.routes.insert(result.routes.end(), std::make_move_iterator(routes.begin()),
                         std::make_move_iterator(routes.end()));
  });
}

Result parse_legacy(const json& j) {
  Result result;
  parse_legacy_block(j, "ip4", result);
  parse_legacy_block(j, "ip6", result);
  result.dns = optional_field<Dns>(j, "dns").value_or(Dns{});
  return result;
}

Result parse_rich(const json& j) {
  Result result;
  result.interfaces = array_field<Interface>(j, "interfaces");
  result.ips = array_field<IpConfig>(j, "ips");
  result.routes = array_field<Route>(j, "routes");
  result.dns = optional_field<Dns>(j, "dns").value_or(Dns{});
  return result;
}

// 0.1.0/0.2.0: the first address of each family, with the routes of that family (dst, gw only).
json to_legacy(const Result& result, json j) {
  const IpConfig* v4 = nullptr;
  const IpConfig* v6 = nullptr;
  for (const auto& ip : result.ips) {
    auto& slot = ip.address.is_v4() ? v4 : v6;
    if (slot == nullptr) slot = &ip;
  }
  if (v4 == nullptr && v6 == nullptr)
    throw Error(ErrorCode::kInternal, "cannot convert: no valid IP addresses");
  auto block = [&](const IpConfig& ip) {
    json b = {{"ip", ip.address}};
    if (ip.gateway) b["gateway"] = *ip.gateway;
    json routes = json::array();
    for (const auto& route : result.routes) {
      if (route.dst.is_v4() != ip.address.is_v4()) continue;
      json r = {{"dst", route.dst}};
      if (route.gw) r["gw"] = *route.gw;
      routes.push_back(std::move(r));
    }
    if (!routes.empty()) b["routes"] = std::move(routes);
    return b;
  };
  if (v4 != nullptr) j["ip4"] = block(*v4);
  if (v6 != nullptr) j["ip6"] = block(*v6);
  if (!result.dns.empty()) j["dns"] = result.dns;
  return j;
}

}  // namespace

Result Result::from_json(const json& j, const std::string& config_version) {
  return with_context("decode result", [&] {
    require_object(j);
    std::string version = optional_field<std::string>(j, "cniVersion").value_or("");
    if (version.empty()) version = config_version;
    if (version.empty()) version = kDefaultConfigVersion;
    if (!is_known_version(version))
      throw Error(ErrorCode::kIncompatibleVersion,
                  "unsupported CNI result version \"" + version + "\"");
    return has_rich_result(version) ? parse_rich(j) : parse_legacy(j);
  });
}

json Result::to_json(const std::string& version) const {
  if (!is_known_version(version))
    throw Error(ErrorCode::kIncompatibleVersion,
                "convert result: unsupported CNI version \"" + version + "\"");
  json j = {{"cniVersion", version}};
  if (!has_rich_result(version)) return to_legacy(*this, std::move(j));

  // 0.3.0 .. 0.4.0 know neither the 1.1.0-only fields nor a result without ips[].version.
  const bool pre_1_0 = result_has_ip_version(version);
  if (!interfaces.empty()) {
    json& out = j["interfaces"] = json::array();
    for (const auto& iface : interfaces) {
      json i = iface;
      if (pre_1_0) {
        i.erase("mtu");
        i.erase("socketPath");
        i.erase("pciID");
      }
      out.push_back(std::move(i));
    }
  }
  if (!ips.empty()) {
    json& out = j["ips"] = json::array();
    for (const auto& ip : ips) {
      json i = ip;
      if (pre_1_0) i["version"] = ip.address.is_v4() ? "4" : "6";
      out.push_back(std::move(i));
    }
  }
  if (!routes.empty()) {
    json& out = j["routes"] = json::array();
    for (const auto& route : routes) {
      json r = route;
      if (pre_1_0) {
        for (const char* key : {"mtu", "advmss", "priority", "table", "scope"}) r.erase(key);
      }
      out.push_back(std::move(r));
    }
  }
  if (!dns.empty()) j["dns"] = dns;
  return j;
}

void to_json(json& j, const Interface& iface) {
  j = {{"name", iface.name}};
  if (!iface.mac.empty()) j["mac"] = iface.mac;
  if (!iface.sandbox.empty()) j["sandbox"] = iface.sandbox;
  if (iface.mtu) j["mtu"] = *iface.mtu;
  if (!iface.socket_path.empty()) j["socketPath"] = iface.socket_path;
  if (!iface.pci_id.empty()) j["pciID"] = iface.pci_id;
}

void from_json(const json& j, Interface& iface) {
  require_object(j);
  iface.name = optional_field<std::string>(j, "name").value_or("");
  iface.mac = optional_field<std::string>(j, "mac").value_or("");
  iface.sandbox = optional_field<std::string>(j, "sandbox").value_or("");
  iface.mtu = optional_field<std::uint32_t>(j, "mtu");
  iface.socket_path = optional_field<std::string>(j, "socketPath").value_or("");
  iface.pci_id = optional_field<std::string>(j, "pciID").value_or("");
}

void to_json(json& j, const IpConfig& ip) {
  j = {{"address", ip.address}};
  if (ip.gateway) j["gateway"] = *ip.gateway;
  if (ip.interface) j["interface"] = *ip.interface;
}

void from_json(const json& j, IpConfig& ip) {
  require_object(j);  // "version" (0.3.x/0.4.0) is implied by the address
  ip.address = required_field<net::Prefix>(j, "address");
  ip.gateway = optional_field<net::IpAddress>(j, "gateway");
  ip.interface = optional_field<int>(j, "interface");
}

void to_json(json& j, const Route& route) {
  j = {{"dst", route.dst}};
  if (route.gw) j["gw"] = *route.gw;
  if (route.mtu) j["mtu"] = *route.mtu;
  if (route.advmss) j["advmss"] = *route.advmss;
  if (route.priority) j["priority"] = *route.priority;
  if (route.table) j["table"] = *route.table;
  if (route.scope) j["scope"] = *route.scope;
}

void from_json(const json& j, Route& route) {
  require_object(j);
  route.dst = required_field<net::Prefix>(j, "dst");
  route.gw = optional_field<net::IpAddress>(j, "gw");
  route.mtu = optional_field<std::uint32_t>(j, "mtu");
  route.advmss = optional_field<std::uint32_t>(j, "advmss");
  route.priority = optional_field<int>(j, "priority");
  route.table = optional_field<int>(j, "table");
  route.scope = optional_field<int>(j, "scope");
}

void to_json(json& j, const Dns& dns) {
  j = json::object();
  if (!dns.nameservers.empty()) j["nameservers"] = dns.nameservers;
  if (!dns.domain.empty()) j["domain"] = dns.domain;
  if (!dns.search.empty()) j["search"] = dns.search;
  if (!dns.options.empty()) j["options"] = dns.options;
}

void from_json(const json& j, Dns& dns) {
  require_object(j);
  dns.nameservers = array_field<std::string>(j, "nameservers");
  dns.domain = optional_field<std::string>(j, "domain").value_or("");
  dns.search = array_field<std::string>(j, "search");
  dns.options = array_field<std::string>(j, "options");
}

Dns config_dns(const json& conf) {
  const auto dns = conf.find("dns");
  if (dns == conf.end() || !dns->is_object()) return {};
  return at_json_path("dns", [&] { return dns->get<Dns>(); });
}

}  // namespace netcore::cni
