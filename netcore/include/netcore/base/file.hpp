#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace netcore {

// Replaces `path` with `data` atomically: a temporary file in the same directory is written,
// fsync()ed and renamed over `path`, then the directory is fsync()ed. A crash leaves either the
// old content or the new one, never a mix (at worst a stray "<name>.tmp.XXXXXX" a reader ignores).
// Throws SysError (kInternal) naming the path.
void write_file_atomic(const std::filesystem::path& path, std::string_view data,
                       mode_t mode = 0644);

// Reads a whole file. Throws SysError naming the path.
[[nodiscard]] std::string read_file(const std::filesystem::path& path);

// Like read_file, but a missing file is std::nullopt.
[[nodiscard]] std::optional<std::string> find_file_content(const std::filesystem::path& path);

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
