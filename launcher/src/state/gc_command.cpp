#include <cstdio>

#include "commands.hpp"

namespace nsnet {

int gc_command(int, char**) {
  std::fprintf(stderr, "nsnet gc: not built yet\n");
  return 2;
}

}  // namespace nsnet
