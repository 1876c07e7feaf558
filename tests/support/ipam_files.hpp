#pragma once

#include <filesystem>
#include <set>
#include <string>

namespace nsnet::testing {

// The reservation files (each named by its address) in a host-local network directory, i.e.
// everything but `lock` and `last_reserved_ip.*`; empty when the directory does not exist.
inline std::set<std::string> reserved_addresses(const std::filesystem::path& network_dir) {
  std::set<std::string> names;
  if (!std::filesystem::exists(network_dir)) return names;
  for (const auto& entry : std::filesystem::directory_iterator(network_dir)) {
    const auto name = entry.path().filename().string();
    if (name != "lock" && !name.starts_with("last_reserved_ip.")) names.insert(name);
  }
  return names;
}

}  // namespace nsnet::testing
