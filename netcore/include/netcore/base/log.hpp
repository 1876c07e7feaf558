#pragma once

// Logging for all of nsnet: a small front over spdlog, which only log.cpp includes.
//
// Why a front: spdlog is header-only here (Debian ships no static archive, and the plugins link
// fully static), and including <spdlog/spdlog.h> costs about 11 s of compile time in every file,
// most of the build. This header needs only <fmt/core.h>; the format string is still checked at
// compile time, and the arguments are formatted only when the level is enabled.
//
// Thread-safe once setup_logging has run; never throws and never writes to stdout (a plugin's
// stdout is its CNI result).

#include <string>

#include <fmt/core.h>

namespace netcore {

// Installs the process's default logger. Call once at the start of main, before any thread that
// may log (Netns::run threads included). Logs go to stderr, plus the file named by NSNET_LOG_FILE;
// NSNET_LOG_LEVEL (trace|debug|info|warn|error|critical|off) overrides `default_level`. Never
// writes to stdout: a plugin's stdout is its CNI result. Never throws: an unusable log file is
// reported on stderr and skipped.
void setup_logging(const std::string& name, const std::string& default_level) noexcept;

namespace log {

enum class Level { kTrace, kDebug, kInfo, kWarn, kError };

// Whether a message of `level` would be written by the default logger.
[[nodiscard]] bool enabled(Level level) noexcept;
// Formats and writes one message; a formatting or sink failure is swallowed.
void write(Level level, fmt::string_view format, fmt::format_args args) noexcept;
// Flushes buffered sinks (the NSNET_LOG_FILE one).
void flush() noexcept;

template <class... Args>
void trace(fmt::format_string<Args...> format, Args&&... args) noexcept {
  if (enabled(Level::kTrace)) write(Level::kTrace, format, fmt::make_format_args(args...));
}
template <class... Args>
void debug(fmt::format_string<Args...> format, Args&&... args) noexcept {
  if (enabled(Level::kDebug)) write(Level::kDebug, format, fmt::make_format_args(args...));
}
template <class... Args>
void info(fmt::format_string<Args...> format, Args&&... args) noexcept {
  if (enabled(Level::kInfo)) write(Level::kInfo, format, fmt::make_format_args(args...));
}
template <class... Args>
void warn(fmt::format_string<Args...> format, Args&&... args) noexcept {
  if (enabled(Level::kWarn)) write(Level::kWarn, format, fmt::make_format_args(args...));
}
template <class... Args>
void error(fmt::format_string<Args...> format, Args&&... args) noexcept {
  if (enabled(Level::kError)) write(Level::kError, format, fmt::make_format_args(args...));
}

}  // namespace log
}  // namespace netcore
