#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "netcore/ipam/range.hpp"
#include "netcore/ipam/store.hpp"
#include "netcore/net/ip.hpp"

namespace nsnet::testing {

// IPAM values from text, for tests: "" stands for a key left out.
inline netcore::net::IpAddress ip(std::string_view text) {
  return netcore::net::parse_ip_address(text);
}
inline std::optional<netcore::net::IpAddress> opt(std::string_view text) {
  if (text.empty()) return std::nullopt;
  return ip(text);
}
inline netcore::ipam::Range make_range(std::string_view subnet, std::string_view start = "",
                                       std::string_view end = "", std::string_view gateway = "") {
  return netcore::ipam::Range::make(netcore::net::Prefix::parse(subnet), opt(start), opt(end),
                                    opt(gateway));
}
// The owner of a reservation: a container and its interface.
inline netcore::ipam::Owner owner(std::string id, std::string ifname = "eth0") {
  return {std::move(id), std::move(ifname)};
}

}  // namespace nsnet::testing
