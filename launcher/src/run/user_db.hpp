#pragma once

// Users and groups from /etc/passwd and /etc/group. nsnet is linked statically, and a static
// binary cannot safely load glibc's NSS modules (getpwuid() for a uid that is not in
// /etc/passwd crashes inside libnss_systemd), so the files are read directly — as newuidmap,
// which is what the names are looked up for, reads /etc/subuid.

#include <sys/types.h>

#include <optional>
#include <string>

namespace nsnet {

[[nodiscard]] std::optional<std::string> user_name(uid_t uid);
[[nodiscard]] std::optional<uid_t> user_id(const std::string& name);
[[nodiscard]] std::optional<gid_t> group_id(const std::string& name);

}  // namespace nsnet
