#include "netcore/cni/version.hpp"

#include <charconv>

#include "netcore/base/error.hpp"

namespace netcore::cni {
namespace {

bool at_least(std::string_view version, SpecVersion minimum) noexcept {
  const auto v = parse_spec_version(version);
  return v && *v >= minimum;
}

SpecVersion get_version(std::string_view text) {
  const auto v = parse_spec_version(text);
  if (!v)
    throw Error(ErrorCode::kDecodingFailure, "invalid CNI version \"" + std::string(text) + "\"");
  return *v;
}

}  // namespace

std::vector<std::string> all_spec_versions() {
  return {kSpecVersions.begin(), kSpecVersions.end()};
}

std::optional<SpecVersion> parse_spec_version(std::string_view text) noexcept {
  int parts[3] = {0, 0, 0};
  std::size_t count = 0;
  while (true) {
    if (count == 3) return std::nullopt;
    const auto dot = text.find('.');
    const auto part = text.substr(0, dot);
    if (part.empty() || part.size() > 9) return std::nullopt;
    for (const char c : part)
      if (c < '0' || c > '9') return std::nullopt;
    std::from_chars(part.data(), part.data() + part.size(), parts[count]);
    ++count;
    if (dot == std::string_view::npos) break;
    text.remove_prefix(dot + 1);
  }
  return SpecVersion{parts[0], parts[1], parts[2]};
}

int compare_versions(std::string_view a, std::string_view b) {
  const auto va = get_version(a);
  const auto vb = get_version(b);
  if (va < vb) return -1;
  return va == vb ? 0 : 1;
}

bool version_at_least(std::string_view version, std::string_view minimum) {
  return compare_versions(version, minimum) >= 0;
}

bool is_known_version(std::string_view version) noexcept {
  for (const auto known : kSpecVersions)
    if (known == version) return true;
  return false;
}

bool supports_check(std::string_view version) noexcept { return at_least(version, {0, 4, 0}); }
bool supports_gc(std::string_view version) noexcept { return at_least(version, {1, 1, 0}); }
bool supports_status(std::string_view version) noexcept { return at_least(version, {1, 1, 0}); }
bool has_rich_result(std::string_view version) noexcept { return at_least(version, {0, 3, 0}); }

bool result_has_ip_version(std::string_view version) noexcept {
  const auto v = parse_spec_version(version);
  return v && *v >= SpecVersion{0, 3, 0} && *v < SpecVersion{1, 0, 0};
}

}  // namespace netcore::cni
