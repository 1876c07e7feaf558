#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace netcore::cni {

// The CNI_ARGS environment variable, "K=V;K=V" (spec §a10). Keys are case-sensitive; a repeated
// key's last value wins, as in the reference. Value type.
class CniArgs final {
 public:
  CniArgs() = default;

  // "" means no pairs. Each pair needs exactly one '=' and a non-empty key (the reference splits
  // on '=' and rejects anything but two parts). Throws Error(kInvalidEnvironment) naming CNI_ARGS
  // and the pair; also for an IgnoreUnknown value other than 1/true/0/false (any case).
  [[nodiscard]] static CniArgs parse(std::string_view text);

  [[nodiscard]] std::optional<std::string> find(std::string_view key) const;
  [[nodiscard]] bool contains(std::string_view key) const { return find(key).has_value(); }
  [[nodiscard]] const std::vector<std::pair<std::string, std::string>>& pairs() const noexcept {
    return pairs_;
  }
  // IgnoreUnknown=1|true (case-insensitive).
  [[nodiscard]] bool ignore_unknown() const noexcept { return ignore_unknown_; }

  // Throws Error(kInvalidEnvironment, "CNI_ARGS: unknown key \"K\"") for the first key that is
  // neither in `known` nor IgnoreUnknown, unless ignore_unknown().
  void check_known(const std::vector<std::string_view>& known) const;

 private:
  std::vector<std::pair<std::string, std::string>> pairs_;
  bool ignore_unknown_ = false;
};

}  // namespace netcore::cni
