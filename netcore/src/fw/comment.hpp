#pragma once

// nft comments that carry user input (network names, container IDs). Private to netcore_fw.

#include <cstddef>
#include <string>

#include "netcore/fw/attachment.hpp"

namespace netcore::fw::detail {

inline constexpr std::size_t kMaxComment = 128;  // nft: "comment too long, 128 characters maximum"

// `text` if nft can quote it as a comment (printable, no '"' or '\\', at most 128 bytes); else
// its quotable characters cut to fit plus "~" and the 16-digit hash of the whole text.
[[nodiscard]] std::string safe_comment(const std::string& text);

}  // namespace netcore::fw::detail
