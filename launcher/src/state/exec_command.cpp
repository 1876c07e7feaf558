#include <cstdio>

#include "commands.hpp"

namespace nsnet {

int exec_command(int, char**) {
  std::fprintf(stderr, "nsnet exec: not built yet\n");
  return 2;
}

}  // namespace nsnet
