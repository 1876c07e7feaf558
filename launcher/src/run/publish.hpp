#pragma once

// --publish [HOSTIP:]HOSTPORT:CTRPORT[/PROTO] → a CNI "portMappings" capability entry
// ({"hostPort", "containerPort", "protocol", "hostIP"}), as podman passes it to portmap.

#include <string>

#include <nlohmann/json.hpp>

namespace nsnet {

// Throws std::invalid_argument naming the bad part. An IPv6 HOSTIP is written in brackets.
[[nodiscard]] nlohmann::json parse_publish(const std::string& spec);

}  // namespace nsnet
