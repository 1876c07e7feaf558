#pragma once

#include <string>

namespace nsnet::testing {

// Whether needle occurs in haystack: the script tests look for rules in generated nft text.
inline bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace nsnet::testing
