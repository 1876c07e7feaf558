#pragma once

// Undoing a container: CNI DEL of its networks in reverse order (with the namespace already gone:
// deleting it took the container's links with it, so the plugins only release addresses, rules
// and host-side state), the namespace files it persisted, and its state directory. Shared by
// `nsnet run` on its way out and by `nsnet gc`/`nsnet stop` for a supervisor that was killed.

#include <string>
#include <vector>

#include "state/container_state.hpp"

namespace nsnet {

// DELs every attachment (going on past failures), unmounts the persisted files and removes the
// directory. Returns the failures as one-line messages (already complete otherwise).
std::vector<std::string> tear_down(const ContainerState& state, const StateDir& dir);

// Unmounts a persisted namespace file. Missing is fine.
void unpersist_namespace(const std::string& path) noexcept;

// Tears down container `id` if its supervisor is gone (errors to stderr as
// "nsnet: CONTEXT ID: ..."); false when it runs, or when another process holds it.
bool collect_abandoned_container(const std::string& id, const std::string& context);

// Tears down every container whose supervisor is gone; returns their ids. Errors are written
// to stderr as "nsnet: gc ID: ...". Used by `nsnet gc` and at the start of `nsnet run`.
std::vector<std::string> collect_abandoned_containers();

}  // namespace nsnet
