// nsnet lab up: builds a lab from its topology file and prints what it made.

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <iostream>
#include <iterator>
#include <thread>

#include <netcore/base/error.hpp>
#include <netcore/base/file.hpp>

#include "cni_setup.hpp"
#include "lab/lab_addresses.hpp"
#include "lab/lab_builder.hpp"
#include "lab/lab_keeper.hpp"
#include "lab/lab_verbs.hpp"

namespace nsnet::lab {

namespace {

constexpr const char* kUpUsage =
    "Usage: nsnet lab up [OPTIONS] FILE\n\n"
    "Builds the lab FILE describes (JSON; see conf/lab/topology.schema.json) and prints its\n"
    "nodes, pods and addresses. Running it again with the same file changes nothing; with a\n"
    "changed file the lab is rebuilt. Named networks come from $NETCONFPATH (default\n"
    "/etc/cni/net.d), plugins from $CNI_PATH and nsnet's own. Without root, the lab lives in a\n"
    "user namespace of its own.\n\n"
    "Options:\n"
    "  -j, --parallel N  attach the pods of N nodes at a time (default: 2 per CPU)\n"
    "  -q, --quiet       print nothing but errors\n"
    "  -h, --help        this text\n";

struct UpOptions {
  std::string file;
  unsigned parallelism = 2 * std::max(1u, std::thread::hardware_concurrency());
  bool quiet = false;
};

// 0 on success, else the exit status for a usage error.
int parse_options(int argc, char** argv, UpOptions& options) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUpUsage, stdout);
      return -1;
    }
    if (arg == "-q" || arg == "--quiet") {
      options.quiet = true;
    } else if (arg == "-j" || arg == "--parallel") {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "nsnet lab up: %s needs a number\n", arg.c_str());
        return 2;
      }
      char* end = nullptr;
      const long n = std::strtol(argv[++i], &end, 10);
      if (*end != '\0' || n < 1 || n > 256) {
        std::fprintf(stderr, "nsnet lab up: %s must be 1..256, not \"%s\"\n", arg.c_str(), argv[i]);
        return 2;
      }
      options.parallelism = static_cast<unsigned>(n);
    } else if (!arg.empty() && arg[0] == '-' && arg != "-") {
      std::fprintf(stderr, "nsnet lab up: unknown option %s\n", arg.c_str());
      return 2;
    } else if (options.file.empty()) {
      options.file = arg;
    } else {
      std::fprintf(stderr, "nsnet lab up: one topology file only\n");
      return 2;
    }
  }
  if (options.file.empty()) {
    std::fputs(kUpUsage, stderr);
    return 2;
  }
  return 0;
}

std::string join_addresses(const std::vector<std::string>& addresses) {
  std::string out;
  for (const auto& a : addresses) out += (out.empty() ? "" : " ") + a;
  return out.empty() ? "-" : out;
}

void print_summary(const Topology& t, const LabRecord& record) {
  std::size_t pods = 0;
  for (const auto& n : t.nodes) pods += n.pods.size();
  std::printf("lab %s is up (%.2f s): %zu nodes, %zu links, %zu switches, %zu pods, %zu commands%s\n",
              t.name.c_str(), record.build_seconds, t.nodes.size(), t.links.size(),
              t.switches.size(), pods, record.processes.size(), record.rootless ? ", rootless" : "");
  std::printf("%-15s %-15s %-15s %s\n", "NODE", "POD", "INTERFACE", "ADDRESSES");
  for (const auto& n : t.nodes) {
    for (const auto& iface : node_interfaces(t, n.name)) {
      std::vector<std::string> addresses;
      for (const auto& a : iface.addresses) addresses.push_back(a.to_string());
      std::printf("%-15s %-15s %-15s %s\n", n.name.c_str(), "-", iface.ifname.c_str(),
                  join_addresses(addresses).c_str());
    }
    for (const auto& pod : n.pods) {
      const PodRecord* r = record.find_pod(n.name, pod.name);
      if (r == nullptr) continue;
      for (const auto& a : r->attachments)
        std::printf("%-15s %-15s %-15s %s\n", n.name.c_str(), pod.name.c_str(), a.ifname.c_str(),
                    join_addresses(a.addresses).c_str());
    }
  }
}

}  // namespace

int up_verb(int argc, char** argv) {
  UpOptions options;
  if (const int status = parse_options(argc, argv, options); status != 0)
    return status < 0 ? 0 : status;
  const auto started = std::chrono::steady_clock::now();

  // Everything that can be wrong with the file is found before anything exists.
  Topology topology;
  std::string text;
  NodeNetworks networks;
  try {
    text = options.file == "-" ? std::string(std::istreambuf_iterator<char>(std::cin), {})
                               : netcore::read_file(options.file);
    topology = parse_topology(text);
    networks = resolve_networks(topology, LabDir::path_of(topology.name), cni_conf_dir());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "nsnet lab up: %s: %s\n", options.file.c_str(), e.what());
    return 1;
  }

  std::optional<LabDir> dir;
  std::optional<LabRecord> record;
  try {
    dir = LabDir::open(topology.name, true);
    if (auto existing = dir->load()) {
      const auto built_from = netcore::find_file_content(dir->topology_file());
      if (existing->status == LabStatus::kUp && built_from == text) {
        if (!options.quiet) {
          std::printf("lab %s was already up, from the same file\n", topology.name.c_str());
          print_summary(topology, *existing);
        }
        return 0;
      }
    }
    if (dir->load() || std::filesystem::exists(dir->ns_dir())) {
      if (!options.quiet) std::printf("rebuilding lab %s\n", topology.name.c_str());
      const auto old = dir->load();
      if (old && old->keeper && netcore::proc::process_alive(old->keeper->id)) {
        // Removing a rootless lab means joining its keeper, which a process can do only once:
        // leave that to a `down` of its own.
        std::fprintf(stderr, "nsnet lab up: lab %s exists; remove it first with 'nsnet lab down %s'\n",
                     topology.name.c_str(), topology.name.c_str());
        return 1;
      }
      tear_down(*dir, old);
      dir.reset();
      dir = LabDir::open(topology.name, true);
    }

    record = LabRecord{.name = topology.name, .rootless = ::geteuid() != 0,
                       .created = static_cast<std::int64_t>(std::time(nullptr))};
    if (record->rootless) {
      record->keeper = LabProcess{"", {"keeper"}, start_keeper()};
      dir->save(*record);
      enter_keeper(record->keeper->id);
    }
    netcore::write_file_atomic(dir->topology_file(), text, 0600);
    dir->save(*record);
    build_lab(topology, networks, *dir, *record, cni_plugin_runner(cni_plugin_path({})),
              options.parallelism);
    record->status = LabStatus::kUp;
    record->build_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    dir->save(*record);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "nsnet lab up: %s: %s\n", topology.name.c_str(), e.what());
    if (dir) {
      try {
        tear_down(*dir, record);
      } catch (const std::exception& cleanup) {
        std::fprintf(stderr, "nsnet lab up: %s: removing the half-built lab: %s\n",
                     topology.name.c_str(), cleanup.what());
      }
    }
    return 1;
  }
  if (!options.quiet) print_summary(topology, *record);
  return 0;
}

}  // namespace nsnet::lab
