#pragma once

// The "ipam" key of the plugins for which IPAM is optional (macvlan, host-device, tap): absent,
// null, {} or {"type": ""} all mean "no addresses, the link only".

#include <nlohmann/json.hpp>
#include <string>

namespace netcore::cni {

// The IPAM plugin type, or "" for none. Throws Error(kInvalidNetworkConfig) when "ipam" is not
// an object, Error(kDecodingFailure) when "ipam.type" is not a string.
[[nodiscard]] std::string optional_ipam_type(const nlohmann::json& conf);

}  // namespace netcore::cni
