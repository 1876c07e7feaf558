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

}  // namespace netcore
