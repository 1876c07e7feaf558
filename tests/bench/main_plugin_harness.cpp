#include "main_plugin_harness.hpp"

#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include <nlohmann/json.hpp>

#include "netcore/net/link.hpp"
#include "netcore/net/netlink.hpp"
#include "netcore/net/netns.hpp"
#include "spawn.hpp"

namespace nsnet::bench {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

std::string netns_name(std::size_t i) { return "bench-" + std::to_string(i); }

json host_local(const fs::path& data_dir) {
  return {{"type", "host-local"},
          {"dataDir", data_dir.string()},
          {"ranges", json::array({json::array({{{"subnet", "10.250.0.0/16"}}})})}};
}

}  // namespace

bool Side::has(const std::string& type) const {
  return fs::exists(dir_ + "/" + type) && fs::exists(dir_ + "/host-local");
}

bool enter_sandbox() {
  if (::unshare(CLONE_NEWNS | CLONE_NEWNET) != 0 ||
      ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
      ::mount("tmpfs", "/run", "tmpfs", 0, "mode=0755") != 0)
    return false;
  // The CNI result cache (/var/lib/cni/results) too: over the directory when the machine has it,
  // else over /var/lib with an empty cni inside, so nothing is created on the machine.
  if (std::filesystem::is_directory("/var/lib/cni"))
    return ::mount("tmpfs", "/var/lib/cni", "tmpfs", 0, "mode=0755") == 0;
  return ::mount("tmpfs", "/var/lib", "tmpfs", 0, "mode=0755") == 0 &&
         ::mkdir("/var/lib/cni", 0755) == 0;
}

CallResult Side::call(const std::string& type, const std::string& command,
                      const Container& container, const std::string& config) const {
  CallResult result;
  const auto start = Clock::now();
  const int status = spawn_and_wait(
      dir_ + "/" + type,
      {"CNI_COMMAND=" + command, "CNI_CONTAINERID=" + container.id, "CNI_NETNS=" + container.netns,
       "CNI_IFNAME=eth0", "CNI_PATH=" + dir_, "PATH=/usr/sbin:/usr/bin:/sbin:/bin"},
      config, &result.rss_kib, &result.output);
  result.ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  if (status != 0) {
    throw BenchError(label_ + ": " + type + " " + command + " " + container.id +
                     " failed (status " + std::to_string(status) + "): " + result.output);
  }
  return result;
}

ContainerPool::ContainerPool(std::size_t size) {
  try {
    for (; count_ < size; ++count_) {
      // Only the bind mount keeps each namespace: a thousand open fds would be a thousand more
      // descriptors for every spawn to close.
      netcore::net::Netns::create().persist(netns_name(count_));
    }
  } catch (...) {
    remove_all();  // no destructor runs for a constructor that throws
    throw;
  }
}

ContainerPool::~ContainerPool() { remove_all(); }

void ContainerPool::remove_all() noexcept {
  for (std::size_t i = 0; i < count_; ++i) {
    try {
      netcore::net::Netns::delete_persisted_if_exists(netns_name(i));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "remove netns %s: %s, ignoring\n", netns_name(i).c_str(), e.what());
    }
  }
}

std::string ContainerPool::path(std::size_t i) const {
  return (netcore::net::Netns::kDefaultPersistDir / netns_name(i)).string();
}

std::string bridge_config(const std::string& bridge, const fs::path& data_dir) {
  return json{{"cniVersion", "1.0.0"}, {"name", kNetworkName}, {"type", "bridge"},
              {"bridge", bridge},      {"isGateway", true},    {"ipam", host_local(data_dir)}}
      .dump();
}

std::string ptp_config(const fs::path& data_dir) {
  return json{{"cniVersion", "1.0.0"},
              {"name", kNetworkName},
              {"type", "ptp"},
              {"ipam", host_local(data_dir)}}
      .dump();
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5)];
}

double run_parallel(int total, int parallelism, const std::function<void(int)>& job) {
  std::atomic<int> next{0};
  std::mutex mutex;
  std::exception_ptr failure;
  auto worker = [&] {
    for (int i; (i = next.fetch_add(1)) < total;) {
      try {
        job(i);
      } catch (...) {
        const std::lock_guard lock(mutex);
        if (!failure) failure = std::current_exception();
        next = total;  // the other workers take no further job
      }
    }
  };
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < parallelism; ++t) threads.emplace_back(worker);
  for (auto& thread : threads) thread.join();
  const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  if (failure) std::rethrow_exception(failure);
  return ms;
}

std::vector<std::string> duplicate_addresses(const std::vector<std::string>& add_outputs) {
  std::map<std::string, int> seen;
  std::vector<std::string> problems;
  for (const auto& output : add_outputs) {
    try {
      ++seen[json::parse(output).at("ips").at(0).at("address").get<std::string>()];
    } catch (const json::exception& e) {
      problems.push_back("ADD result without ips[0].address (" + std::string(e.what()) +
                         "): " + output);
    }
  }
  for (const auto& [address, count] : seen) {
    if (count > 1) problems.push_back(address + " handed out " + std::to_string(count) + " times");
  }
  return problems;
}

std::vector<std::string> leftover_links(const std::string& bridge) {
  // This thread is in the sandbox's host namespace (the process's), where host veths live.
  const auto nl = netcore::net::Netlink::connect();
  const auto bridge_link = bridge.empty() ? std::nullopt : netcore::net::find_link(nl, bridge);
  std::vector<std::string> problems;
  for (const auto& link : netcore::net::list_links(nl)) {
    if (link.kind == "veth" || (bridge_link && link.master_index == bridge_link->index)) {
      problems.push_back("link " + link.name + " (" + link.kind + ") left in the host namespace");
    }
  }
  return problems;
}

std::vector<std::string> leftover_reservations(const fs::path& data_dir) {
  std::vector<std::string> problems;
  const fs::path network_dir = data_dir / kNetworkName;
  if (!fs::exists(network_dir)) return problems;
  for (const auto& entry : fs::directory_iterator(network_dir)) {
    const std::string name = entry.path().filename().string();
    if (name == "lock" || name.starts_with("last_reserved_ip.")) continue;
    problems.push_back("reservation " + (network_dir / name).string() + " left behind");
  }
  return problems;
}

void delete_host_links(const std::string& bridge) {
  const auto nl = netcore::net::Netlink::connect();
  for (const auto& link : netcore::net::list_links(nl)) {
    // A veth's peer goes with it, so a later one in the list may already be gone.
    if (link.kind == "veth") (void)netcore::net::delete_link_if_exists(nl, link.name);
  }
  if (!bridge.empty()) (void)netcore::net::delete_link_if_exists(nl, bridge);
}

}  // namespace nsnet::bench
