#pragma once

#include <string>
#include <vector>

namespace nsnet::bench {

// Runs `program` with exactly `env` and `input` on its stdin, stdout and stderr to /dev/null, as
// a runtime execs a plugin; returns its exit status (128+signal if killed, -1 if not started).
// `max_rss_kib`, when given, receives the peak resident set size of the child and of the
// children it waited for (a reference plugin's IPAM). `output`, when given, receives the child's
// stdout instead (the CNI result or error). Safe to call from several threads at once: every
// pipe is close-on-exec, so no child holds another call's pipe open.
int spawn_and_wait(const std::string& program, const std::vector<std::string>& env,
                   const std::string& input, long* max_rss_kib = nullptr,
                   std::string* output = nullptr);

}  // namespace nsnet::bench
