// nsnet lab graph: a lab (or a topology file) drawn as a Graphviz graph.

#include <cstdio>
#include <cstring>
#include <string>

#include <netcore/base/file.hpp>
#include <netcore/proc/daemon.hpp>
#include <netcore/proc/process.hpp>

#include "lab/graph.hpp"
#include "lab/lab_verbs.hpp"

namespace nsnet::lab {

namespace {

constexpr const char* kGraphUsage =
    "Usage: nsnet lab graph [--svg] [-o FILE] LAB|TOPOLOGY.json\n\n"
    "Prints the lab LAB (with its pods' addresses) or the topology in a file (a path with a\n"
    "'/' or ending in .json) as a Graphviz graph: nodes with their pods, links and switches\n"
    "with interfaces and addresses, the cluster network.\n\n"
    "Options:\n"
    "  --svg        render it as SVG (needs Graphviz's dot)\n"
    "  -o FILE      write to FILE instead of stdout\n"
    "  -h, --help   this text\n";

bool names_a_file(const std::string& spec) {
  return spec.find('/') != std::string::npos || spec.ends_with(".json");
}

}  // namespace

int graph_verb(int argc, char** argv) {
  bool svg = false;
  std::string output;
  std::string spec;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(kGraphUsage, stdout);
      return 0;
    }
    if (arg == "--svg") {
      svg = true;
    } else if (arg == "-o" || arg == "--output") {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "nsnet lab graph: %s needs a file name\n", arg.c_str());
        return 2;
      }
      output = argv[++i];
    } else if (arg.starts_with("-")) {
      std::fprintf(stderr, "nsnet lab graph: unknown option %s\n", arg.c_str());
      return 2;
    } else if (spec.empty()) {
      spec = arg;
    } else {
      std::fputs(kGraphUsage, stderr);
      return 2;
    }
  }
  if (spec.empty()) {
    std::fputs(kGraphUsage, stderr);
    return 2;
  }
  try {
    std::string text;
    if (names_a_file(spec)) {
      text = to_dot(parse_topology(netcore::read_file(spec)));
    } else {
      const auto record = LabDir::peek(spec);
      const auto topology = netcore::find_file_content(LabDir::path_of(spec) / "topology.json");
      if (!record || !topology) {
        std::fprintf(stderr, "nsnet lab graph: no lab named %s\n", spec.c_str());
        return 1;
      }
      PodAddresses pods;
      for (const auto& pod : record->pods) {
        auto& addresses = pods[pod.node + "/" + pod.pod];
        for (const auto& attachment : pod.attachments)
          for (const auto& address : attachment.addresses)
            addresses.push_back(attachment.ifname + " " + address);
      }
      text = to_dot(parse_topology(*topology), pods);
    }
    if (svg) {
      const auto dot = netcore::proc::find_program("dot");
      if (!dot) {
        std::fprintf(stderr, "nsnet lab graph: --svg needs Graphviz's dot (package graphviz)\n");
        return 1;
      }
      const auto rendered = netcore::proc::run({.program = *dot,
                                                .args = {"-Tsvg"},
                                                .env = netcore::proc::current_environment(),
                                                .input = text});
      if (!rendered.succeeded()) {
        std::fprintf(stderr, "nsnet lab graph: dot: %s: %s\n", rendered.describe().c_str(),
                     rendered.err.c_str());
        return 1;
      }
      text = rendered.out;
    }
    if (output.empty()) {
      std::fwrite(text.data(), 1, text.size(), stdout);
    } else {
      netcore::write_file_atomic(output, text);
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "nsnet lab graph: %s: %s\n", spec.c_str(), e.what());
    return 1;
  }
}

}  // namespace nsnet::lab
