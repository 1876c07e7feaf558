#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "netcore/net/netns.hpp"

namespace nsnet::testing {

// The reference plugins' originalNS/targetNS pair: every test gets a fresh "host" and
// "container" network namespace, both freed (with every link in them) when the test ends.
// The whole test binary already runs in private mount + network namespaces (sandbox_main.cpp),
// so nothing a test does reaches the machine's own network.
class SandboxTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // A name unique to this test, at most 15 bytes: `prefix` plus a hash of the test's name.
  [[nodiscard]] std::string unique_name(const std::string& prefix) const;
  // A fresh directory under the sandbox's private /tmp, removed after the test.
  [[nodiscard]] const std::filesystem::path& temp_dir();

  std::optional<netcore::net::Netns> host_;
  std::optional<netcore::net::Netns> container_;

 private:
  std::filesystem::path temp_dir_;
};

// Runs a shell command (e.g. `ip -j ...`) inside `netns` and returns its stdout; fails the test
// on a non-zero exit. Used to check netcore's view of the kernel through an independent tool.
[[nodiscard]] std::string run_in_netns(const netcore::net::Netns& netns, const std::string& command);

}  // namespace nsnet::testing
