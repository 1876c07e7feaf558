// Main plugins with host-local IPAM, nsnet's and the reference's side by side in one run, each
// call exec'd as a runtime does:
//   1. bridge and ptp: ADD and DEL latency of one container (median, p90) and peak RSS;
//   2. bridge, N sequential ADDs on one bridge, each container in its own netns: median of the
//      first 50 against the last 50 ("growth"), then the DEL median over all N;
//   3. bridge, M ADDs from P threads on one bridge: wall time, no address handed out twice, and
//      after as many parallel DELs no veth and no reservation left.
// Scenarios 2 and 3 also check for duplicates and leftovers; a problem fails the run (exit 1).
// Runs as root in its own mount + network namespaces with a private tmpfs on /run: the "host" is
// the process's fresh netns, and the containers' netns entries and the IPAM data live under that
// /run, so nothing reaches the machine's network, /run/netns or /var/lib/cni. Whatever way the
// process ends, its namespaces end with it.
//
//   nsnet_main_plugin_bench --nsnet-plugins=DIR [--reference-plugins=/usr/lib/cni] [--samples=N]
//                           [--sequential=N] [--parallel-total=M] [--parallelism=P]

#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

#include "main_plugin_harness.hpp"

namespace {

namespace fs = std::filesystem;
using nsnet::bench::BenchError;
using nsnet::bench::Container;
using nsnet::bench::ContainerPool;
using nsnet::bench::Side;

struct Options {
  std::string nsnet_dir;
  std::string reference_dir = "/usr/lib/cni";
  int samples = 30;
  int sequential = 1000;    // 0 skips scenario 2
  int parallel_total = 64;  // 0 skips scenario 3
  int parallelism = 8;
};

// Untimed ADD + DEL pairs before each scenario: they create the bridge (so no timed ADD pays for
// it) and bring both binaries and host-local's files into the page cache.
constexpr int kWarmUp = 3;
// The first and last ADDs compared in scenario 2 (fewer when N < 100).
constexpr int kGrowthWindow = 50;
const fs::path kDataRoot = "/run/bench-ipam";

// The bridge and IPAM data directory of one side in one scenario; fresh for each.
struct Network {
  std::string bridge;  // empty for ptp
  fs::path data_dir;
  std::string config;
};

Network network_for(const Side& side, const std::string& type, const std::string& scenario) {
  Network net{.data_dir = kDataRoot / (side.label() + "-" + type + "-" + scenario)};
  if (type == "bridge") {
    net.bridge = "bench-" + side.label().substr(0, 1) + "-" + scenario;  // at most 15 bytes
    net.config = nsnet::bench::bridge_config(net.bridge, net.data_dir);
  } else {
    net.config = nsnet::bench::ptp_config(net.data_dir);
  }
  return net;
}

void warm_up(const Side& side, const std::string& type, const Network& net,
             const ContainerPool& pool) {
  const Container container{"warm", pool.path(0)};
  for (int i = 0; i < kWarmUp; ++i) {
    side.call(type, "ADD", container, net.config);
    side.call(type, "DEL", container, net.config);
  }
}

// What the host namespace and the data directory hold after every DEL; empty when clean.
std::vector<std::string> leftovers(const Network& net) {
  auto problems = nsnet::bench::leftover_links(net.bridge);
  for (auto& p : nsnet::bench::leftover_reservations(net.data_dir)) problems.push_back(p);
  return problems;
}

void tear_down(const Network& net) {
  nsnet::bench::delete_host_links(net.bridge);
  fs::remove_all(net.data_dir);
}

void report(const std::string& label, const std::vector<std::string>& problems) {
  for (const auto& p : problems) std::fprintf(stderr, "FAIL: %s: %s\n", label.c_str(), p.c_str());
}

std::string check_cell(const std::vector<std::string>& duplicates,
                       const std::vector<std::string>& leftovers) {
  return "duplicates: " + std::to_string(duplicates.size()) +
         ", clean: " + (leftovers.empty() ? "yes" : "no");
}

// --- 1. one container --------------------------------------------------------------------

struct Latency {
  double add_median, add_p90, del_median, del_p90;
  long peak_rss_kib;
};

Latency measure_latency(const Side& side, const std::string& type, const ContainerPool& pool,
                        int samples) {
  const Network net = network_for(side, type, "lat");
  warm_up(side, type, net, pool);
  const Container container{"bench", pool.path(0)};
  std::vector<double> adds, dels;
  long peak = 0;
  for (int i = 0; i < samples; ++i) {
    const auto add = side.call(type, "ADD", container, net.config);
    const auto del = side.call(type, "DEL", container, net.config);
    adds.push_back(add.ms);
    dels.push_back(del.ms);
    peak = std::max({peak, add.rss_kib, del.rss_kib});
  }
  const auto problems = leftovers(net);
  if (!problems.empty()) {
    report(side.label() + " " + type, problems);
    throw BenchError(side.label() + ": " + type + " left state behind after ADD/DEL");
  }
  tear_down(net);
  using nsnet::bench::percentile;
  return {percentile(adds, 0.5), percentile(adds, 0.9), percentile(dels, 0.5),
          percentile(dels, 0.9), peak};
}

// --- 2. sequential ADDs on one bridge ----------------------------------------------------

struct Sequential {
  int window;
  double first_median, last_median, del_median;
  std::vector<std::string> duplicates, leftovers;
};

Sequential measure_sequential(const Side& side, const ContainerPool& pool, int n) {
  const Network net = network_for(side, "bridge", "seq");
  warm_up(side, "bridge", net, pool);
  std::vector<double> adds, dels;
  std::vector<std::string> outputs;
  auto container = [&](int i) { return Container{"seq" + std::to_string(i), pool.path(i)}; };
  for (int i = 0; i < n; ++i) {
    auto add = side.call("bridge", "ADD", container(i), net.config);
    adds.push_back(add.ms);
    outputs.push_back(std::move(add.output));
  }
  for (int i = 0; i < n; ++i)
    dels.push_back(side.call("bridge", "DEL", container(i), net.config).ms);
  Sequential s{.window = std::min(kGrowthWindow, n / 2)};
  using nsnet::bench::percentile;
  s.first_median = percentile({adds.begin(), adds.begin() + s.window}, 0.5);
  s.last_median = percentile({adds.end() - s.window, adds.end()}, 0.5);
  s.del_median = percentile(dels, 0.5);
  s.duplicates = nsnet::bench::duplicate_addresses(outputs);
  s.leftovers = leftovers(net);
  tear_down(net);
  return s;
}

// --- 3. parallel ADDs on one bridge ------------------------------------------------------

struct Parallel {
  double add_wall_ms, del_wall_ms;
  std::vector<std::string> duplicates, leftovers;
};

Parallel measure_parallel(const Side& side, const ContainerPool& pool, int total, int parallelism) {
  const Network net = network_for(side, "bridge", "par");
  warm_up(side, "bridge", net, pool);
  auto container = [&](int i) { return Container{"par" + std::to_string(i), pool.path(i)}; };
  std::vector<std::string> outputs(total);  // one slot per job: no lock needed
  Parallel p{};
  p.add_wall_ms = nsnet::bench::run_parallel(total, parallelism, [&](int i) {
    outputs[i] = side.call("bridge", "ADD", container(i), net.config).output;
  });
  p.del_wall_ms = nsnet::bench::run_parallel(
      total, parallelism, [&](int i) { side.call("bridge", "DEL", container(i), net.config); });
  p.duplicates = nsnet::bench::duplicate_addresses(outputs);
  p.leftovers = leftovers(net);
  tear_down(net);
  return p;
}

// --- the run -----------------------------------------------------------------------------

// Returns false when a check failed (the tables are complete all the same).
bool run(const Options& options) {
  const Side sides[] = {Side("nsnet", options.nsnet_dir), Side("reference", options.reference_dir)};
  const ContainerPool pool(
      static_cast<size_t>(std::max({1, options.sequential, options.parallel_total})));
  bool ok = true;

  std::printf("## One container: ADD then DEL, %d samples each after %d warm-up pairs\n\n",
              options.samples, kWarmUp);
  std::printf("| plugin | side | ADD median | ADD p90 | DEL median | DEL p90 | peak RSS |\n");
  std::printf("| --- | --- | --- | --- | --- | --- | --- |\n");
  for (const char* type : {"bridge", "ptp"}) {
    for (const auto& side : sides) {
      if (!side.has(type)) {
        std::printf("| %s | %s | not installed | | | | |\n", type, side.label().c_str());
        continue;
      }
      const auto f = measure_latency(side, type, pool, options.samples);
      std::printf("| %s | %s | %.2f ms | %.2f ms | %.2f ms | %.2f ms | %ld KiB |\n", type,
                  side.label().c_str(), f.add_median, f.add_p90, f.del_median, f.del_p90,
                  f.peak_rss_kib);
      std::fflush(stdout);
    }
  }

  if (options.sequential > 0) {
    const int window = std::min(kGrowthWindow, options.sequential / 2);
    std::printf(
        "\n## bridge: %d sequential ADDs on one bridge, each container in its own netns; "
        "then DEL of all\n\n",
        options.sequential);
    std::printf(
        "| side | ADDs | first %d ADDs (median) | last %d ADDs (median) | growth | "
        "DEL median (all) | check |\n",
        window, window);
    std::printf("| --- | --- | --- | --- | --- | --- | --- |\n");
    std::fflush(stdout);
    for (const auto& side : sides) {
      if (!side.has("bridge")) {
        std::printf("| %s | not installed | | | | | |\n", side.label().c_str());
        continue;
      }
      const auto s = measure_sequential(side, pool, options.sequential);
      std::printf("| %s | %d | %.2f ms | %.2f ms | %.2fx | %.2f ms | %s |\n", side.label().c_str(),
                  options.sequential, s.first_median, s.last_median, s.last_median / s.first_median,
                  s.del_median, check_cell(s.duplicates, s.leftovers).c_str());
      std::fflush(stdout);
      report(side.label() + " bridge sequential", s.duplicates);
      report(side.label() + " bridge sequential", s.leftovers);
      ok = ok && s.duplicates.empty() && s.leftovers.empty();
    }
  }

  if (options.parallel_total > 0) {
    std::printf("\n## bridge: %d ADDs from %d threads on one bridge, then %d DELs likewise\n\n",
                options.parallel_total, options.parallelism, options.parallel_total);
    std::printf("| side | ADDs | parallelism | ADD wall time | DEL wall time | check |\n");
    std::printf("| --- | --- | --- | --- | --- | --- |\n");
    std::fflush(stdout);
    for (const auto& side : sides) {
      if (!side.has("bridge")) {
        std::printf("| %s | not installed | | | | |\n", side.label().c_str());
        continue;
      }
      const auto p = measure_parallel(side, pool, options.parallel_total, options.parallelism);
      std::printf("| %s | %d | %d | %.1f ms | %.1f ms | %s |\n", side.label().c_str(),
                  options.parallel_total, options.parallelism, p.add_wall_ms, p.del_wall_ms,
                  check_cell(p.duplicates, p.leftovers).c_str());
      std::fflush(stdout);
      report(side.label() + " bridge parallel", p.duplicates);
      report(side.label() + " bridge parallel", p.leftovers);
      ok = ok && p.duplicates.empty() && p.leftovers.empty();
    }
  }
  return ok;
}

// Leaves the machine's namespaces before anything is created; the process must still be
// single-threaded (unshare moves only the calling thread).
}  // namespace

int main(int argc, char** argv) {
  Options options;
  bool usage = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](const char* key) { return arg.substr(std::strlen(key)); };
    try {
      if (arg.starts_with("--nsnet-plugins="))
        options.nsnet_dir = value("--nsnet-plugins=");
      else if (arg.starts_with("--reference-plugins="))
        options.reference_dir = value("--reference-plugins=");
      else if (arg.starts_with("--samples="))
        options.samples = std::stoi(value("--samples="));
      else if (arg.starts_with("--sequential="))
        options.sequential = std::stoi(value("--sequential="));
      else if (arg.starts_with("--parallel-total="))
        options.parallel_total = std::stoi(value("--parallel-total="));
      else if (arg.starts_with("--parallelism="))
        options.parallelism = std::stoi(value("--parallelism="));
      else
        usage = true;
    } catch (const std::logic_error&) {  // stoi: not a number
      usage = true;
    }
  }
  if (usage || options.nsnet_dir.empty() || options.samples < 10 || options.sequential < 0 ||
      options.sequential == 1 || options.parallel_total < 0 || options.parallelism < 1) {
    std::fprintf(
        stderr,
        "usage: %s --nsnet-plugins=DIR [--reference-plugins=DIR] [--samples=N>=10]\n"
        "       [--sequential=N (0 = skip, else >=2; default 1000)]\n"
        "       [--parallel-total=M (0 = skip; default 64)] [--parallelism=P (default 8)]\n",
        argv[0]);
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN);
  if (::geteuid() != 0 || !nsnet::bench::enter_sandbox()) {
    std::fprintf(stderr, "%s: needs root (makes its own namespaces): %s\n", argv[0],
                 std::strerror(errno));
    return 1;
  }
  try {
    if (run(options)) return 0;
    std::fprintf(stderr, "%s: a check failed (see FAIL lines)\n", argv[0]);
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
  }
  return 1;
}
