#pragma once

// A text snapshot of everything a plugin or runtime may leave behind in a test's sandbox: the
// kernel state of some network namespaces (through ip/tc/nft, independent of netcore) and the
// file trees of state directories. Tests compare snapshots taken before and after an operation
// that must leave nothing behind (tests/badinput, tests/robustness).

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "netcore/net/netns.hpp"

namespace nsnet::testing {

// Links, addresses, routes (all tables), IPv4 neighbours, qdiscs and the nft ruleset.
inline constexpr const char* kNetnsStateCommands =
    "ip -j link show; ip -j addr show; ip -j -4 route show table all; "
    "ip -j -6 route show table all; ip -j -4 neigh show; tc -j qdisc show; nft list ruleset";

struct SnapshotSpec {
  // Namespaces whose state is recorded, each with `netns_commands` run inside it.
  std::vector<const netcore::net::Netns*> netns;
  std::string netns_commands = kNetnsStateCommands;
  // Directory trees recorded file by file (path, type, size and the content of small files),
  // sorted by path, so that the order in which entries were created does not matter.
  std::vector<std::filesystem::path> trees;
  // Entries of `trees` to leave out (e.g. hints rewritten by every call); nothing when unset.
  std::function<bool(const std::filesystem::path&)> skip_file;
};

// The snapshot as text; fails the test if a command fails.
[[nodiscard]] std::string sandbox_snapshot(const SnapshotSpec& spec);

}  // namespace nsnet::testing
