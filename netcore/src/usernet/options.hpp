#pragma once

// The "key=value,key=value" syntax of podman's --network slirp4netns:/pasta: options.

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace netcore::usernet::detail {

inline std::vector<std::pair<std::string, std::string>> split_options(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> options;
  while (!text.empty()) {
    const auto comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    if (item.empty()) continue;
    const auto eq = item.find('=');
    options.emplace_back(std::string(item.substr(0, eq)),
                         eq == std::string_view::npos ? "" : std::string(item.substr(eq + 1)));
  }
  return options;
}

inline bool parse_bool(const std::string& key, const std::string& value) {
  if (value == "true" || value.empty()) return true;
  if (value == "false") return false;
  throw std::invalid_argument("option " + key + ": expected true or false, got \"" + value + "\"");
}

inline unsigned parse_mtu(const std::string& value) {
  std::size_t used = 0;
  unsigned long mtu = 0;
  try {
    mtu = std::stoul(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != value.size() || mtu < 68 || mtu > 65521)
    throw std::invalid_argument("option mtu: expected 68..65521, got \"" + value + "\"");
  return static_cast<unsigned>(mtu);
}

}  // namespace netcore::usernet::detail
