// The full chained conflist (conf/40-chain.conflist: bridge + host-local, portmap, firewall,
// tuning, bandwidth), nsnet's plugins and the reference's side by side in one run, through
// netcore::cni's conflist runtime as a runtime runs it: ADD of the whole chain, then DEL of the
// whole chain, for one container with one published port and bandwidth limits. Reports the
// median and p90 of each, and checks that every DEL left no veth, no reservation and no ifb.
// Runs as root in its own mount + network namespaces with a private tmpfs on /run (the
// reference's firewall and portmap then use iptables inside that namespace only).
//
//   nsnet_chain_bench --nsnet-plugins=DIR --conf=FILE [--reference-plugins=/usr/lib/cni]
//                     [--samples=N]

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "main_plugin_harness.hpp"
#include "netcore/base/file.hpp"
#include "netcore/cni/conflist.hpp"
#include "netcore/net/link.hpp"
#include "netcore/net/netlink.hpp"

namespace {

namespace cni = netcore::cni;
namespace fs = std::filesystem;
namespace net = netcore::net;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

struct Options {
  std::string nsnet_dir;
  std::string reference_dir = "/usr/lib/cni";
  std::string conf;
  int samples = 30;
};

constexpr int kWarmUp = 3;

struct Timing {
  std::vector<double> add_ms, del_ms;
};

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// The shipped chain for one side: its own bridge and state directories, and spec 1.0.0, the
// newest the reference (1.1.1) speaks.
cni::NetworkList chain_for(const Options& options, const std::string& label) {
  json doc = json::parse(netcore::read_file(options.conf));
  doc["cniVersion"] = "1.0.0";
  doc["name"] = nsnet::bench::kNetworkName;
  const fs::path state = fs::path("/run/bench-chain") / label;
  for (auto& plugin : doc["plugins"]) {
    if (plugin["type"] == "bridge") {
      plugin["bridge"] = "bch-" + label.substr(0, 3);
      plugin["ipam"]["dataDir"] = (state / "ipam").string();
    }
    if (plugin["type"] == "tuning") plugin["dataDir"] = (state / "tuning").string();
  }
  return cni::NetworkList::parse(doc.dump());
}

cni::RuntimeConf attachment(const std::string& netns) {
  cni::RuntimeConf rt{.container_id = "benchctr", .netns = netns, .ifname = "eth0"};
  rt.capability_args = {
      {"portMappings",
       json::array({{{"hostPort", 18080}, {"containerPort", 80}, {"protocol", "tcp"}}})},
      {"bandwidth",
       {{"ingressRate", 100'000'000}, {"ingressBurst", 1'000'000},
        {"egressRate", 100'000'000}, {"egressBurst", 1'000'000}}}};
  return rt;
}

// Veths and ifbs still in the host namespace: what a complete DEL leaves none of.
std::vector<std::string> leftover_links() {
  std::vector<std::string> left;
  for (const auto& link : net::list_links(net::Netlink::connect()))
    if (link.kind == "veth" || link.kind == "ifb") left.push_back(link.name);
  return left;
}

bool measure(const Options& options, const std::string& label, const std::string& dir,
             const std::string& netns, Timing& timing) {
  const auto list = chain_for(options, label);
  cni::PluginRunner runner{.path = {dir}, .env = {{"PATH", "/usr/sbin:/usr/bin:/sbin:/bin"}}};
  const auto rt = attachment(netns);
  for (int i = 0; i < kWarmUp + options.samples; ++i) {
    auto start = Clock::now();
    const auto result = cni::add_network_list(list, rt, runner);
    const double add = ms_since(start);
    start = Clock::now();
    cni::del_network_list(list, rt, result, runner);
    const double del = ms_since(start);
    if (i < kWarmUp) continue;
    timing.add_ms.push_back(add);
    timing.del_ms.push_back(del);
  }
  const auto left = leftover_links();
  const auto reserved = nsnet::bench::leftover_reservations(fs::path("/run/bench-chain") / label /
                                                            "ipam");
  for (const auto& l : left) std::printf("FAIL %s: link %s left after DEL\n", label.c_str(), l.c_str());
  for (const auto& r : reserved) std::printf("FAIL %s: %s left after DEL\n", label.c_str(), r.c_str());
  return left.empty() && reserved.empty();
}

bool run(const Options& options) {
  nsnet::bench::ContainerPool pool(1);
  struct SideRun {
    std::string label, dir;
    Timing timing;
  };
  std::vector<SideRun> sides = {{"nsnet", options.nsnet_dir, {}},
                                {"reference", options.reference_dir, {}}};
  bool clean = true;
  std::printf("full chain (bridge+host-local, portmap, firewall, tuning, bandwidth), %d samples\n",
              options.samples);
  std::printf("%-10s %12s %12s %12s %12s\n", "side", "ADD median", "ADD p90", "DEL median",
              "DEL p90");
  for (auto& side : sides) {
    clean &= measure(options, side.label, side.dir, pool.path(0), side.timing);
    nsnet::bench::delete_host_links("bch-" + side.label.substr(0, 3));
    const auto& t = side.timing;
    std::printf("%-10s %9.2f ms %9.2f ms %9.2f ms %9.2f ms\n", side.label.c_str(),
                nsnet::bench::percentile(t.add_ms, 0.5), nsnet::bench::percentile(t.add_ms, 0.9),
                nsnet::bench::percentile(t.del_ms, 0.5), nsnet::bench::percentile(t.del_ms, 0.9));
  }
  const auto& ours = sides[0].timing;
  const auto& ref = sides[1].timing;
  std::printf("speed-up: ADD %.1fx, DEL %.1fx, ADD+DEL %.1fx\n",
              nsnet::bench::percentile(ref.add_ms, 0.5) / nsnet::bench::percentile(ours.add_ms, 0.5),
              nsnet::bench::percentile(ref.del_ms, 0.5) / nsnet::bench::percentile(ours.del_ms, 0.5),
              (nsnet::bench::percentile(ref.add_ms, 0.5) + nsnet::bench::percentile(ref.del_ms, 0.5)) /
                  (nsnet::bench::percentile(ours.add_ms, 0.5) +
                   nsnet::bench::percentile(ours.del_ms, 0.5)));
  return clean;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  bool usage = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](const char* key) { return arg.substr(std::strlen(key)); };
    if (arg.starts_with("--nsnet-plugins="))
      options.nsnet_dir = value("--nsnet-plugins=");
    else if (arg.starts_with("--reference-plugins="))
      options.reference_dir = value("--reference-plugins=");
    else if (arg.starts_with("--conf="))
      options.conf = value("--conf=");
    else if (arg.starts_with("--samples="))
      options.samples = std::atoi(value("--samples=").c_str());
    else
      usage = true;
  }
  if (usage || options.nsnet_dir.empty() || options.conf.empty() || options.samples < 10) {
    std::fprintf(stderr,
                 "usage: %s --nsnet-plugins=DIR --conf=FILE [--reference-plugins=DIR] "
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
    if (run(options)) return 0;
    std::fprintf(stderr, "%s: a check failed (see FAIL lines)\n", argv[0]);
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
  }
  return 1;
}
