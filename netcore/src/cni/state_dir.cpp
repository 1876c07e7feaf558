#include "netcore/cni/state_dir.hpp"

#include "netcore/base/error.hpp"
#include "netcore/cni/json.hpp"

namespace netcore::cni {

std::optional<std::filesystem::path> optional_dir_field(const nlohmann::json& j,
                                                        const std::string& key) {
  const auto dir = optional_field<std::string>(j, key);
  if (!dir || dir->empty()) return std::nullopt;
  if (dir->find('\0') != std::string::npos) {
    std::string shown;
    for (const char c : *dir) shown += c == '\0' ? std::string("\\0") : std::string(1, c);
    throw Error(ErrorCode::kInvalidNetworkConfig, key + ": \"" + shown + "\" contains a NUL");
  }
  if (std::filesystem::path(*dir).is_relative())
    throw Error(ErrorCode::kInvalidNetworkConfig,
                key + ": \"" + *dir + "\" is not an absolute path");
  return std::filesystem::path(*dir);
}

}  // namespace netcore::cni
