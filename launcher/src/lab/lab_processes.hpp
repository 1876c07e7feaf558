#pragma once

// The processes of a lab: commands started in its nodes, and whatever else runs inside its
// namespaces (`nsnet lab exec` sessions, a plugin an interrupted `up` left running), which
// `down` ends before the namespaces go.

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "lab/lab_dir.hpp"

namespace nsnet::lab {

// Starts `argv` in the node's network and UTS namespaces, in a session of its own, with stdin
// from /dev/null and stdout/stderr appended to `log`. Returns once the program runs. Throws
// netcore::Error "node N: cannot run PROGRAM: REASON" when it cannot be started.
[[nodiscard]] LabProcess start_node_process(const LabDir& dir, const std::string& node,
                                            const std::vector<std::string>& argv,
                                            const std::filesystem::path& log);

// Ends the processes `record` lists (when they still are what was started) and every process
// whose network namespace is one of the lab's: SIGTERM, then SIGKILL to those still there after
// `grace`. Returns how many it ended.
std::size_t end_lab_processes(const LabDir& dir, const std::vector<LabProcess>& recorded,
                              std::chrono::milliseconds grace);

}  // namespace nsnet::lab
