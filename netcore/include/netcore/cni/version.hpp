#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace netcore::cni {

// Every CNI spec version nsnet speaks, oldest first (spec §a1).
inline constexpr std::array<std::string_view, 7> kSpecVersions = {
    "0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"};
inline constexpr std::string_view kLatestSpecVersion = "1.1.0";
// What a config without "cniVersion" means (spec §a7).
inline constexpr std::string_view kDefaultConfigVersion = "0.1.0";

// kSpecVersions as strings, for PluginSpec::versions and messages.
[[nodiscard]] std::vector<std::string> all_spec_versions();

// A parsed "MAJOR[.MINOR[.PATCH]]", as the reference's version.ParseVersion reads it ("" is not
// accepted here; callers map an absent version to kDefaultConfigVersion first). Value type.
struct SpecVersion {
  int major = 0;
  int minor = 0;
  int patch = 0;
  friend auto operator<=>(const SpecVersion&, const SpecVersion&) = default;
};

// nullopt when `text` is not 1-3 dot-separated decimal numbers.
[[nodiscard]] std::optional<SpecVersion> parse_spec_version(std::string_view text) noexcept;

// <0, 0, >0 like strcmp. Throws Error(kDecodingFailure) naming an unparsable version.
[[nodiscard]] int compare_versions(std::string_view a, std::string_view b);
// a >= b; throws like compare_versions.
[[nodiscard]] bool version_at_least(std::string_view version, std::string_view minimum);

// True for one of kSpecVersions exactly (the reference matches version strings exactly).
[[nodiscard]] bool is_known_version(std::string_view version) noexcept;

// Feature predicates for a known or parsable version; false for an unparsable one.
[[nodiscard]] bool supports_check(std::string_view version) noexcept;   // >= 0.4.0
[[nodiscard]] bool supports_gc(std::string_view version) noexcept;      // >= 1.1.0
[[nodiscard]] bool supports_status(std::string_view version) noexcept;  // >= 1.1.0
[[nodiscard]] bool has_rich_result(std::string_view version) noexcept;  // >= 0.3.0
// ips[].version is written for 0.3.0 <= v < 1.0.0.
[[nodiscard]] bool result_has_ip_version(std::string_view version) noexcept;

}  // namespace netcore::cni
