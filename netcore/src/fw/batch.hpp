#pragma once

// Helpers shared by the nft users of netcore_fw (mac_spoof, portmap, firewall): quoting, lists,
// and the re-plan-and-retry loop around one atomic batch. Private to netcore_fw.

#include <string>
#include <vector>

#include "netcore/base/error.hpp"
#include "netcore/base/log.hpp"
#include "netcore/fw/nftables.hpp"

namespace netcore::fw::detail {

// Attempts of a change that another process's concurrent transaction may have made fail.
inline constexpr int kBatchAttempts = 5;

// `text` in nft double quotes; callers make sure it holds no '"' (safe_comment, name checks).
[[nodiscard]] inline std::string quoted(const std::string& text) { return "\"" + text + "\""; }

// "a, b, c": the body of an nft element list.
[[nodiscard]] inline std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

// Runs the batch `plan()` returns ("" = nothing to do), planning afresh and retrying when a
// concurrent transaction of another process made it fail (or made the listing `plan` reads
// vanish under it). The last failure is rethrown, prefixed with `operation`. Returns true when a
// batch ran.
template <class Plan>
bool run_with_retries(Plan plan, const std::string& operation) {
  for (int attempt = 1;; ++attempt) {
    try {
      const std::string script = plan();
      if (script.empty()) return false;
      run_batch(script);
      return true;
    } catch (Error& e) {
      if (attempt == kBatchAttempts) {
        e.prefix(operation);
        throw;
      }
      log::debug("{}: {}, retrying", operation, e.msg());
    }
  }
}

}  // namespace netcore::fw::detail
