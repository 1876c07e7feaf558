#pragma once

// What the main-plugin benchmark (main_plugin_bench.cpp) is built from: plugin calls exec'd as a
// runtime makes them, a pool of container namespaces, the configs, and the checks of what a run
// leaves behind. Everything here assumes the process already sits in its own mount + network
// namespaces with a private tmpfs on /run (see enter_sandbox in main_plugin_bench.cpp): the
// "host" is the process's network namespace, and every path lives under that /run.

#include <cstddef>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace nsnet::bench {

namespace fs = std::filesystem;

// Moves the process into fresh mount + network namespaces with a private tmpfs on /run and
// /var/lib/cni, so that the "host" is a new netns and /run/netns, the CNI result cache and every
// state directory are the benchmark's own.
// Call while single-threaded. False (errno set) when that fails, e.g. without root.
[[nodiscard]] bool enter_sandbox();

// A plugin call that did not exit 0, or a run that left state behind.
class BenchError final : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One container: its ID and the path of its network namespace.
struct Container {
  std::string id;
  std::string netns;
};

struct CallResult {
  double ms = 0;
  long rss_kib = 0;    // peak RSS of the plugin and of the IPAM plugin it waited for
  std::string output;  // stdout: the CNI result of an ADD
};

// One plugin directory under test ("nsnet" or "reference"). Immutable; thread-safe, since every
// call is a process of its own.
class Side final {
 public:
  Side(std::string label, std::string dir) : label_(std::move(label)), dir_(std::move(dir)) {}

  const std::string& label() const { return label_; }
  // Whether `type` and host-local are both in the directory: a missing one makes a row "not
  // installed" rather than a failed run.
  bool has(const std::string& type) const;
  // Execs `type` for `command` on `container` with `config` on stdin. Throws BenchError, with
  // the plugin's error JSON, when the plugin exits non-zero.
  CallResult call(const std::string& type, const std::string& command, const Container& container,
                  const std::string& config) const;

 private:
  std::string label_;
  std::string dir_;
};

// Network namespaces persisted as /run/netns/bench-<i>, made (untimed) before any measurement
// and shared by every scenario and both sides: after a DEL a container's namespace holds only
// its `lo` again, and reusing them keeps the kernel's asynchronous teardown of a thousand
// namespaces out of the timed part. Owns the entries and removes them on destruction. Not
// copyable; not thread-safe to construct, but path() may be read from any thread.
class ContainerPool final {
 public:
  explicit ContainerPool(std::size_t size);
  ContainerPool(const ContainerPool&) = delete;  // two owners would unmount twice
  ContainerPool& operator=(const ContainerPool&) = delete;
  ~ContainerPool();

  std::size_t size() const { return count_; }
  std::string path(std::size_t i) const;

 private:
  void remove_all() noexcept;

  std::size_t count_ = 0;
};

// The network every config names; host-local keeps its files in <dataDir>/benchnet.
inline constexpr const char* kNetworkName = "benchnet";

// Debian's reference (1.1.1) speaks up to 1.0.0, so both sides get 1.0.0 configs.
std::string bridge_config(const std::string& bridge, const fs::path& data_dir);
std::string ptp_config(const fs::path& data_dir);

// Median and p90 as the nearest rank; `v` must not be empty.
double percentile(std::vector<double> v, double p);

// Runs job(0) .. job(total - 1) on `parallelism` threads, each taking the next index when it is
// done with one; returns the wall time in milliseconds. The first exception a job throws is
// rethrown once every thread has stopped (the others finish their current job and take no more).
double run_parallel(int total, int parallelism, const std::function<void(int)>& job);

// Problems a run left behind, one line each; empty when clean.
// Addresses handed out more than once among ADD results ("ips"[0]["address"]).
std::vector<std::string> duplicate_addresses(const std::vector<std::string>& add_outputs);
// Veths in the host namespace (a bridge is not a veth) and links still enslaved to `bridge` (none
// when `bridge` is empty).
std::vector<std::string> leftover_links(const std::string& bridge);
// Reservation files under <data_dir>/benchnet: anything but `lock` and `last_reserved_ip.*`.
std::vector<std::string> leftover_reservations(const fs::path& data_dir);

// Deletes `bridge` (when not empty) and every veth of the host namespace: what a scenario made
// or, after a failed check, left. The next scenario then starts without a second link holding
// the gateway address, and its own check does not see the previous one's leftovers.
void delete_host_links(const std::string& bridge);

}  // namespace nsnet::bench
