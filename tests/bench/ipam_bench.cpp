// host-local latency through the binary, nsnet's and the reference's side by side in one run:
//   1. IPAM-only ADD latency into a fresh /16: median and p90 of N calls;
//   2. growth: median latency of the first 100 and the last 100 of M allocations in one /16;
//   3. DEL latency with those M allocations present.
// Each plugin gets its own data directory under a fresh temporary directory (removed at the
// end). host-local touches no network namespace, so no sandbox is needed.
//
//   nsnet_ipam_bench --nsnet-plugins=DIR [--reference-plugins=/usr/lib/cni]
//                    [--samples=N] [--allocations=M] [--reference-allocations=K]

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "spawn.hpp"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string nsnet_dir;
  std::string reference_dir = "/usr/lib/cni";
  int samples = 100;
  int allocations = 5000;
  int reference_allocations = 1000;  // the reference's ADD walks every reservation: O(n) each
};

class Side {
 public:
  Side(std::string label, std::string plugin_dir, fs::path data_dir)
      : label_(std::move(label)), dir_(std::move(plugin_dir)), data_dir_(std::move(data_dir)) {}

  const std::string& label() const { return label_; }
  bool available() const { return fs::exists(dir_ + "/host-local"); }

  // Milliseconds taken by one call; aborts the run on failure.
  double call(const std::string& command, const std::string& id, const std::string& network) {
    const std::string config =
        R"({"cniVersion":"1.0.0","name":")" + network +
        R"(","type":"bridge","ipam":{"type":"host-local","dataDir":")" + data_dir_.string() +
        R"(","ranges":[[{"subnet":"10.200.0.0/16"}]]}})";
    const auto start = Clock::now();
    const int status = nsnet::bench::spawn_and_wait(
        dir_ + "/host-local",
        {"CNI_COMMAND=" + command, "CNI_CONTAINERID=" + id, "CNI_NETNS=/run/netns/bench",
         "CNI_IFNAME=eth0", "CNI_PATH=" + dir_},
        config);
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    if (status != 0) {
      std::fprintf(stderr, "%s: host-local %s %s failed (status %d)\n", label_.c_str(),
                   command.c_str(), id.c_str(), status);
      std::exit(1);
    }
    return ms;
  }

 private:
  std::string label_;
  std::string dir_;
  fs::path data_dir_;
};

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5)];
}

struct Figures {
  double add_median = 0, add_p90 = 0;
  int allocations = 0;
  double first_100 = 0, last_100 = 0;
  double del_median = 0;
};

Figures measure(Side& side, const Options& options, int allocations) {
  Figures f;
  std::vector<double> adds;
  for (int i = 0; i < 5; ++i) side.call("ADD", "warm" + std::to_string(i), "latency");
  for (int i = 0; i < options.samples; ++i) adds.push_back(side.call("ADD", "lat" + std::to_string(i), "latency"));
  f.add_median = percentile(adds, 0.5);
  f.add_p90 = percentile(adds, 0.9);

  f.allocations = allocations;
  std::vector<double> growth;
  for (int i = 0; i < allocations; ++i) growth.push_back(side.call("ADD", "g" + std::to_string(i), "growth"));
  f.first_100 = percentile({growth.begin(), growth.begin() + 100}, 0.5);
  f.last_100 = percentile({growth.end() - 100, growth.end()}, 0.5);

  std::vector<double> dels;
  for (int i = 0; i < options.samples; ++i) dels.push_back(side.call("DEL", "g" + std::to_string(i * 7), "growth"));
  f.del_median = percentile(dels, 0.5);
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](const char* key) { return arg.substr(std::string(key).size()); };
    if (arg.starts_with("--nsnet-plugins=")) options.nsnet_dir = value("--nsnet-plugins=");
    else if (arg.starts_with("--reference-plugins=")) options.reference_dir = value("--reference-plugins=");
    else if (arg.starts_with("--samples=")) options.samples = std::stoi(value("--samples="));
    else if (arg.starts_with("--allocations=")) options.allocations = std::stoi(value("--allocations="));
    else if (arg.starts_with("--reference-allocations=")) options.reference_allocations = std::stoi(value("--reference-allocations="));
    else {
      std::fprintf(stderr, "usage: %s --nsnet-plugins=DIR [--reference-plugins=DIR] [--samples=N] "
                           "[--allocations=M] [--reference-allocations=K]\n", argv[0]);
      return 2;
    }
  }
  if (options.nsnet_dir.empty() || options.samples < 10 || options.allocations < 200 ||
      options.reference_allocations < 200) {
    std::fprintf(stderr, "%s: --nsnet-plugins is required; samples >= 10, allocations >= 200\n", argv[0]);
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN);
  std::string templ = (fs::temp_directory_path() / "nsnet-ipam-bench-XXXXXX").string();
  if (::mkdtemp(templ.data()) == nullptr) return 1;
  const fs::path root = templ;

  Side ours("nsnet", options.nsnet_dir, root / "nsnet");
  Side reference("reference", options.reference_dir, root / "reference");
  std::printf("host-local through the binary; /16 range; %d samples; data under %s\n\n",
              options.samples, root.c_str());
  std::printf("| plugin | ADD median | ADD p90 | allocations | first 100 (median) | last 100 (median) | growth | DEL median |\n");
  std::printf("| --- | --- | --- | --- | --- | --- | --- | --- |\n");
  for (auto* side : {&ours, &reference}) {
    if (!side->available()) {
      std::printf("| %s | not installed | | | | | | |\n", side->label().c_str());
      continue;
    }
    const int n = side == &ours ? options.allocations : options.reference_allocations;
    const auto f = measure(*side, options, n);
    std::printf("| %s | %.2f ms | %.2f ms | %d | %.2f ms | %.2f ms | %.2fx | %.2f ms |\n",
                side->label().c_str(), f.add_median, f.add_p90, f.allocations, f.first_100,
                f.last_100, f.last_100 / f.first_100, f.del_median);
    std::fflush(stdout);
  }
  fs::remove_all(root);
  return 0;
}
