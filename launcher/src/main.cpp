// nsnet: namespaced processes with networking, and a CNI runtime. Dispatches on the verb.

#include <cstdio>
#include <cstring>
#include <string_view>

#include <netcore/base/log.hpp>

#include "commands.hpp"
#include "verb_table.hpp"

namespace {

using nsnet::Verb;

constexpr Verb kVerbs[] = {
    {"run", nsnet::run_command, "run a command in new namespaces, with networking"},
    {"ps", nsnet::ps_command, "list the running (and detached) containers"},
    {"exec", nsnet::exec_command, "run a command inside a running container's namespaces"},
    {"stop", nsnet::stop_command, "stop a running container and tear down its networks"},
    {"gc", nsnet::gc_command, "clean up after containers whose nsnet was killed"},
    {"net", nsnet::net_command, "a CNI runtime: add, check, del, gc, status (like cnitool)"},
    {"lab", nsnet::lab_command, "multi-node network topologies in namespaces (a test harness)"},
};

void usage(std::FILE* out) {
  std::fprintf(out, "Usage: nsnet COMMAND [OPTIONS]\n\nCommands:\n");
  nsnet::print_verbs(out, kVerbs);
  std::fprintf(out, "\nRun 'nsnet COMMAND --help' for a command's options.\n");
}

}  // namespace

int main(int argc, char** argv) {
  // Before anything may log: spdlog's own default logger would write to stdout, which carries
  // `nsnet net add`'s result and the command's output.
  netcore::setup_logging("nsnet", "warn");
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  const std::string_view verb = argv[1];
  if (verb == "-h" || verb == "--help" || verb == "help") {
    usage(stdout);
    return 0;
  }
  if (verb == "-V" || verb == "--version") {
    std::printf("nsnet %s\n", NSNET_VERSION_STRING);
    return 0;
  }
  if (const Verb* entry = nsnet::find_verb(kVerbs, verb)) return entry->main(argc - 1, argv + 1);
  std::fprintf(stderr, "nsnet: unknown command '%s' (see 'nsnet --help')\n", argv[1]);
  return 2;
}
