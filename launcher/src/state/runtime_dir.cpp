#include "state/runtime_dir.hpp"

#include <unistd.h>

#include <cstdlib>
#include <string>

namespace nsnet {

std::filesystem::path runtime_dir(std::string_view name) {
  if (::geteuid() == 0) return std::filesystem::path("/run") / name;
  if (const char* xdg = std::getenv("XDG_RUNTIME_DIR"); xdg != nullptr && *xdg != '\0')
    return std::filesystem::path(xdg) / name;
  return std::filesystem::path("/run/user") / std::to_string(::geteuid()) / name;
}

}  // namespace nsnet
