#pragma once

// Rootless labs. Without root, a lab's namespaces belong to a user namespace in which the caller
// is root (uid and gid mapped to 0), and their bind mounts live in a mount namespace owned by it.
// A keeper process holds both for the lab's life; every `nsnet lab` verb first joins them
// (enter_keeper), then works as root does. Killing the keeper frees the lab's namespaces.

#include <netcore/proc/daemon.hpp>

namespace nsnet::lab {

// Forks the keeper: a new user namespace (the caller's uid and gid as 0, setgroups denied) and
// a mount namespace, in a session of its own, holding no descriptor of ours, sleeping until
// killed. Returns once its namespaces exist. Throws netcore::Error.
[[nodiscard]] netcore::proc::ProcessId start_keeper();

// Joins the keeper's user and mount namespaces. The process must be single-threaded (a kernel
// rule for joining a user namespace): call it before anything starts a thread. Throws
// netcore::Error when the keeper is gone or cannot be joined.
void enter_keeper(const netcore::proc::ProcessId& keeper);

}  // namespace nsnet::lab
