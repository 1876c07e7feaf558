#pragma once

// The uid_map/gid_map of a new user namespace, planned from unshare's --map-* options and
// written for the child: directly when that is allowed (root, or a single mapping of the caller's
// own id), through the setuid helpers newuidmap/newgidmap when /etc/subuid ranges are involved.

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

#include "run/run_options.hpp"

namespace nsnet {

struct IdMapPlan {
  std::vector<IdRange> uids;
  std::vector<IdRange> gids;
  bool deny_setgroups = false;
  [[nodiscard]] bool empty() const { return uids.empty() && gids.empty(); }
};

// Where the subordinate id ranges are (tests point these elsewhere).
struct SubidFiles {
  std::filesystem::path subuid = "/etc/subuid";
  std::filesystem::path subgid = "/etc/subgid";
};

// The first range /etc/subuid (or subgid) gives `user` (by name or by numeric id), as {inner 0,
// outer start, count}. Throws std::invalid_argument naming the file when there is none.
[[nodiscard]] IdRange first_subid_range(const std::filesystem::path& file, const std::string& user,
                                        std::uint32_t id);

// The ranges for the request, with unshare's "hole": a single mapping inside a range is cut out
// of it (the range's ids after the hole shift up by one). Throws std::invalid_argument.
[[nodiscard]] IdMapPlan plan_id_maps(const IdMapRequest& request,
                                     std::optional<bool> setgroups_allow, uid_t euid, gid_t egid,
                                     const SubidFiles& files = {});

// Writes the plan for process `pid` (setgroups first, then uid_map, gid_map). Throws
// std::runtime_error with the failing step.
void write_id_maps(pid_t pid, const IdMapPlan& plan);

}  // namespace nsnet
