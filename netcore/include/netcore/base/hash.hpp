#pragma once

#include <string>
#include <string_view>

namespace netcore {

// 16 lowercase hex digits of the 64-bit FNV-1a hash of `text`: the same in every process and
// version, for names derived from user input (nft objects, index files).
[[nodiscard]] std::string stable_hash(std::string_view text);

}  // namespace netcore
