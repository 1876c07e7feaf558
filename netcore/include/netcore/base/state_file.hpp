#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace netcore {

// Reads one of our own state files (an IPAM reservation, a tuning backup, a daemon's state):
// like find_file_content (a missing file is std::nullopt), but a symbolic link planted in its
// place is never followed, and nothing but a regular file is read (a FIFO would block).
// Throws Error(kIoFailure) naming the path for a link or a non-regular file, SysError for other
// failures.
[[nodiscard]] std::optional<std::string> find_state_file_content(const std::filesystem::path& path);

// Throws Error(kIoFailure) unless `dir` is a directory itself, not a symbolic link to one (or
// anything else); `what` names it in the message. A missing `dir` is fine.
void refuse_linked_directory(const std::filesystem::path& dir, const std::string& what);

}  // namespace netcore
