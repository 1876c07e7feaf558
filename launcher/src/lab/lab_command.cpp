// nsnet lab: multi-node network topologies in namespaces. Dispatches on the lab verb.

#include <cstdio>
#include <cstring>
#include <string_view>

#include "commands.hpp"
#include "lab/lab_verbs.hpp"
#include "verb_table.hpp"

namespace nsnet {

namespace {

constexpr Verb kLabVerbs[] = {
    {"up", lab::up_verb, "build the lab a topology file describes"},
    {"down", lab::down_verb, "remove a lab and everything in it"},
    {"ls", lab::ls_verb, "list the labs"},
    {"exec", lab::exec_verb, "run a command in a node or pod of a lab"},
    {"check", lab::check_verb, "run a lab's reachability checks"},
    {"graph", lab::graph_verb, "draw a lab (Graphviz dot or SVG)"},
};

void usage(std::FILE* out) {
  std::fprintf(out,
               "Usage: nsnet lab VERB [OPTIONS]\n\n"
               "Builds networks of nodes, links, switches and pods in namespaces, from a JSON\n"
               "topology file (see conf/lab/topology.schema.json and the examples beside it).\n\n"
               "Verbs:\n");
  print_verbs(out, kLabVerbs);
  std::fprintf(out, "\nRun 'nsnet lab VERB --help' for a verb's options.\n");
}

}  // namespace

int lab_command(int argc, char** argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  const std::string_view verb = argv[1];
  if (verb == "-h" || verb == "--help" || verb == "help") {
    usage(stdout);
    return 0;
  }
  if (const Verb* entry = find_verb(kLabVerbs, verb)) return entry->main(argc - 1, argv + 1);
  std::fprintf(stderr, "nsnet lab: unknown verb '%s' (see 'nsnet lab --help')\n", argv[1]);
  return 2;
}

}  // namespace nsnet
