#pragma once

#include <string>

namespace netcore {

// Installs the process's default logger. Call once at the start of main, before any thread that
// may log (Netns::run threads included). Logs go to stderr, plus the file named by NSNET_LOG_FILE;
// NSNET_LOG_LEVEL (trace|debug|info|warn|error|critical|off) overrides `default_level`. Never
// writes to stdout: a plugin's stdout is its CNI result. Never throws: an unusable log file is
// reported on stderr and skipped.
void setup_logging(const std::string& name, const std::string& default_level) noexcept;

}  // namespace netcore
