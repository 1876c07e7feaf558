#include <cstdio>

#include "commands.hpp"

namespace nsnet {

int net_command(int, char**) {
  std::fprintf(stderr, "nsnet net: not built yet\n");
  return 2;
}

}  // namespace nsnet
