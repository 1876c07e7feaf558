#pragma once

// What the nft-backed modules share to build and commit their batches. Private to netcore_fw.

#include <spdlog/spdlog.h>

#include <string>
#include <vector>

#include "netcore/base/error.hpp"
#include "netcore/fw/nftables.hpp"

namespace netcore::fw::detail {

// Attempts of a change that another process's concurrent transaction may have made fail.
inline constexpr int kBatchAttempts = 5;

// "a, b, c": the element list of an nft `{ ... }`.
inline std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

// Runs the batch `plan()` returns ("" = nothing to do), planning afresh and retrying when a
// concurrent transaction of another process made it fail. The last failure is rethrown with
// `operation` as its prefix.
template <class Plan>
void run_with_retries(Plan plan, const std::string& operation) {
  for (int attempt = 1;; ++attempt) {
    try {
      const std::string script = plan();
      if (script.empty()) return;
      run_batch(script);
      return;
    } catch (Error& e) {
      if (attempt == kBatchAttempts) {
        e.prefix(operation);
        throw;
      }
      spdlog::debug("{}: {}, retrying", operation, e.msg());
    }
  }
}

}  // namespace netcore::fw::detail
