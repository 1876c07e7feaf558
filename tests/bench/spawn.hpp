#pragma once

#include <string>
#include <vector>

namespace nsnet::bench {

// Runs `program` with exactly `env` and `input` on its stdin, stdout and stderr to /dev/null, as
// a runtime execs a plugin; returns its exit status (128+signal if killed, -1 if not started).
int spawn_and_wait(const std::string& program, const std::vector<std::string>& env,
                   const std::string& input);

}  // namespace nsnet::bench
