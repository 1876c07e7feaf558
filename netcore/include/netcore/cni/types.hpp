#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "netcore/cni/json.hpp"
#include "netcore/net/ip.hpp"

// The CNI result types, always in the spec 1.1.0 shape; Result converts from and to every
// version (spec §a5, §a6). Value types.
namespace netcore::cni {

struct Interface {
  std::string name;
  std::string mac;                   // may be empty (IPAM results, some host interfaces)
  std::string sandbox;               // CNI_NETNS for interfaces in the container, empty on the host
  std::optional<std::uint32_t> mtu;  // 1.1.0
  std::string socket_path;           // 1.1.0 "socketPath"
  std::string pci_id;                // 1.1.0 "pciID"
  friend bool operator==(const Interface&, const Interface&) = default;
};

struct IpConfig {
  net::Prefix address;  // the interface address with its prefix length ("10.1.0.5/24")
  std::optional<net::IpAddress> gateway;
  std::optional<int> interface;  // index into Result::interfaces; IPAM leaves it out
  friend bool operator==(const IpConfig&, const IpConfig&) = default;
};

struct Route {
  net::Prefix dst;
  std::optional<net::IpAddress> gw;
  std::optional<std::uint32_t> mtu;     // 1.1.0
  std::optional<std::uint32_t> advmss;  // 1.1.0
  std::optional<int> priority;          // 1.1.0
  std::optional<int> table;             // 1.1.0
  std::optional<int> scope;             // 1.1.0: 0 universe, 253 link, 254 host
  friend bool operator==(const Route&, const Route&) = default;
};

struct Dns {
  std::vector<std::string> nameservers;
  std::string domain;
  std::vector<std::string> search;
  std::vector<std::string> options;
  [[nodiscard]] bool empty() const noexcept {
    return nameservers.empty() && domain.empty() && search.empty() && options.empty();
  }
  friend bool operator==(const Dns&, const Dns&) = default;
};

struct Result {
  std::vector<Interface> interfaces;
  std::vector<IpConfig> ips;
  std::vector<Route> routes;
  Dns dns;

  // Parses a result written in any spec version: the 0.1.0/0.2.0 "ip4"/"ip6" shape or the
  // >= 0.3.0 shape, chosen by the result's own "cniVersion", or `config_version` when it has
  // none (libcni does the same). Throws Error(kDecodingFailure | kInvalidNetworkConfig) naming
  // the field ("decode result: ips[0]: address: invalid CIDR address ..."), and
  // Error(kIncompatibleVersion) for a version outside kSpecVersions.
  [[nodiscard]] static Result from_json(const nlohmann::json& j, const std::string& config_version);

  // The result as `version` prints it, converted down per spec §a6 (1.0.0 keeps the 1.1.0-only
  // fields, as the reference does). Absent values are left out, never null; "dns" is left out
  // when empty. Throws Error(kIncompatibleVersion) for an unknown version and, for 0.1.0/0.2.0,
  // Error(kInternal, "cannot convert: no valid IP addresses") when there is no IP.
  [[nodiscard]] nlohmann::json to_json(const std::string& version) const;

  friend bool operator==(const Result&, const Result&) = default;
};

// The 1.1.0 shape of each part (ADL). from_json ignores unknown keys and throws like
// Result::from_json; to_json leaves absent fields out.
void to_json(nlohmann::json& j, const Interface& iface);
void from_json(const nlohmann::json& j, Interface& iface);
void to_json(nlohmann::json& j, const IpConfig& ip);
void from_json(const nlohmann::json& j, IpConfig& ip);
void to_json(nlohmann::json& j, const Route& route);
void from_json(const nlohmann::json& j, Route& route);
void to_json(nlohmann::json& j, const Dns& dns);
void from_json(const nlohmann::json& j, Dns& dns);

// A plugin config's "dns", which the main plugins pass through to their result: empty when absent
// or not an object (the reference ignores it then). Throws like from_json, naming "dns".
[[nodiscard]] Dns config_dns(const nlohmann::json& conf);

}  // namespace netcore::cni
