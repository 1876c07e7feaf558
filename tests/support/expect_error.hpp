#pragma once

#include <gtest/gtest.h>

#include "netcore/base/error.hpp"

namespace nsnet::testing {

// Runs fn, which must throw netcore::Error, and returns that error (the test fails otherwise).
template <class Fn>
netcore::Error error_of(Fn&& fn) {
  try {
    fn();
  } catch (const netcore::Error& e) {
    return e;
  }
  ADD_FAILURE() << "no Error thrown";
  return netcore::Error(netcore::ErrorCode::kInternal, "none");
}

}  // namespace nsnet::testing
