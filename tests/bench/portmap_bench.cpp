// portmap: nsnet's plugin, and where it applies the reference's, exec'd as a runtime does.
//   1. ADD + DEL latency of one attachment publishing one port (median, p90), both sides;
//   2. N attachments (default 1,000), each publishing one host port to its own container
//      address: ADD latency of the first and the last 50, then TCP connection setup latency
//      (connect() until the handshake completes, many repetitions, median) from an "outside"
//      namespace to the first and to the last published port. nsnet looks a new connection up
//      in nft maps, so the ratio last/first should stay near 1 (target <= 1.2).
// Runs as root in its own mount + network namespaces with a private tmpfs on /run: the "host" is
// the process's fresh netns, so nothing reaches the machine's network or firewall.
//
//   nsnet_portmap_bench --nsnet-plugins=DIR [--reference-plugins=/usr/lib/cni] [--samples=N]
//                       [--attachments=N] [--connects=N]

#include <fcntl.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "netcore/net/netns.hpp"
#include "spawn.hpp"
#include "support/socket_probe.hpp"

namespace {

namespace fs = std::filesystem;
namespace net = netcore::net;
using nlohmann::json;

struct Options {
  std::string nsnet_dir;
  std::string reference_dir = "/usr/lib/cni";
  int samples = 30;
  int attachments = 1000;
  int connects = 2000;
};

constexpr int kWindow = 50;

double now_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

bool sh(const std::string& command) { return std::system(command.c_str()) == 0; }

std::string container_ip(int i) {
  return "10.88." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 2);
}

json config(int i, bool with_mappings = true) {
  json conf = {{"cniVersion", "1.0.0"}, {"name", "benchnet"}, {"type", "portmap"}};
  if (!with_mappings) return conf;
  conf["runtimeConfig"] = {{"portMappings",
                            json::array({{{"hostPort", 10000 + i},
                                          {"containerPort", 80},
                                          {"protocol", "tcp"}}})}};
  conf["prevResult"] = {
      {"cniVersion", "1.0.0"},
      {"interfaces", json::array({{{"name", "pmbh"}}, {{"name", "eth0"}, {"sandbox", "/run/netns/pmb-c"}}})},
      {"ips", json::array({{{"address", container_ip(i) + "/16"}, {"interface", 1}}})}};
  return conf;
}

// One exec of DIR/portmap; returns the exit status.
int call(const std::string& dir, const std::string& command, int i, const json& conf) {
  const std::vector<std::string> env = {"CNI_COMMAND=" + command,
                                        "CNI_CONTAINERID=bench" + std::to_string(i),
                                        "CNI_NETNS=/run/netns/pmb-c",
                                        "CNI_IFNAME=eth0",
                                        "CNI_PATH=" + dir,
                                        "PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
  return nsnet::bench::spawn_and_wait(dir + "/portmap", env, conf.dump());
}

bool setup_topology(int attachments) {
  if (!sh("set -e; mkdir -p /run/netns; ip netns add pmb-c; ip netns add pmb-o; ip link set lo up;"
          "ip link add pmbh type veth peer name eth0 netns pmb-c;"
          "ip link add pmbo type veth peer name eth0 netns pmb-o;"
          "ip addr add 10.88.255.254/16 dev pmbh; ip link set pmbh up;"
          "ip addr add 192.168.88.1/24 dev pmbo; ip link set pmbo up;"
          "echo 1 > /proc/sys/net/ipv4/ip_forward;"
          "ip netns exec pmb-c sh -c 'ip link set lo up; ip link set eth0 up'; "
          "ip netns exec pmb-o sh -c 'ip link set lo up; ip addr add 192.168.88.2/24 dev eth0;"
          " ip link set eth0 up; ip route add default via 192.168.88.1'"))
    return false;
  // The container holds every attachment's address (one per attachment, as if each were its own
  // container), so each mapping has its own DNAT target.
  const std::string batch = "/run/pmb-addresses";
  FILE* f = std::fopen(batch.c_str(), "w");
  if (f == nullptr) return false;
  for (int i = 0; i < attachments; ++i)
    std::fprintf(f, "address add %s/16 dev eth0\n", container_ip(i).c_str());
  std::fclose(f);
  return sh("ip -n pmb-c -batch " + batch + " && ip -n pmb-c route add default via 10.88.255.254");
}

// Handshake time of `count` connections from `outside` to 192.168.88.1:port, accepted on
// `listener`, in milliseconds.
std::vector<double> connect_latencies(const net::Netns& outside, int port, int listener,
                                      int count) {
  std::vector<double> out;
  sockaddr_storage address;
  const socklen_t length = nsnet::testing::make_sockaddr("192.168.88.1", static_cast<std::uint16_t>(port), address);
  for (int i = 0; i < count; ++i) {
    const auto client = nsnet::testing::socket_in(outside, AF_INET, SOCK_STREAM | SOCK_NONBLOCK);
    const linger abort_on_close{.l_onoff = 1, .l_linger = 0};  // no TIME_WAIT pile-up
    ::setsockopt(client.get(), SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close);
    const double start = now_ms();
    if (::connect(client.get(), reinterpret_cast<sockaddr*>(&address), length) != 0 &&
        errno != EINPROGRESS)
      return {};
    pollfd p{.fd = client.get(), .events = POLLOUT, .revents = 0};
    if (::poll(&p, 1, 2000) != 1) return {};
    const double elapsed = now_ms() - start;
    int error = 0;
    socklen_t error_length = sizeof error;
    ::getsockopt(client.get(), SOL_SOCKET, SO_ERROR, &error, &error_length);
    if (error != 0) return {};
    out.push_back(elapsed);
    if (nsnet::testing::wait_readable(listener, 2000))
      (void)netcore::UniqueFd(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
  }
  return out;
}

void print_latency(const char* what, const std::vector<double>& v) {
  std::printf("  %-44s median %7.3f ms  p90 %7.3f ms  (n=%zu)\n", what, percentile(v, 0.5),
              percentile(v, 0.9), v.size());
}

// Scenario 1 for one side: ADD + DEL pairs of attachment -1 (port 9999).
bool add_del(const std::string& dir, const char* side, int samples) {
  std::vector<double> adds, dels;
  for (int s = 0; s < samples + 3; ++s) {
    double start = now_ms();
    if (call(dir, "ADD", 99999, config(-1)) != 0) {
      std::printf("  %s: ADD failed\n", side);
      return false;
    }
    const double add = now_ms() - start;
    start = now_ms();
    if (call(dir, "DEL", 99999, config(-1)) != 0) {
      std::printf("  %s: DEL failed\n", side);
      return false;
    }
    if (s >= 3) {  // warm-up excluded
      adds.push_back(add);
      dels.push_back(now_ms() - start);
    }
  }
  print_latency((std::string(side) + " ADD").c_str(), adds);
  print_latency((std::string(side) + " DEL").c_str(), dels);
  return true;
}

bool enter_sandbox() {
  return ::unshare(CLONE_NEWNS | CLONE_NEWNET) == 0 &&
         ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 &&
         ::mount("tmpfs", "/run", "tmpfs", 0, "mode=0755") == 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  bool usage = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](const char* key) { return arg.substr(std::string(key).size()); };
    try {
      if (arg.starts_with("--nsnet-plugins="))
        options.nsnet_dir = value("--nsnet-plugins=");
      else if (arg.starts_with("--reference-plugins="))
        options.reference_dir = value("--reference-plugins=");
      else if (arg.starts_with("--samples="))
        options.samples = std::stoi(value("--samples="));
      else if (arg.starts_with("--attachments="))
        options.attachments = std::stoi(value("--attachments="));
      else if (arg.starts_with("--connects="))
        options.connects = std::stoi(value("--connects="));
      else
        usage = true;
    } catch (const std::logic_error&) {
      usage = true;
    }
  }
  if (usage || options.nsnet_dir.empty() || options.samples < 1 || options.attachments < 2 ||
      options.attachments > 60000 || options.connects < 10) {
    std::fprintf(stderr,
                 "usage: %s --nsnet-plugins=DIR [--reference-plugins=DIR] [--samples=N]\n"
                 "       [--attachments=N (2-60000, default 1000)] [--connects=N (default 2000)]\n",
                 argv[0]);
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN);
  if (::geteuid() != 0 || !enter_sandbox()) {
    std::fprintf(stderr, "%s: needs root (makes its own namespaces): %s\n", argv[0],
                 std::strerror(errno));
    return 1;
  }
  if (!setup_topology(options.attachments)) {
    std::fprintf(stderr, "%s: sandbox topology setup failed\n", argv[0]);
    return 1;
  }
  const auto container = net::Netns::open("/run/netns/pmb-c");
  const auto outside = net::Netns::open("/run/netns/pmb-o");
  const auto listener = nsnet::testing::bound_socket(container, AF_INET, SOCK_STREAM, 80);

  std::printf("portmap ADD + DEL of one attachment, one port (%d samples)\n", options.samples);
  bool ok = add_del(options.nsnet_dir, "nsnet", options.samples);
  if (fs::exists(options.reference_dir + "/portmap"))
    ok = add_del(options.reference_dir, "reference (iptables)", options.samples) && ok;

  std::printf("nsnet: %d attachments, one published port each\n", options.attachments);
  std::vector<double> adds;
  for (int i = 0; i < options.attachments; ++i) {
    const double start = now_ms();
    if (call(options.nsnet_dir, "ADD", i, config(i)) != 0) {
      std::printf("  ADD %d failed\n", i);
      return 1;
    }
    adds.push_back(now_ms() - start);
  }
  const int window = std::min(kWindow, options.attachments / 2);
  print_latency("ADD, first attachments",
                std::vector<double>(adds.begin(), adds.begin() + window));
  print_latency("ADD, last attachments", std::vector<double>(adds.end() - window, adds.end()));

  // Alternate first and last in rounds, so that drift affects both alike.
  std::vector<double> first, last;
  const int rounds = 10;
  for (int r = 0; r < rounds; ++r) {
    auto a = connect_latencies(outside, 10000, listener.get(), options.connects / rounds);
    auto b = connect_latencies(outside, 10000 + options.attachments - 1, listener.get(),
                               options.connects / rounds);
    if (a.empty() || b.empty()) {
      std::printf("  connection to a published port failed\n");
      return 1;
    }
    first.insert(first.end(), a.begin(), a.end());
    last.insert(last.end(), b.begin(), b.end());
  }
  print_latency("TCP connect, first published port", first);
  print_latency("TCP connect, last published port", last);
  std::printf("  ratio last/first (medians): %.3f (target <= 1.2)\n",
              percentile(last, 0.5) / percentile(first, 0.5));

  std::vector<double> dels;
  for (int i = 0; i < options.attachments; ++i) {
    const double start = now_ms();
    if (call(options.nsnet_dir, "DEL", i, config(i, false)) != 0) ok = false;
    dels.push_back(now_ms() - start);
  }
  print_latency("DEL (no portMappings sent)", dels);
  const int left = std::system("nft list table ip nsnet_portmap | grep -q ' bench[0-9]'");
  if (left == 0) {
    std::printf("  entries left after DEL\n");
    ok = false;
  }
  return ok ? 0 : 1;
}
