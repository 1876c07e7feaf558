#pragma once

#include <string>
#include <vector>

namespace nsnet::bench {

// Runs `program` with exactly `env` and `input` on its stdin, stdout and stderr to /dev/null, as
// a runtime execs a plugin; returns its exit status (128+signal if killed, -1 if not started).
// `max_rss_kib`, when given, receives the child's peak resident set size.
int spawn_and_wait(const std::string& program, const std::vector<std::string>& env,
                   const std::string& input, long* max_rss_kib = nullptr);

}  // namespace nsnet::bench
