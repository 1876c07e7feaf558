#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "netcore/base/error.hpp"

namespace netcore::cni {

// The CNI error document (spec §a8): {"cniVersion", "code", "msg", "details"}, details left out
// when empty.
[[nodiscard]] nlohmann::json error_json(const std::string& version, const Error& error);

// The reverse, for the error document of a delegated plugin: its code (kInternal when missing or
// not a positive integer), msg and details. Never throws but for bad_alloc.
[[nodiscard]] Error error_from_json(const nlohmann::json& j);

}  // namespace netcore::cni
