// nsnet lab check: runs a lab's reachability checks, all at once, and reports each against its
// expectation: a matrix of sources and targets, the failures, or the whole report as JSON.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include <netcore/base/file.hpp>
#include <netcore/net/netns.hpp>

#include "lab/lab_addresses.hpp"
#include "lab/lab_verbs.hpp"
#include "lab/probe.hpp"

namespace nsnet::lab {

namespace {

using netcore::net::IpAddress;
using netcore::net::Netns;

constexpr const char* kCheckUsage =
    "Usage: nsnet lab check [--json] [--timeout MS] LAB\n\n"
    "Runs the lab's checks (reach and mesh) concurrently: ICMP echo, TCP connect or a UDP echo\n"
    "(nsnet listens on the target for tcp and udp), from a node or pod to a node, pod or IP.\n"
    "A check passes when the outcome matches its expectation. Prints a matrix of sources and\n"
    "targets (up to 24 targets) and every failure. Exit status: 0 when all pass, 1 otherwise.\n\n"
    "Options:\n"
    "  --json        print the report as JSON instead\n"
    "  --timeout MS  how long a probe waits for an answer (default 2000)\n"
    "  -h, --help    this text\n";

constexpr std::size_t kMaxMatrixColumns = 24;

// The namespaces checks run from and listen in, opened once each.
class NamespaceCache {
 public:
  explicit NamespaceCache(std::filesystem::path dir) : dir_(std::move(dir)) {}
  const Netns* get(const std::string& name) {
    auto it = open_.find(name);
    if (it == open_.end()) it = open_.emplace(name, Netns::open(dir_ / name)).first;
    return &it->second;
  }

 private:
  std::filesystem::path dir_;
  std::map<std::string, Netns> open_;
};

std::string ns_name(const CheckPeer& peer) {
  return peer.pod.empty() ? node_ns_name(peer.node) : pod_ns_name(peer.node, peer.pod);
}

// Where a check goes: an address, and the lab namespace holding it (null: outside the lab).
struct Destination {
  IpAddress address;
  std::string ns;  // empty when outside the lab
};

Destination destination_of(const CheckPeer& to, const Topology& t, const LabRecord& record) {
  if (to.ip) {
    for (const auto& node : t.nodes) {
      for (const auto& iface : node_interfaces(t, node.name))
        for (const auto& prefix : iface.addresses)
          if (prefix.address() == *to.ip) return {*to.ip, node_ns_name(node.name)};
    }
    for (const auto& pod : record.pods)
      for (const auto& attachment : pod.attachments)
        for (const auto& address : attachment.addresses)
          if (netcore::net::Prefix::parse(address).address() == *to.ip)
            return {*to.ip, pod_ns_name(pod.node, pod.pod)};
    return {*to.ip, ""};
  }
  if (to.pod.empty()) {
    const auto address = node_address(t, to.node);
    if (!address)
      throw netcore::Error(netcore::ErrorCode::kInvalidNetworkConfig,
                           "node " + to.node + " has no address to check");
    return {*address, ns_name(to)};
  }
  const PodRecord* pod = record.find_pod(to.node, to.pod);
  if (pod == nullptr || pod->attachments.empty() || pod->attachments.front().addresses.empty())
    throw netcore::Error(netcore::ErrorCode::kInvalidNetworkConfig,
                         "pod " + to.node + "/" + to.pod + " has no address to check");
  return {netcore::net::Prefix::parse(pod->attachments.front().addresses.front()).address(),
          ns_name(to)};
}

std::string describe(const ReachCheck& check) {
  std::string proto(to_string(check.proto));
  if (check.port) proto += "/" + std::to_string(*check.port);
  return proto;
}

// Rows and columns in the file's order: nodes, each followed by its pods; IPs last.
std::vector<std::string> ordered_peers(const std::vector<CheckPeer>& peers, const Topology& t) {
  auto rank = [&](const CheckPeer& p) {
    if (p.ip) return std::make_tuple(t.nodes.size(), std::size_t{0}, p.ip->to_string());
    std::size_t node = 0;
    while (node < t.nodes.size() && t.nodes[node].name != p.node) ++node;
    std::size_t pod = 0;
    if (!p.pod.empty() && node < t.nodes.size())
      while (pod < t.nodes[node].pods.size() && t.nodes[node].pods[pod].name != p.pod) ++pod;
    return std::make_tuple(node, p.pod.empty() ? 0 : pod + 1, std::string());
  };
  std::vector<CheckPeer> sorted = peers;
  std::stable_sort(sorted.begin(), sorted.end(),
                   [&](const auto& a, const auto& b) { return rank(a) < rank(b); });
  std::vector<std::string> names;
  for (const auto& p : sorted)
    if (names.empty() || names.back() != p.to_string()) names.push_back(p.to_string());
  return names;
}

void print_matrix(const std::vector<ReachCheck>& checks, const std::vector<bool>& passed,
                  const Topology& t) {
  std::vector<CheckPeer> sources;
  std::vector<CheckPeer> targets;
  for (const auto& c : checks) {
    sources.push_back(c.from);
    targets.push_back(c.to);
  }
  const std::vector<std::string> rows = ordered_peers(sources, t);
  const std::vector<std::string> columns = ordered_peers(targets, t);
  if (columns.size() > kMaxMatrixColumns) return;
  std::size_t width = std::strlen("FROM \\ TO");
  for (const auto& r : rows) width = std::max(width, r.size());
  std::vector<std::size_t> column_width;
  std::printf("%-*s", static_cast<int>(width), "FROM \\ TO");
  for (const auto& c : columns) {
    column_width.push_back(std::max<std::size_t>(c.size(), 4));
    std::printf("  %-*s", static_cast<int>(column_width.back()), c.c_str());
  }
  std::printf("\n");
  for (const auto& r : rows) {
    std::printf("%-*s", static_cast<int>(width), r.c_str());
    for (std::size_t j = 0; j < columns.size(); ++j) {
      // "ok" when every check of the pair passed, "FAIL" when one did not, "." without checks.
      const char* cell = ".";
      for (std::size_t i = 0; i < checks.size(); ++i) {
        if (checks[i].from.to_string() != r || checks[i].to.to_string() != columns[j]) continue;
        if (!passed[i]) {
          cell = "FAIL";
          break;
        }
        cell = "ok";
      }
      std::printf("  %-*s", static_cast<int>(column_width[j]), cell);
    }
    std::printf("\n");
  }
}

}  // namespace

int check_verb(int argc, char** argv) {
  bool as_json = false;
  ProbeOptions options;
  std::string name;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(kCheckUsage, stdout);
      return 0;
    }
    if (arg == "--json") {
      as_json = true;
    } else if (arg == "--timeout") {
      char* end = nullptr;
      const long ms = i + 1 < argc ? std::strtol(argv[++i], &end, 10) : 0;
      if (end == nullptr || *end != '\0' || ms < 10 || ms > 600000) {
        std::fprintf(stderr, "nsnet lab check: --timeout needs milliseconds, 10..600000\n");
        return 2;
      }
      options.timeout = std::chrono::milliseconds(ms);
      options.resend = std::min(options.resend, options.timeout / 4);
    } else if (arg.starts_with("-")) {
      std::fprintf(stderr, "nsnet lab check: unknown option %s\n", arg.c_str());
      return 2;
    } else if (name.empty()) {
      name = arg;
    } else {
      std::fputs(kCheckUsage, stderr);
      return 2;
    }
  }
  if (name.empty()) {
    std::fputs(kCheckUsage, stderr);
    return 2;
  }
  try {
    const auto lab = open_lab("check", name);
    if (!lab) return 1;
    const auto topology = parse_topology(netcore::read_file(lab->dir.topology_file()));
    const auto checks = all_checks(topology);
    NamespaceCache namespaces(lab->dir.ns_dir());
    std::vector<Probe> probes;
    probes.reserve(checks.size());
    for (const auto& check : checks) {
      const Destination to = destination_of(check.to, topology, lab->record);
      probes.push_back({.from = namespaces.get(ns_name(check.from)),
                        .to = to.address,
                        .target = to.ns.empty() ? nullptr : namespaces.get(to.ns),
                        .proto = check.proto,
                        .port = check.port.value_or(0)});
    }
    const auto started = std::chrono::steady_clock::now();
    const auto outcomes = run_probes(probes, options);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

    std::vector<bool> passed(checks.size());
    std::size_t pass_count = 0;
    for (std::size_t i = 0; i < checks.size(); ++i) {
      passed[i] = outcomes[i].reached == checks[i].expect;
      pass_count += passed[i] ? 1 : 0;
    }
    const std::size_t fail_count = checks.size() - pass_count;
    if (as_json) {
      nlohmann::json report = {{"lab", name}, {"passed", pass_count}, {"failed", fail_count},
                               {"seconds", seconds}, {"checks", nlohmann::json::array()}};
      for (std::size_t i = 0; i < checks.size(); ++i) {
        nlohmann::json c = {{"from", checks[i].from.to_string()},
                            {"to", checks[i].to.to_string()},
                            {"address", probes[i].to.to_string()},
                            {"proto", to_string(checks[i].proto)},
                            {"expect", checks[i].expect},
                            {"reached", outcomes[i].reached},
                            {"passed", static_cast<bool>(passed[i])},
                            {"rttMs", static_cast<double>(outcomes[i].rtt.count()) / 1000.0}};
        if (checks[i].port) c["port"] = *checks[i].port;
        if (!outcomes[i].detail.empty()) c["detail"] = outcomes[i].detail;
        report["checks"].push_back(std::move(c));
      }
      std::printf("%s\n", report.dump(2).c_str());
    } else {
      print_matrix(checks, passed, topology);
      for (std::size_t i = 0; i < checks.size(); ++i) {
        if (passed[i]) continue;
        std::printf("FAIL %s -> %s (%s) %s: expected %s, got %s\n",
                    checks[i].from.to_string().c_str(), checks[i].to.to_string().c_str(),
                    probes[i].to.to_string().c_str(), describe(checks[i]).c_str(),
                    checks[i].expect ? "reachable" : "unreachable",
                    outcomes[i].reached ? "reached" : outcomes[i].detail.c_str());
      }
      std::printf("%zu passed, %zu failed (%zu checks in %.2f s)\n", pass_count, fail_count,
                  checks.size(), seconds);
    }
    return fail_count == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "nsnet lab check: %s: %s\n", name.c_str(), e.what());
    return 1;
  }
}

}  // namespace nsnet::lab
