#include <cstdio>

#include "commands.hpp"

namespace nsnet {

int ps_command(int, char**) {
  std::fprintf(stderr, "nsnet ps: not built yet\n");
  return 2;
}

}  // namespace nsnet
