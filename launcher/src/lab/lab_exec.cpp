// nsnet lab exec: a command inside a node (its network and UTS namespaces) or a pod.

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <algorithm>

#include <netcore/base/file.hpp>
#include <netcore/base/unique_fd.hpp>

#include "lab/lab_verbs.hpp"
#include "lab/topology.hpp"

namespace nsnet::lab {

namespace {

constexpr const char* kExecUsage =
    "Usage: nsnet lab exec LAB NODE[/POD] [--] [COMMAND [ARGS...]]\n\n"
    "Runs COMMAND (default: $SHELL) in the network namespace of NODE, or of its pod POD, with\n"
    "the node's host name. Exit status: COMMAND's; 1 if nsnet failed.\n";

bool join(const std::filesystem::path& file, int type) {
  const netcore::UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  return fd && ::setns(fd.get(), type) == 0;
}

}  // namespace

int exec_verb(int argc, char** argv) {
  if (argc >= 2 && (std::strcmp(argv[1], "-h") == 0 || std::strcmp(argv[1], "--help") == 0)) {
    std::fputs(kExecUsage, stdout);
    return 0;
  }
  if (argc < 3) {
    std::fputs(kExecUsage, stderr);
    return 2;
  }
  const std::string name = argv[1];
  const std::string where = argv[2];
  int first = 3;
  if (first < argc && std::strcmp(argv[first], "--") == 0) ++first;
  std::vector<std::string> command(argv + first, argv + argc);
  if (command.empty()) {
    const char* shell = std::getenv("SHELL");
    command.emplace_back(shell != nullptr && *shell != '\0' ? shell : "/bin/sh");
  }
  try {
    const auto lab = open_lab("exec", name);
    if (!lab) return 1;
    const auto slash = where.find('/');
    const std::string node = where.substr(0, slash);
    const std::string pod = slash == std::string::npos ? "" : where.substr(slash + 1);
    const auto topology = parse_topology(netcore::read_file(lab->dir.topology_file()));
    const Node* n = topology.find_node(node);
    if (n == nullptr || (!pod.empty() && std::none_of(n->pods.begin(), n->pods.end(),
                                                      [&](const Pod& p) { return p.name == pod; }))) {
      std::fprintf(stderr, "nsnet lab exec: lab %s has no %s %s\n", name.c_str(),
                   pod.empty() ? "node" : "pod", where.c_str());
      return 1;
    }
    const auto ns = lab->dir.ns_dir();
    const auto net = pod.empty() ? ns / node_ns_name(node) : ns / pod_ns_name(node, pod);
    if (!join(net, CLONE_NEWNET) || !join(ns / node_uts_name(node), CLONE_NEWUTS)) {
      std::fprintf(stderr, "nsnet lab exec: entering %s: %s\n", where.c_str(), std::strerror(errno));
      return 1;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "nsnet lab exec: %s: %s\n", name.c_str(), e.what());
    return 1;
  }
  std::vector<char*> args;
  for (auto& arg : command) args.push_back(arg.data());
  args.push_back(nullptr);
  ::execvp(args[0], args.data());
  std::fprintf(stderr, "nsnet lab exec: cannot run %s: %s\n", args[0], std::strerror(errno));
  return errno == ENOENT ? 127 : 126;
}

}  // namespace nsnet::lab
