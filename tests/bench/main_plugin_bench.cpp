// Main plugins with their IPAM, nsnet's and the reference's side by side in one run: ADD and
// DEL latency (median, p90) and peak RSS of ptp + host-local, each call exec'd as a runtime
// does. Runs as root in its own mount + network namespaces: the "host" is a fresh netns, the
// container another one; nothing reaches the machine's own network.
//
//   nsnet_main_plugin_bench --nsnet-plugins=DIR [--reference-plugins=/usr/lib/cni] [--samples=N]

#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "netcore/net/netns.hpp"
#include "spawn.hpp"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5)];
}

struct Figures {
  double add_median, add_p90, del_median, del_p90;
  long peak_rss_kib;
};

// ADD then DEL, `samples` times, of `type` with host-local IPAM in a fresh data directory.
std::optional<Figures> measure(const std::string& dir, const std::string& type, int samples) {
  if (!fs::exists(dir + "/" + type) || !fs::exists(dir + "/host-local")) return std::nullopt;
  const std::string data_dir = "/run/bench-ipam/" + std::to_string(std::hash<std::string>{}(dir));
  // Debian's reference (1.1.1) speaks up to 1.0.0.
  const std::string config = R"({"cniVersion":"1.0.0","name":"benchnet","type":")" + type +
                             R"(","ipam":{"type":"host-local","dataDir":")" + data_dir +
                             R"(","ranges":[[{"subnet":"10.250.0.0/16"}]]}})";
  auto call = [&](const std::string& command, long* rss) {
    const auto start = Clock::now();
    const int status = nsnet::bench::spawn_and_wait(
        dir + "/" + type,
        {"CNI_COMMAND=" + command, "CNI_CONTAINERID=bench", "CNI_NETNS=/run/netns/bench",
         "CNI_IFNAME=eth0", "CNI_PATH=" + dir, "PATH=/usr/sbin:/usr/bin:/sbin:/bin"},
        config, rss);
    if (status != 0) {
      std::fprintf(stderr, "%s/%s %s failed (status %d)\n", dir.c_str(), type.c_str(),
                   command.c_str(), status);
      std::exit(1);
    }
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  };
  std::vector<double> adds, dels;
  long peak = 0;
  for (int i = 0; i < samples + 3; ++i) {
    long rss_add = 0, rss_del = 0;
    const double add = call("ADD", &rss_add);
    const double del = call("DEL", &rss_del);
    if (i < 3) continue;  // warm-up
    adds.push_back(add);
    dels.push_back(del);
    peak = std::max({peak, rss_add, rss_del});
  }
  return Figures{percentile(adds, 0.5), percentile(adds, 0.9), percentile(dels, 0.5),
                 percentile(dels, 0.9), peak};
}

}  // namespace

int main(int argc, char** argv) {
  std::string nsnet_dir, reference_dir = "/usr/lib/cni";
  int samples = 30;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.starts_with("--nsnet-plugins=")) nsnet_dir = arg.substr(16);
    else if (arg.starts_with("--reference-plugins=")) reference_dir = arg.substr(20);
    else if (arg.starts_with("--samples=")) samples = std::stoi(arg.substr(10));
    else nsnet_dir.clear(), i = argc;
  }
  if (nsnet_dir.empty() || samples < 10) {
    std::fprintf(stderr, "usage: %s --nsnet-plugins=DIR [--reference-plugins=DIR] [--samples=N>=10]\n",
                 argv[0]);
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN);
  if (::geteuid() != 0 || ::unshare(CLONE_NEWNS | CLONE_NEWNET) != 0 ||
      ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
      ::mount("tmpfs", "/run", "tmpfs", 0, "mode=0755") != 0) {
    std::fprintf(stderr, "%s: needs root (makes its own namespaces): %s\n", argv[0],
                 std::strerror(errno));
    return 1;
  }
  const auto container = netcore::net::Netns::create();
  container.persist("bench");

  std::printf("ptp + host-local, ADD then DEL of one container, %d samples each\n\n", samples);
  std::printf("| plugin | ADD median | ADD p90 | DEL median | DEL p90 | peak RSS |\n");
  std::printf("| --- | --- | --- | --- | --- | --- |\n");
  for (const auto& [label, dir] : {std::pair{"nsnet", nsnet_dir}, std::pair{"reference", reference_dir}}) {
    const auto f = measure(dir, "ptp", samples);
    if (!f) {
      std::printf("| %s | not installed | | | | |\n", label);
      continue;
    }
    std::printf("| %s | %.2f ms | %.2f ms | %.2f ms | %.2f ms | %ld KiB |\n", label, f->add_median,
                f->add_p90, f->del_median, f->del_p90, f->peak_rss_kib);
    std::fflush(stdout);
  }
  return 0;
}
