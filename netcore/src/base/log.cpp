#include "netcore/base/log.hpp"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <memory>
#include <vector>

namespace netcore {
namespace {

spdlog::level::level_enum to_spdlog(log::Level level) noexcept {
  switch (level) {
    case log::Level::kTrace: return spdlog::level::trace;
    case log::Level::kDebug: return spdlog::level::debug;
    case log::Level::kInfo: return spdlog::level::info;
    case log::Level::kWarn: return spdlog::level::warn;
    case log::Level::kError: return spdlog::level::err;
  }
  return spdlog::level::err;
}

}  // namespace

void log::flush() noexcept {
  try {
    spdlog::default_logger_raw()->flush();
  } catch (...) {
    // A log that cannot be flushed must not turn a finished operation into a failure.
  }
}

bool log::enabled(Level level) noexcept {
  return spdlog::default_logger_raw()->should_log(to_spdlog(level));
}

void log::write(Level level, fmt::string_view format, fmt::format_args args) noexcept {
  try {
    spdlog::default_logger_raw()->log(to_spdlog(level), fmt::vformat(format, args));
  } catch (...) {
    // Logging never fails the operation it describes.
  }
}

void setup_logging(const std::string& name, const std::string& default_level) noexcept {
  try {
    std::vector<spdlog::sink_ptr> sinks{std::make_shared<spdlog::sinks::stderr_sink_mt>()};
    std::string file_error;
    if (const char* file = std::getenv("NSNET_LOG_FILE"); file != nullptr && *file != '\0') {
      try {
        sinks.push_back(std::make_shared<spdlog::sinks::basic_file_sink_mt>(file));
      } catch (const spdlog::spdlog_ex& e) {
        file_error = e.what();
      }
    }
    auto logger = std::make_shared<spdlog::logger>(name, sinks.begin(), sinks.end());
    const char* level = std::getenv("NSNET_LOG_LEVEL");
    logger->set_level(spdlog::level::from_str(level != nullptr && *level != '\0' ? level
                                                                                 : default_level));
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %n[%P] %l: %v");
    spdlog::set_default_logger(std::move(logger));
    if (!file_error.empty()) log::warn("log file: {}, ignoring", file_error);
  } catch (...) {
    // Logging is best effort; a plugin must still answer.
  }
}

}  // namespace netcore
