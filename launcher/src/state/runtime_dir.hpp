#pragma once

#include <filesystem>
#include <string_view>

namespace nsnet {

// Where nsnet keeps the state of one kind (containers: "nsnet", labs: "nsnet-lab"): /run/NAME as
// root; else $XDG_RUNTIME_DIR/NAME, or /run/user/UID/NAME when that is unset or empty. Per user,
// so a rootless user's state never mixes with root's or another user's.
[[nodiscard]] std::filesystem::path runtime_dir(std::string_view name);

}  // namespace nsnet
