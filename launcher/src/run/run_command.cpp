#include <cstdio>

#include "commands.hpp"

namespace nsnet {

int run_command(int, char**) {
  std::fprintf(stderr, "nsnet run: not built yet\n");
  return 2;
}

}  // namespace nsnet
