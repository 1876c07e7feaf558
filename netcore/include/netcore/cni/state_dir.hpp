#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace netcore::cni {

// j[key] as a directory for state files (host-local's and tuning's dataDir): nullopt when absent,
// null or "". Throws Error(kDecodingFailure) for a non-string, and Error(kInvalidNetworkConfig)
// naming the key for a relative path (it would depend on the directory the runtime happens to
// run plugins in) or one containing a NUL (which would silently cut the path short).
[[nodiscard]] std::optional<std::filesystem::path> optional_dir_field(const nlohmann::json& j,
                                                                      const std::string& key);

}  // namespace netcore::cni
