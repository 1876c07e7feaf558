#include <cstdio>

#include "commands.hpp"

namespace nsnet {

int stop_command(int, char**) {
  std::fprintf(stderr, "nsnet stop: not built yet\n");
  return 2;
}

}  // namespace nsnet
