#pragma once

#include <filesystem>

#include "netcore/base/unique_fd.hpp"

namespace netcore::ipam {

// An exclusive flock(2) on a file, held for the object's lifetime: the reference host-local's
// `<dataDir>/<network>/lock`, so nsnet and the reference exclude each other. Move-only.
class FileLock final {
 public:
  // Creates the file if needed and blocks until the lock is ours. Throws SysError.
  [[nodiscard]] static FileLock acquire(const std::filesystem::path& path);

 private:
  explicit FileLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;  // closing it releases the lock
};

}  // namespace netcore::ipam
