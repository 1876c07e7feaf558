#pragma once

#include <sys/types.h>

#include "run/container_process.hpp"

namespace nsnet {

// The child's side of ContainerProcess (runs right after fork, never returns). `channel` is its
// end of the socket pair; `supervisor` nsnet's pid.
[[noreturn]] void child_main(const ChildSpec& spec, int channel, pid_t supervisor) noexcept;

}  // namespace nsnet
