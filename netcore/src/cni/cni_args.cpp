#include "netcore/cni/cni_args.hpp"

#include <algorithm>

#include "netcore/base/error.hpp"

namespace netcore::cni {
namespace {

constexpr std::string_view kIgnoreUnknown = "IgnoreUnknown";

bool iequals(std::string_view a, std::string_view b) noexcept {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    return lower(x) == lower(y);
  });
}

}  // namespace

CniArgs CniArgs::parse(std::string_view text) {
  CniArgs args;
  if (text.empty()) return args;
  while (true) {
    const auto semi = text.find(';');
    const auto pair = text.substr(0, semi);
    const auto eq = pair.find('=');
    if (eq == 0 || eq == std::string_view::npos || pair.find('=', eq + 1) != std::string_view::npos)
      throw Error(ErrorCode::kInvalidEnvironment,
                  "invalid CNI_ARGS: malformed pair \"" + std::string(pair) + "\"");
    args.pairs_.emplace_back(pair.substr(0, eq), pair.substr(eq + 1));
    if (semi == std::string_view::npos) break;
    text.remove_prefix(semi + 1);
  }
  if (const auto value = args.find(kIgnoreUnknown)) {
    if (*value == "1" || iequals(*value, "true")) {
      args.ignore_unknown_ = true;
    } else if (!(*value == "0" || iequals(*value, "false"))) {
      throw Error(ErrorCode::kInvalidEnvironment,
                  "invalid CNI_ARGS: IgnoreUnknown=\"" + *value + "\" is not a boolean");
    }
  }
  return args;
}

std::optional<std::string> CniArgs::find(std::string_view key) const {
  // The last occurrence wins.
  const auto it = std::find_if(pairs_.rbegin(), pairs_.rend(),
                               [&](const auto& pair) { return pair.first == key; });
  if (it == pairs_.rend()) return std::nullopt;
  return it->second;
}

void CniArgs::check_known(const std::vector<std::string_view>& known) const {
  if (ignore_unknown_) return;
  for (const auto& [key, value] : pairs_) {
    if (key == kIgnoreUnknown || std::find(known.begin(), known.end(), key) != known.end())
      continue;
    throw Error(ErrorCode::kInvalidEnvironment, "CNI_ARGS: unknown key \"" + key + "\"");
  }
}

}  // namespace netcore::cni
