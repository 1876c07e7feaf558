// nsnet lab: multi-node network topologies in namespaces. Dispatches on the lab verb.

#include <cstdio>
#include <cstring>
#include <string_view>

#include "commands.hpp"
#include "lab/lab_verbs.hpp"

namespace nsnet {

namespace {

struct LabVerb {
  std::string_view name;
  int (*main)(int, char**);
  std::string_view summary;
};

constexpr LabVerb kLabVerbs[] = {
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
  for (const auto& verb : kLabVerbs)
    std::fprintf(out, "  %-6.*s %.*s\n", static_cast<int>(verb.name.size()), verb.name.data(),
                 static_cast<int>(verb.summary.size()), verb.summary.data());
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
  for (const auto& entry : kLabVerbs)
    if (entry.name == verb) return entry.main(argc - 1, argv + 1);
  std::fprintf(stderr, "nsnet lab: unknown verb '%s' (see 'nsnet lab --help')\n", argv[1]);
  return 2;
}

}  // namespace nsnet
