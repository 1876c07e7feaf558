// `nsnet run` against what it replaces, in pairs within one run (so both sides see the same
// machine state):
//   1. --network none: `nsnet run --network none -- true` against
//      `unshare -mipfnuUr --mount-proc true` (a full namespace set, then exec of true);
//   2. the default bridge network: `nsnet run --network FILE -- true` (bridge + host-local +
//      portmap through nsnet's plugins) against unshare + the same ADD/DEL through the reference
//      plugins: a namespaced `sleep`, ADD, `nsenter -a true` inside, kill, DEL.
// Reports median and p10/p90 wall times and the ratios; checks that no veth, reservation or cache
// entry is left. Root; runs in its own mount + network namespaces (enter_sandbox).
//
//   nsnet_launcher_bench --nsnet=BIN --nsnet-plugins=DIR --conf=FILE
//                        [--reference-plugins=/usr/lib/cni] [--samples=N]

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "main_plugin_harness.hpp"
#include "netcore/base/file.hpp"
#include "netcore/cni/conflist.hpp"
#include "netcore/net/link.hpp"
#include "netcore/net/netlink.hpp"

extern char** environ;

namespace {

namespace cni = netcore::cni;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

struct Options {
  std::string nsnet;
  std::string nsnet_plugins;
  std::string reference_plugins = "/usr/lib/cni";
  std::string conf;
  int samples = 40;
};

constexpr int kWarmUp = 3;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

pid_t start(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  const int err = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (err != 0) throw std::runtime_error("cannot run " + argv[0] + ": " + std::strerror(err));
  return pid;
}

int wait_for(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void run_ok(const std::vector<std::string>& argv) {
  if (const int status = wait_for(start(argv)); status != 0)
    throw std::runtime_error(argv[0] + " " + argv[1] + " ... exited with " + std::to_string(status));
}

struct Stats {
  std::vector<double> ms;
  double median() const { return nsnet::bench::percentile(ms, 0.5); }
  void print(const char* label) const {
    std::printf("  %-44s median %7.2f ms   p10 %7.2f   p90 %7.2f\n", label, median(),
                nsnet::bench::percentile(ms, 0.1), nsnet::bench::percentile(ms, 0.9));
  }
};

// The shipped default network for one side: its own bridge and IPAM directory, at a version the
// reference (1.1.1) speaks.
fs::path write_network(const Options& options, const std::string& label) {
  json doc = json::parse(netcore::read_file(options.conf));
  doc["cniVersion"] = "1.0.0";
  doc["name"] = "bench-" + label;
  for (auto& plugin : doc["plugins"])
    if (plugin["type"] == "bridge") {
      plugin["bridge"] = "br-" + label.substr(0, 3);
      plugin["ipam"]["dataDir"] = "/run/bench-launcher/" + label;
      plugin["ipam"]["ranges"] = json::array(
          {json::array({{{"subnet", label == "nsnet" ? "10.88.0.0/16" : "10.87.0.0/16"}}})});
    }
  const fs::path file = "/run/bench-launcher/" + label + ".conflist";
  fs::create_directories(file.parent_path());
  netcore::write_file_atomic(file, doc.dump());
  return file;
}

// One reference-path container: unshare holds the namespaces, the reference plugins ADD, a
// command runs inside, the holder is killed, DEL.
void reference_run(const cni::NetworkList& list, const cni::PluginRunner& runner, int n) {
  const pid_t holder = start({"unshare", "-mipfnu", "--mount-proc", "--kill-child", "sleep", "infinity"});
  const std::string netns = "/proc/" + std::to_string(holder) + "/ns/net";
  struct stat ours {};
  struct stat theirs {};
  ::stat("/proc/self/ns/net", &ours);
  // unshare(1) moves itself into the new namespaces before it forks sleep.
  while (::stat(netns.c_str(), &theirs) != 0 || theirs.st_ino == ours.st_ino)
    std::this_thread::yield();
  const cni::RuntimeConf rt{.container_id = "ref" + std::to_string(n), .netns = netns,
                            .ifname = "eth0"};
  const auto result = cni::add_network_list(list, rt, runner);
  run_ok({"nsenter", "-t", std::to_string(holder), "-a", "true"});
  ::kill(holder, SIGKILL);
  wait_for(holder);
  cni::del_network_list(list, {.container_id = rt.container_id, .netns = "", .ifname = "eth0"},
                        result, runner);
}

bool leaves_nothing() {
  bool clean = true;
  for (int tries = 0; tries < 300; ++tries) {  // host veths go when their netns is freed (async)
    clean = true;
    for (const auto& link : netcore::net::list_links(netcore::net::Netlink::connect()))
      if (link.kind == "veth") clean = false;
    if (clean) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!clean) std::printf("FAIL: veths left\n");
  for (const char* dir : {"/run/bench-launcher/nsnet/bench-nsnet",
                          "/run/bench-launcher/reference/bench-reference"})
    for (const auto& r : nsnet::bench::leftover_reservations(dir)) {
      std::printf("FAIL: reservation %s left in %s\n", r.c_str(), dir);
      clean = false;
    }
  std::error_code ec;
  if (fs::exists("/var/lib/cni/results", ec) && !fs::is_empty("/var/lib/cni/results", ec)) {
    std::printf("FAIL: result cache entries left\n");
    clean = false;
  }
  if (fs::exists("/run/nsnet", ec) && !fs::is_empty("/run/nsnet", ec)) {
    std::printf("FAIL: /run/nsnet not empty\n");
    clean = false;
  }
  return clean;
}

bool run(const Options& options) {
  ::setenv("NETCONFPATH", "/run/bench-launcher/empty-conf-dir", 1);
  const std::string cni_path = "--cni-path=" + options.nsnet_plugins;

  Stats nsnet_none, unshare_none;
  for (int i = 0; i < kWarmUp + options.samples; ++i) {
    auto t = Clock::now();
    run_ok({options.nsnet, "run", "--network", "none", "--", "true"});
    const double ours = ms_since(t);
    t = Clock::now();
    run_ok({"unshare", "-mipfnuUr", "--mount-proc", "true"});
    const double theirs = ms_since(t);
    if (i < kWarmUp) continue;
    nsnet_none.ms.push_back(ours);
    unshare_none.ms.push_back(theirs);
  }
  std::printf("namespaces only, %d pairs\n", options.samples);
  nsnet_none.print("nsnet run --network none -- true");
  unshare_none.print("unshare -mipfnuUr --mount-proc true");
  std::printf("  ratio nsnet/unshare: %.2f\n\n", nsnet_none.median() / unshare_none.median());

  const fs::path ours_file = write_network(options, "nsnet");
  const auto ref_list = cni::NetworkList::load(write_network(options, "reference"));
  const cni::PluginRunner ref_runner{.path = {options.reference_plugins},
                                     .env = {{"PATH", "/usr/sbin:/usr/bin:/sbin:/bin"}}};
  Stats nsnet_bridge, reference_bridge;
  for (int i = 0; i < kWarmUp + options.samples; ++i) {
    auto t = Clock::now();
    run_ok({options.nsnet, "run", cni_path, "--network", ours_file.string(), "--", "true"});
    const double ours = ms_since(t);
    t = Clock::now();
    reference_run(ref_list, ref_runner, i);
    const double theirs = ms_since(t);
    if (i < kWarmUp) continue;
    nsnet_bridge.ms.push_back(ours);
    reference_bridge.ms.push_back(theirs);
  }
  std::printf("default bridge network (bridge + host-local + portmap), %d pairs\n", options.samples);
  nsnet_bridge.print("nsnet run -- true");
  reference_bridge.print("unshare + reference plugins ADD/DEL + exec");
  std::printf("  speed-up: %.1fx\n", reference_bridge.median() / nsnet_bridge.median());
  return leaves_nothing();
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  bool usage = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](const char* key) { return arg.substr(std::strlen(key)); };
    if (arg.starts_with("--nsnet=")) options.nsnet = value("--nsnet=");
    else if (arg.starts_with("--nsnet-plugins=")) options.nsnet_plugins = value("--nsnet-plugins=");
    else if (arg.starts_with("--reference-plugins=")) options.reference_plugins = value("--reference-plugins=");
    else if (arg.starts_with("--conf=")) options.conf = value("--conf=");
    else if (arg.starts_with("--samples=")) options.samples = std::atoi(value("--samples=").c_str());
    else usage = true;
  }
  if (usage || options.nsnet.empty() || options.nsnet_plugins.empty() || options.conf.empty() ||
      options.samples < 10) {
    std::fprintf(stderr,
                 "usage: %s --nsnet=BIN --nsnet-plugins=DIR --conf=FILE [--reference-plugins=DIR] "
                 "[--samples=N>=10]\n",
                 argv[0]);
    return 2;
  }
  if (::geteuid() != 0 || !nsnet::bench::enter_sandbox()) {
    std::fprintf(stderr, "%s: needs root (makes its own namespaces): %s\n", argv[0],
                 std::strerror(errno));
    return 1;
  }
  try {
    const auto nl = netcore::net::Netlink::connect();
    netcore::net::set_up(nl, netcore::net::get_link(nl, "lo").index);
    if (run(options)) return 0;
    std::fprintf(stderr, "%s: a check failed (see FAIL lines)\n", argv[0]);
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
  }
  return 1;
}
