// Plugin start-up and command latency: each iteration execs a plugin binary the way a runtime
// does (env + config on stdin), nsnet's and the reference's side by side. Runs as root in its
// own mount + network namespaces; the "container" is a fresh netns.
//
//   nsnet_bench --nsnet-plugins=DIR [--reference-plugins=/usr/lib/cni] [benchmark flags]

#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "netcore/net/netns.hpp"
#include "spawn.hpp"

namespace {

std::string g_nsnet_dir;
std::string g_reference_dir = "/usr/lib/cni";
std::optional<netcore::net::Netns> g_container;
const std::string kNetnsPath = "/run/netns/bench";

// Runs a plugin with CNI env for `command` and `config` on stdin; returns its exit status.
int exec_plugin(const std::string& program, const std::string& command, const std::string& config,
                const std::string& plugin_dir) {
  return nsnet::bench::spawn_and_wait(
      program,
      {"CNI_COMMAND=" + command, "CNI_CONTAINERID=bench", "CNI_NETNS=" + kNetnsPath,
       "CNI_IFNAME=eth0", "CNI_PATH=" + plugin_dir, "PATH=/usr/sbin:/usr/bin:/sbin:/bin"},
      config);
}

void run(benchmark::State& state, const std::string& dir, const std::string& plugin,
         const std::string& command, const std::string& config) {
  const std::string program = dir + "/" + plugin;
  if (!std::filesystem::exists(program)) {
    state.SkipWithError((program + " not found").c_str());
    return;
  }
  if (exec_plugin(program, command, config, dir) != 0) {
    state.SkipWithError((program + " " + command + " failed").c_str());
    return;
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize(exec_plugin(program, command, config, dir));
  }
}

// The reference Go plugins of Debian (1.1.1) speak up to 1.0.0.
const std::string kLoopbackConfig = R"({"cniVersion":"1.0.0","name":"bench","type":"loopback"})";

void register_benchmarks() {
  struct Side {
    const char* label;
    std::string* dir;
  };
  for (const Side side : {Side{"nsnet", &g_nsnet_dir}, Side{"reference", &g_reference_dir}}) {
    for (const char* command : {"VERSION", "ADD", "CHECK", "DEL"}) {
      benchmark::RegisterBenchmark(
          (std::string("loopback/") + command + "/" + side.label).c_str(),
          [dir = side.dir, command](benchmark::State& state) {
            run(state, *dir, "loopback", command, kLoopbackConfig);
          })
          ->Unit(benchmark::kMillisecond)
          ->MinTime(1.0)
          ->UseRealTime();
    }
  }
}

bool enter_sandbox() {
  if (::unshare(CLONE_NEWNS | CLONE_NEWNET) != 0) return false;
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return false;
  if (::mount("tmpfs", "/run", "tmpfs", 0, "mode=0755") != 0) return false;
  g_container.emplace(netcore::net::Netns::create());
  g_container->persist("bench");
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    const std::string_view arg(argv[i]);
    if (arg.starts_with("--nsnet-plugins=")) {
      g_nsnet_dir = std::string(arg.substr(16));
    } else if (arg.starts_with("--reference-plugins=")) {
      g_reference_dir = std::string(arg.substr(20));
    } else {
      rest.push_back(argv[i]);
    }
  }
  if (g_nsnet_dir.empty()) {
    std::fprintf(stderr, "usage: %s --nsnet-plugins=DIR [--reference-plugins=DIR]\n", argv[0]);
    return 2;
  }
  if (::geteuid() != 0 || !enter_sandbox()) {
    std::fprintf(stderr, "nsnet_bench: needs root (creates its own namespaces): %s\n",
                 std::strerror(errno));
    return 1;
  }
  std::signal(SIGPIPE, SIG_IGN);  // a plugin may exit without reading all of its config
  int rest_argc = static_cast<int>(rest.size());
  benchmark::Initialize(&rest_argc, rest.data());
  register_benchmarks();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
